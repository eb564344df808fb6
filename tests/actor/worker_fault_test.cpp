// One worker actor with a fault-injecting fake Docker engine (create/start/
// remove succeed, rename can be made to fail) and the real kernel: mount(2)
// of a real project, the real entrypoint script on the control FIFOs.
// Checks every failure path leaves the project untouched and the slot gone.
#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <mutex>

#include <sys/stat.h>
#include <unistd.h>

#include <caf/all.hpp>

#include "actors/worker.hpp"
#include "messages/error.hpp"
#include "runtime/late_bind.hpp"
#include "runtime/limits.hpp"
#include "support/test_env.hpp"

using namespace hal9000;
using namespace std::chrono_literals;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in{path};
  return {std::istreambuf_iterator<char>{in}, {}};
}

struct fake_state {
  std::mutex mtx;
  bool fail_rename = false;
  int removes = 0;
};

// A fake engine for fault injection: only what a worker calls works.
docker::docker_actor::behavior_type fake_docker(docker::docker_actor::pointer,
                                                std::shared_ptr<fake_state> fs) {
  using namespace docker;
  auto no = [] { return make_error(errc::internal, "fake docker: not used"); };
  return {
    [=](ping_req) -> caf::result<std::string> { return no(); },
    [=](version_req) -> caf::result<version_info> { return no(); },
    [=](info_req) -> caf::result<std::string> { return no(); },
    [=](image_inspect_req) -> caf::result<image_info> { return no(); },
    [=](image_pull_req) -> caf::result<image_info> { return no(); },
    [=](image_import_req) -> caf::result<image_info> { return no(); },
    [=](image_remove_req) -> caf::result<void> { return no(); },
    [=](create_req& r) -> caf::result<container_created> {
      return container_created{"fake-" + r.spec.name, {}};
    },
    [=](start_req) -> caf::result<void> { return caf::unit; },
    [=](stop_req) -> caf::result<void> { return no(); },
    [=](kill_req) -> caf::result<void> { return no(); },
    [=](remove_req) -> caf::result<void> {
      std::lock_guard<std::mutex> guard{fs->mtx};
      ++fs->removes;
      return caf::unit;
    },
    [=](inspect_req) -> caf::result<container_info> { return no(); },
    [=](list_req) -> caf::result<std::vector<container_summary>> { return no(); },
    [=](rename_req& r) -> caf::result<void> {
      std::lock_guard<std::mutex> guard{fs->mtx};
      if (fs->fail_rename)
        return make_error(errc::already_exists, "name already in use: " + r.new_name);
      return caf::unit;
    },
    [=](update_req) -> caf::result<void> { return caf::unit; },
    [=](exec_req) -> caf::result<exec_result> { return no(); },
    [=](wait_req) -> caf::result<int64_t> { return no(); },
    [=](logs_req) -> caf::result<std::string> { return no(); },
    [=](volume_create_req) -> caf::result<volume_info> { return no(); },
    [=](volume_inspect_req) -> caf::result<volume_info> { return no(); },
    [=](volume_remove_req) -> caf::result<void> { return no(); },
    [=](subscribe_req) -> caf::result<void> { return no(); },
    [=](unsubscribe_req) -> caf::result<void> { return no(); },
  };
}

struct seen {
  std::mutex mtx;
  std::vector<worker_transition> all;
  std::vector<std::string> states() {
    std::lock_guard<std::mutex> guard{mtx};
    std::vector<std::string> out;
    for (auto& t : all)
      out.push_back(to_string(t.to));
    return out;
  }
  std::string last_reason() {
    std::lock_guard<std::mutex> guard{mtx};
    for (auto i = all.rbegin(); i != all.rend(); ++i)
      if (!i->reason.empty())
        return i->reason;
    return "";
  }
};

worker_observer_actor::behavior_type recording(worker_observer_actor::pointer,
                                               std::shared_ptr<seen> s) {
  return {[s](worker_transition& t) {
    std::lock_guard<std::mutex> guard{s->mtx};
    s->all.push_back(t);
  }};
}

struct worker_fault : ::testing::Test {
  test::system_holder holder;
  caf::actor_system& sys = holder.sys;
  std::string home;
  std::string project;
  std::shared_ptr<fake_state> fs = std::make_shared<fake_state>();
  std::shared_ptr<seen> obs = std::make_shared<seen>();
  worker_actor worker;
  late_bind::slot_paths slot;

  void SetUp() override {
    if (::geteuid() != 0)
      GTEST_SKIP() << "mount(2) needs root";
    char tmpl[] = "/tmp/hal9000-wf-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    home = tmpl;
    project = home + "/project";
    ASSERT_EQ(::mkdir(project.c_str(), 0755), 0);
    std::ofstream{project + "/keep.txt"} << "keep\n";
    ASSERT_TRUE(late_bind::write_entrypoint(home));
    ASSERT_FALSE(late_bind::ensure_rshared(late_bind::mounts_dir(home)));
    worker_options o;
    o.id = "w1";
    o.home = home;
    o.image = "fake";
    o.limits = *parse_limits("64m", "1", "10");
    o.default_command = "true";
    o.ack_timeout = 300ms;
    o.docker_timeout = 2s;
    slot = late_bind::slot_for(home, o.id);
    worker = spawn_worker(sys, o, sys.spawn(fake_docker, fs), {}, sys.spawn(recording, obs));
    ASSERT_TRUE(test::wait_for([&] { return state() == "warm"; }, 2s));
  }

