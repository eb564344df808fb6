// What examples/embed does, as a test: a CAF application's own actor system
// hosts the whole runtime, claims a worker for a project, runs a command in
// it and shuts the runtime down with nothing left behind.
#include <fstream>

#include <caf/scoped_actor.hpp>
#include <gtest/gtest.h>

#include "messages/error.hpp"
#include "daemon/runtime.hpp"
#include "support/temp_dir.hpp"
#include "support/test_env.hpp"

using namespace hal9000;
using namespace std::chrono_literals;

namespace {

std::string containers_of(const std::string& daemon_id) {
  return test::sh("docker ps -aq --filter label=hal9000.daemon=" + daemon_id);
}

// A runtime on busybox workers, one warm, no parent, projects under /tmp.
config busybox_config(const std::string& home, const std::string& daemon_id) {
  config cfg;
  cfg.home = home;
  cfg.worker_image = "hal9000/test:busybox";
  cfg.worker_uid = 0;  // busybox runs as root: projects are id-mapped to uid 0
  cfg.worker_gid = 0;
  cfg.worker_command = "sleep 100000";
  cfg.skip_image_pull = true;
  cfg.manage_parent = false;
  cfg.enable_pool_manager = true;
  cfg.min_warm_workers = 1;
  cfg.daemon_id = daemon_id;
  cfg.parent_prefix = cfg.daemon_id;  // its own shared volumes, removed by label
  cfg.allowed_roots = {"/tmp"};
  return cfg;
}

// Inside another application: no control endpoint, no ChromaDB monitor.
runtime_options embedded() {
  runtime_options ro;
  ro.with_bridge = false;
  ro.with_chroma_monitor = false;
  ro.extra_labels = test::test_labels();
  return ro;
}

claim_reply claim(caf::actor_system& sys, const runtime_handles& rt, const std::string& name,
                  const std::string& project) {
  caf::scoped_actor self{sys};
  claim_request req;
  req.session_name = name;
  req.project_dir = project;
  claim_reply claimed;
  self->request(rt.pool, 60s, claim_atom::value, req)
    .receive([&](claim_reply& c) { claimed = c; },
             [&](caf::error& err) { ADD_FAILURE() << error_message(err); });
  return claimed;
}

} // namespace

TEST(embed, a_caf_application_claims_runs_and_shuts_down) {
  test::temp_dir home;
  test::temp_dir project;
  std::ofstream{project / "hello.txt"} << "hi\n";
  test::system_holder h;  // the application's own actor system

  auto cfg = busybox_config(home.path, "embed-" + test::run_id());
  auto rt = spawn_runtime(h.sys, cfg, embedded());
  ASSERT_TRUE(rt) << error_message(rt.error());
  {
    auto session = "embed-" + test::run_id();
    auto claimed = claim(h.sys, *rt, session, project.path);
    ASSERT_FALSE(claimed.container_id.empty());
    caf::scoped_actor self{h.sys};
    docker::exec_req ex;
    ex.id = claimed.container_id;
    ex.cmd = {"cat", "/workspace/hello.txt"};
    self->request(rt->docker, 30s, ex)
      .receive(
        [&](docker::exec_result& r) {
          EXPECT_EQ(r.exit_code, 0) << r.err;
          EXPECT_EQ(r.out, "hi\n");
        },
        [&](caf::error& err) { ADD_FAILURE() << error_message(err); });
    self->request(rt->pool, 60s, release_atom::value, session,
                  std::string{"test done"})
      .receive([](worker_status&) {},
               [&](caf::error& err) { ADD_FAILURE() << error_message(err); });
  }
  shutdown_runtime(h.sys, *rt, false);
  // Released session gone, warm workers removed at shutdown: nothing left.
  EXPECT_TRUE(test::wait_for([&] { return containers_of(cfg.daemon_id).empty(); }, 10s))
    << containers_of(cfg.daemon_id);
  // The project on the host is untouched.
  std::ifstream in{project / "hello.txt"};
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "hi");
}

// hal9000_daemon_restarts_total: 0 on a fresh home, 1 when a start finds what
// an earlier run left (here a session it adopts), 0 again after a clean stop.
TEST(embed, a_start_that_finds_an_earlier_runs_session_counts_a_restart) {
  test::temp_dir home;
  test::temp_dir project;
  test::system_holder h;
  auto cfg = busybox_config(home.path, "embed-r-" + test::run_id());
  auto restarts = [](const runtime_handles& rt) {
    return rt.metrics->daemon_restarts.with({}).value();
  };
  auto first = spawn_runtime(h.sys, cfg, embedded());
  ASSERT_TRUE(first) << error_message(first.error());
  EXPECT_EQ(restarts(*first), 0);
  auto claimed = claim(h.sys, *first, "embed-r-" + test::run_id(), project.path);
  EXPECT_FALSE(claimed.container_id.empty());
  shutdown_runtime(h.sys, *first, false);  // the session outlives the runtime

  auto second = spawn_runtime(h.sys, cfg, embedded());
  ASSERT_TRUE(second) << error_message(second.error());
  EXPECT_FALSE(second->reconciled.actions.empty());
  EXPECT_EQ(restarts(*second), 1);
  auto text = second->metrics->reg.render();
  EXPECT_NE(text.find("hal9000_daemon_restarts_total 1\n"), std::string::npos) << text;
  shutdown_runtime(h.sys, *second, true);  // --all: the session ends too
  EXPECT_TRUE(test::wait_for([&] { return containers_of(cfg.daemon_id).empty(); }, 10s))
    << containers_of(cfg.daemon_id);

  auto third = spawn_runtime(h.sys, cfg, embedded());
  ASSERT_TRUE(third) << error_message(third.error());
  EXPECT_EQ(restarts(*third), 0) << "a clean stop leaves nothing to reconcile";
  shutdown_runtime(h.sys, *third, false);
}
