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

} // namespace

TEST(embed, a_caf_application_claims_runs_and_shuts_down) {
  test::temp_dir home;
  test::temp_dir project;
  std::ofstream{project / "hello.txt"} << "hi\n";
  test::system_holder h;  // the application's own actor system

  config cfg;
  cfg.home = home.path;
  cfg.worker_image = "hal9000/test:busybox";
  cfg.worker_uid = 0;  // busybox runs as root: projects are id-mapped to uid 0
  cfg.worker_gid = 0;
  cfg.worker_command = "sleep 100000";
  cfg.skip_image_pull = true;
  cfg.manage_parent = false;
  cfg.enable_pool_manager = true;
  cfg.min_warm_workers = 1;
  cfg.daemon_id = "embed-" + test::run_id();
  cfg.parent_prefix = cfg.daemon_id;  // its own shared volumes, removed by label
  cfg.allowed_roots = {"/tmp"};
  runtime_options ro;
  ro.with_bridge = false;
  ro.with_chroma_monitor = false;
  ro.extra_labels = test::test_labels();
  auto rt = spawn_runtime(h.sys, cfg, ro);
  ASSERT_TRUE(rt) << error_message(rt.error());
  {
    caf::scoped_actor self{h.sys};
    claim_request req;
    req.session_name = "embed-" + test::run_id();
    req.project_dir = project.path;
    claim_reply claimed;
    self->request(rt->pool, 60s, claim_atom::value, req)
      .receive([&](claim_reply& c) { claimed = c; },
               [&](caf::error& err) { FAIL() << error_message(err); });
    ASSERT_FALSE(claimed.container_id.empty());
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
    self->request(rt->pool, 60s, release_atom::value, req.session_name,
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
