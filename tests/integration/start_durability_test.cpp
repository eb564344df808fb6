// A start's reply comes before its complete record's fsync (issue 11: the
// fsync is off the reply's path; actors/sessions.cpp, claim_worker). What
// must hold: after a crash, reconciliation still finds every session that was
// acknowledged, with the fields the reply showed. Real daemon, real Docker,
// real claudy; the one fake is the fault injection the real thing cannot
// produce on demand: HAL9000_FAKE_HOLD_WRITTEN_SYNC=1 keeps the store from
// ever syncing the complete record (messages/session_store.hpp), so the
// kill -9 lands between the reply and that fsync every time.
#include <climits>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include <signal.h>
#include <sys/stat.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/cli_process.hpp"
#include "support/container_daemon.hpp"
#include "support/daemon_sessions.hpp"
#include "support/temp_dir.hpp"
#include "support/test_env.hpp"

using namespace hal9000::test;
using namespace std::chrono_literals;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

json parse(const std::string& text) { return parse_json(text); }

struct start_durability : daemon_home_test {
  void SetUp() override {
    ASSERT_FALSE(home.empty());
    if (!image_present("hal9000/test:busybox"))
      GTEST_SKIP() << "image hal9000/test:busybox is missing: run scripts/build-images";
    env = std::make_unique<daemon_env>(home);
    auto& v = env->vars;
    v["WORKER_IMAGE"] = "hal9000/test:busybox";
    v["WORKER_COMMAND"] = "sleep 100000";
    v["HAL9000_WORKER_UID"] = "0";  // busybox runs as root
    v["HAL9000_WORKER_GID"] = "0";
    v["SKIP_IMAGE_PULL"] = "true";
    v["ENABLE_POOL_MANAGER"] = "true";
    v["MIN_WARM_WORKERS"] = "1";
    v["MAX_WARM_WORKERS"] = "2";
    v["WORKER_MEMORY"] = "256m";
    v["WORKER_CPUS"] = "1";
    v["HAL9000_ALLOWED_ROOTS"] = "/tmp";
    ASSERT_EQ(::chmod(projects.path.c_str(), 0755), 0);
  }

  void start_daemon() {
    auto r = env->claudy("daemon start --timeout 120");
    ASSERT_EQ(r.rc, 0) << r.out << sh("tail -30 " + home + "/logs/hal9000d.out");
  }

  json record(const std::string& name) { return listed_session(*env, name); }

  json session_file(const std::string& name) { return read_session_file(home, name); }

  size_t warm() {
    auto j = parse(env->claudy("--json pool status").out);
    return j.is_object() ? j.value("warm", 0u) : 0u;
  }
};

TEST_F(start_durability, a_session_acknowledged_before_its_records_fsync_survives_kill_9) {
  env->vars["HAL9000_FAKE_HOLD_WRITTEN_SYNC"] = "1";
  start_daemon();
  ASSERT_TRUE(wait_for([&] { return warm() >= 1; }, 60s)) << "no warm worker";
  auto project = fs::path{projects.path} / "durable-proj";
  fs::create_directories(project);
  char real[PATH_MAX];
  ASSERT_NE(::realpath(project.c_str(), real), nullptr);

  auto r = env->claudy("--json " + project.string()
                       + " --detach --name durable --memory 200m --cpus 1 --pids-limit 150");
  // The reply is in: kill -9 at once, while the fake holds the record's fsync.
  auto pid = env->daemon_pid();
  ASSERT_GT(pid, 0);
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  ASSERT_TRUE(wait_for([pid] { return ::kill(pid, 0) != 0; }, 10s)) << "daemon still alive";
  ASSERT_EQ(r.rc, 0) << r.out;
  auto acked = parse(r.out);
  ASSERT_TRUE(acked.is_object()) << r.out;
  ASSERT_EQ(acked.value("served", ""), "warm") << r.out;
  // The fake was on: the daemon said so (no sync of this record ever ran).
  EXPECT_NE(sh("cat " + home + "/logs/hal9000d.out " + home + "/logs/*.log 2>/dev/null")
              .find("HAL9000_FAKE_HOLD_WRITTEN_SYNC=1"),
            std::string::npos);

  // A new daemon, no fault: reconciliation adopts the session.
  env->vars.erase("HAL9000_FAKE_HOLD_WRITTEN_SYNC");
  start_daemon();
  ASSERT_TRUE(wait_for([&] { return record("durable").value("state", "") == "running"; }, 30s))
    << env->claudy("--json sessions --all").out;
  auto rec = record("durable");
  EXPECT_EQ(rec.value("project_dir", ""), std::string{real}) << rec.dump();
  EXPECT_EQ(rec.value("user_id", ""), acked.value("user_id", "x")) << rec.dump();
  EXPECT_FALSE(rec.value("user_id", "").empty()) << rec.dump();
  EXPECT_EQ(rec.value("served", ""), "warm") << rec.dump();
  EXPECT_EQ(rec.value("created_at", ""), acked.value("created_at", "x")) << rec.dump();
  EXPECT_EQ(rec.value("container_id", ""), acked.value("container_id", "x")) << rec.dump();
  EXPECT_EQ(rec.value("worker_id", ""), acked.value("worker_id", "x")) << rec.dump();
  ASSERT_TRUE(rec.contains("resource_limits")) << rec.dump();
  EXPECT_EQ(rec["resource_limits"].value("memory", ""), "200m") << rec.dump();
  EXPECT_EQ(rec["resource_limits"].value("cpus", ""), "1") << rec.dump();
  EXPECT_EQ(rec["resource_limits"].value("pids_limit", ""), "150") << rec.dump();
  // The container the reply named still runs the session, under its name.
  auto cid = acked.value("container_id", "");
  ASSERT_FALSE(cid.empty());
  EXPECT_EQ(sh("docker inspect -f '{{.State.Running}}' " + cid + " 2>&1"), "true\n");
  EXPECT_TRUE(wait_for(
    [&] { return sh("docker inspect -f '{{.Name}}' " + cid + " 2>&1") == "/durable\n"; }, 10s));
  // And the file on disk is the complete record, durable now.
  auto file = session_file("durable");
  EXPECT_EQ(file.value("state", ""), "running") << file.dump();
  EXPECT_EQ(file.value("container_id", ""), cid) << file.dump();
  // It works as a session: a second start of the project attaches to it.
  auto again = parse(env->claudy("--json " + project.string() + " --detach").out);
  EXPECT_TRUE(again.value("existing", false)) << again.dump();
  EXPECT_EQ(again.value("name", ""), "durable") << again.dump();
}