  void TearDown() override {
    if (worker)
      caf::anon_send_exit(worker, caf::exit_reason::kill);
    if (home.empty())
      return;
    EXPECT_FALSE(late_bind::unmount_all_under(home));
    if (late_bind::mounts_under(home).empty())
      test::sh("rm -rf '" + home + "'");
  }

  std::string state() {
    auto s = obs->states();
    return s.empty() ? "" : s.back();
  }

  caf::expected<claim_reply> claim(const std::string& name) {
    caf::scoped_actor self{sys};
    claim_request r;
    r.session_name = name;
    r.project_dir = project;
    caf::expected<claim_reply> out{caf::sec::unexpected_response};
    self->request(worker, 5s, claim_atom::value, r)
      .receive([&](claim_reply& x) { out = x; }, [&](caf::error& e) { out = e; });
    return out;
  }

  void event(const std::string& action, int64_t code = -1) {
    docker::event e;
    e.action = action;
    e.exit_code = code;
    caf::anon_send(worker, e);
  }

  void expect_clean() {
    EXPECT_FALSE(late_bind::inspect_mount(slot.workspace).mounted);
    EXPECT_NE(::access(slot.root.c_str(), F_OK), 0) << "slot left behind";
    EXPECT_EQ(read_file(project + "/keep.txt"), "keep\n");
    std::lock_guard<std::mutex> guard{fs->mtx};
    EXPECT_EQ(fs->removes, 1);
  }

  void run_entrypoint() {
    test::sh("HAL9000_CONTROL='" + slot.control + "' HAL9000_WORKSPACE='" + slot.workspace
             + "' /bin/sh '" + late_bind::entrypoint_path(home) + "' >/dev/null 2>&1 &");
  }
};

} // namespace

TEST_F(worker_fault, failed_rename_fails_the_claim_and_unmounts) {
  fs->fail_rename = true;
  run_entrypoint();
  auto r = claim("taken");
  ASSERT_FALSE(r);
  EXPECT_EQ(error_code(r.error()), errc::already_exists);
  ASSERT_TRUE(test::wait_for([&] { return state() == "gone"; }, 2s));
  EXPECT_EQ(obs->states(), (std::vector<std::string>{"creating", "warm", "claimed",
                                                      "failed", "gone"}));
  expect_clean();
}

TEST_F(worker_fault, missing_ack_fails_the_claim_within_the_deadline) {
  auto t = std::chrono::steady_clock::now();
  auto r = claim("no-entrypoint");
  ASSERT_FALSE(r);
  EXPECT_EQ(error_code(r.error()), errc::deadline_exceeded);
  EXPECT_LT(std::chrono::steady_clock::now() - t, 2s);
  ASSERT_TRUE(test::wait_for([&] { return state() == "gone"; }, 2s));
  expect_clean();
}

TEST_F(worker_fault, death_while_warm_names_the_exit_code) {
  event("die", 137);
  ASSERT_TRUE(test::wait_for([&] { return state() == "gone"; }, 2s));
  // 137 with no OOM kill at that moment: a SIGKILL from someone, not the kernel.
  EXPECT_EQ(obs->last_reason(), "killed by signal 9");
  expect_clean();
}

TEST_F(worker_fault, removal_from_outside_is_named) {
  event("destroy");
  ASSERT_TRUE(test::wait_for([&] { return state() == "gone"; }, 2s));
  EXPECT_EQ(obs->last_reason(), "removed from outside");
}

TEST_F(worker_fault, oom_while_busy_fails_with_oom_and_unmounts) {
  run_entrypoint();
  auto r = claim("hungry");
  ASSERT_TRUE(r) << error_message(r.error());
  // The observer is another actor: its copy of the transition may trail the reply.
  EXPECT_TRUE(test::wait_for([&] { return state() == "busy"; }, 2s)) << state();
  EXPECT_TRUE(late_bind::inspect_mount(slot.workspace).mounted);
  event("oom");
  event("die", 137);
  ASSERT_TRUE(test::wait_for([&] { return state() == "gone"; }, 2s));
  // Named as an OOM kill, with the limit it hit.
  EXPECT_EQ(obs->last_reason().rfind("OOM-killed", 0), 0u) << obs->last_reason();
  EXPECT_NE(obs->last_reason().find("memory limit"), std::string::npos) << obs->last_reason();
  expect_clean();
}

TEST_F(worker_fault, a_second_claim_is_refused) {
  run_entrypoint();
  ASSERT_TRUE(claim("one"));
  auto again = claim("two");
  ASSERT_FALSE(again);
  EXPECT_EQ(error_code(again.error()), errc::conflict);
}