// A start is recorded "starting" and durable before its claim is served,
// and that record is what a host crash leaves when the complete one was not
// synced yet: the next daemon ends it (its container died with the host), so
// the acknowledged session is still found. Shown here by a start whose claim
// can never be served (the pool is stopped and the image cannot be created):
// the "starting" record ends with the claim's reason, never left live.
TEST_F(start_durability, a_failed_claim_ends_its_starting_record) {
  env->vars["ENABLE_POOL_MANAGER"] = "false";
  env->vars["MIN_WARM_WORKERS"] = "0";
  // There at the daemon's start (a missing image would be replaced by
  // hal9000/worker:local then), gone before the claim.
  auto image = "hal9000/does-not-exist:" + run_id();
  ASSERT_EQ(std::system(("docker tag hal9000/test:busybox " + image).c_str()), 0);
  struct untag {
    std::string image;
    ~untag() { (void)std::system(("docker rmi " + image + " >/dev/null 2>&1").c_str()); }
  } guard{image};
  env->vars["WORKER_IMAGE"] = image;
  start_daemon();
  ASSERT_EQ(std::system(("docker rmi " + image + " >/dev/null").c_str()), 0);
  auto project = fs::path{projects.path} / "never-proj";
  fs::create_directories(project);
  auto r = env->claudy("--json " + project.string() + " --detach --name never");
  EXPECT_NE(r.rc, 0) << r.out;
  ASSERT_TRUE(wait_for([&] { return record("never").value("state", "") == "ended"; }, 10s))
    << env->claudy("--json sessions --all").out;
  auto file = session_file("never");
  EXPECT_EQ(file.value("state", ""), "ended") << file.dump();
  EXPECT_NE(file.value("end_reason", ""), "") << file.dump();
}

// What a host crash leaves when it lands between a reply and the complete
// record's sync: the durable "starting" record (name, project, user, limits,
// start time) and no running container (every one died with the host). The
// next daemon finds the session and ends it, saying why.
TEST_F(start_durability, a_starting_record_left_by_a_host_crash_is_found_and_ended) {
  fs::create_directories(home + "/sessions");
  ::chmod((home + "/sessions").c_str(), 0700);
  auto project = fs::path{projects.path} / "crash-proj";
  fs::create_directories(project);
  json left = {{"version", 1},
               {"name", "hostcrash"},
               {"parent", ""},
               {"project_dir", project.string()},
               {"created_at", "2026-01-26T12:00:00Z"},
               {"resource_limits",
                {{"enabled", true}, {"memory", "200m"}, {"cpus", "1"}, {"pids_limit", "150"}}},
               {"state", "starting"},
               {"user_id", "root"}};
  {
    std::ofstream out{home + "/sessions/hostcrash.json"};
    out << left.dump(2) << "\n";
  }
  start_daemon();
  auto rec = record("hostcrash");
  ASSERT_EQ(rec.value("state", ""), "ended") << env->claudy("--json sessions --all").out;
  EXPECT_EQ(rec["end"].value("kind", ""), "disappeared-while-down") << rec.dump();
  EXPECT_EQ(rec.value("project_dir", ""), project.string()) << rec.dump();
  EXPECT_EQ(rec.value("user_id", ""), "root") << rec.dump();
  EXPECT_EQ(rec.value("created_at", ""), "2026-01-26T12:00:00Z") << rec.dump();
  EXPECT_EQ(rec["resource_limits"].value("memory", ""), "200m") << rec.dump();
}

} // namespace
