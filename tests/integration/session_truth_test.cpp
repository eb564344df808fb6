// The truth under faults (issue 14), with the real claudy and hal9000d
// processes, the real Docker engine and a real ChromaDB:
//   - a child of a session OOM-killed: an event at once, counted on the
//     session, which goes on; its later clean exit is "exited with code 0";
//   - the session's main process OOM-killed: "OOM-killed (memory limit X)";
//   - the parent (namespace owner) restarted or removed from outside under
//     two sessions and a warm pool: both sessions marked network-lost with
//     the reason and the restore command, the warm workers replaced, the
//     parent and ChromaDB back, `claudy restart NAME` gives a session that
//     reaches ChromaDB at localhost again.
// Each test has its own HAL9000_HOME, control port, daemon id, parent prefix
// (HAL9000_PARENT_PREFIX) and CHROMADB_PORT, and removes what it made.
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <set>
#include <sstream>

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "runtime/late_bind.hpp"
#include "support/chroma_server.hpp"
#include "support/cli_process.hpp"
#include "support/daemon_sessions.hpp"
#include "support/temp_dir.hpp"
#include "support/test_env.hpp"

using namespace hal9000;
using namespace hal9000::test;
using namespace std::chrono_literals;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

json parse(const std::string& text) {
  return json::parse(text, nullptr, false);
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r'))
    s.pop_back();
  return s;
}

bool image_present(const std::string& image) {
  int rc = -1;
  sh("docker image inspect " + image + " >/dev/null 2>&1", &rc);
  return rc == 0;
}

// The session command of these tests: waits for /workspace/go, then either
// becomes a memory hog (go says "hog": the main process is the one the
// kernel kills) or exits 0.
constexpr const char* session_command
  = "while [ ! -e /workspace/go ]; do sleep 0.1; done; "
    "if grep -q hog /workspace/go; then exec dd if=/dev/zero of=/dev/null bs=400M count=1; fi; "
    "exit 0";

struct truth_fixture : ::testing::Test {
  temp_dir home_dir;
  temp_dir projects;
  std::string home = home_dir.path;
  std::unique_ptr<daemon_env> env;
  std::string prefix;
  uint16_t chroma_port = 0;

  void SetUp() override {
    ASSERT_FALSE(home.empty());
    if (!image_present("hal9000/test:busybox"))
      GTEST_SKIP() << "image hal9000/test:busybox is missing: run scripts/build-images";
    env = std::make_unique<daemon_env>(home);
    static int counter = 0;
    prefix = "h9t-" + run_id() + "-t" + std::to_string(++counter);
    auto& v = env->vars;
    v["WORKER_IMAGE"] = "hal9000/test:busybox";
    v["WORKER_COMMAND"] = session_command;
    v["SKIP_IMAGE_PULL"] = "true";
    v["WORKER_MEMORY"] = "256m";
    v["WORKER_CPUS"] = "1";
    v["HAL9000_ALLOWED_ROOTS"] = "/tmp";
    v["HAL9000_PARENT_PREFIX"] = prefix;
    ASSERT_EQ(::chmod(projects.path.c_str(), 0755), 0);
  }

  void TearDown() override {
    if (env) {
      env->claudy("daemon stop --all");
      env.reset();
    }
    if (!prefix.empty()) {
      sh("ids=$(docker ps -aq --filter name=^/" + prefix
         + "- 2>/dev/null); [ -z \"$ids\" ] || docker rm -f $ids >/dev/null 2>&1");
      sh("vs=$(docker volume ls -q --filter name=^" + prefix
         + "- 2>/dev/null); [ -z \"$vs\" ] || docker volume rm -f $vs >/dev/null 2>&1");
    }
    release_late_binds(home_dir, projects);
  }

  void with_parent() {
    for (auto image : {"hal9000/parent:local", "hal9000/chromadb:local"})
      if (!image_present(image))
        GTEST_SKIP() << "image " << image << " is missing: run scripts/build-images";
    chroma_port = free_loopback_port();
    env->vars["HAL9000_MANAGE_PARENT"] = "true";
    env->vars["CHROMADB_PORT"] = std::to_string(chroma_port);
  }

  void start_daemon() {
    auto r = env->claudy("daemon start --timeout 120");
    ASSERT_EQ(r.rc, 0) << r.out << sh("tail -30 " + home + "/logs/hal9000d.out");
  }

  std::string project(const std::string& name) {
    auto p = fs::path{projects.path} / name;
    fs::create_directories(p);
    ::chmod(p.c_str(), 0777);
    return p;
  }

  json start(const std::string& path, const std::string& args) {
    auto r = env->claudy("--json " + path + " --detach " + args);
    auto j = parse(r.out);
    if (r.rc != 0 || j.is_discarded()) {
      ADD_FAILURE() << "claudy " << path << ": rc " << r.rc << ": " << r.out;
      return json::object();
    }
    return j;
  }

  json record(const std::string& name) {
    auto r = env->claudy("--json sessions --all");
    auto j = parse(r.out);
    if (j.is_array())
      for (auto& s : j)
        if (s.value("name", "") == name)
          return s;
    return json::object();
  }

  json session_file(const std::string& name) {
    std::ifstream in{home + "/sessions/" + name + ".json"};
    return parse({std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}});
  }

  std::vector<json> events(const std::string& kind, const std::string& session = "") {
    auto r = env->claudy("--json events");
    std::vector<json> out;
    std::istringstream in{r.out};
    std::string line;
    while (std::getline(in, line)) {
      auto e = parse(line);
      if (e.is_discarded() || e.value("kind", "") != kind)
        continue;
      if (!session.empty() && e.value("session", "") != session)
        continue;
      out.push_back(e);
    }
    return out;
  }

  bool wait_state(const std::string& name, const std::string& state,
                  std::chrono::milliseconds deadline) {
    return wait_for([&] { return record(name).value("state", "") == state; }, deadline);
  }

  json pool() {
    auto j = parse(env->claudy("--json pool status").out);
    return j.is_discarded() ? json::object() : j;
  }

  std::set<std::string> warm_ids() {
    std::set<std::string> ids;
    auto p = pool();
    if (p.contains("workers"))
      for (auto& w : p["workers"])
        if (w.value("state", "") == "warm")
          ids.insert(w.value("id", ""));
    return ids;
  }

  // ChromaDB's heartbeat from inside a container, on its loopback.
  std::string heartbeat_from(const std::string& container) {
    return sh("docker exec " + container + " timeout 5 wget -qO- http://127.0.0.1:"
              + std::to_string(chroma_port) + "/api/v2/heartbeat 2>&1");
  }

  bool host_heartbeat() {
    auto [code, body] = http_get("http://127.0.0.1:" + std::to_string(chroma_port),
                                 "/api/v2/heartbeat");
    return code == 200;
  }

  // docker restart / docker rm -f of the parent under two sessions and a
  // warm pool; what must hold afterwards (deliverable 3). container_mode:
  // hal9000d runs in <prefix>-parent (HAL9000_TEST_PARENT_IMAGE, default
  // hal9000/parent:local, carrying hal9000d) and the fault hits the namespace
  // owner <prefix>-netns.
  void parent_fault(const std::string& docker_cmd, const std::string& words,
                    bool container_mode = false);
};

// -- memory ------------------------------------------------------------------------

TEST_F(truth_fixture, child_oom_is_an_event_at_once_and_a_clean_exit_stays_clean) {
  auto metrics_port = std::to_string(free_port());
  env->vars["HAL9000_METRICS_PORT"] = metrics_port;
  start_daemon();
  auto p = project("child");
  auto s = start(p, "--name oomchild --memory 64m");
  auto cid = s.value("container_id", "");
  ASSERT_FALSE(cid.empty()) << s.dump();
  // A child process eats memory until the kernel kills it.
  int rc = -1;
  auto began = std::chrono::steady_clock::now();
  sh("docker exec " + cid + " dd if=/dev/zero of=/dev/null bs=400M count=1 >/dev/null 2>&1",
     &rc);
  ASSERT_EQ(rc, 137) << "the hog was not killed";
  ASSERT_EQ(trim(sh("docker inspect -f '{{.State.Running}}' " + cid)), "true");
  // An event at once, naming the session, the time and the limit.
  ASSERT_TRUE(wait_for([&] { return !events("session.oom", "oomchild").empty(); }, 5s))
    << env->claudy("--json events").out;
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::steady_clock::now() - began).count();
  std::cout << "hog killed -> session.oom event visible: " << took << " ms\n";
  auto e = events("session.oom", "oomchild").front();
  EXPECT_TRUE(e.value("oom", false)) << e.dump();
  EXPECT_EQ(e.value("memory_limit", 0), 64ll << 20) << e.dump();
  EXPECT_FALSE(e.value("time", "").empty()) << e.dump();
  EXPECT_NE(e.value("reason", "").find("memory limit 64m"), std::string::npos) << e.dump();
  // Counted on the session, which goes on.
  ASSERT_TRUE(wait_for([&] { return record("oomchild").value("oom_kills", 0) >= 1; }, 5s))
    << record("oomchild").dump();
  EXPECT_EQ(record("oomchild").value("state", ""), "running");
  EXPECT_GE(session_file("oomchild").value("oom_kills", 0), 1);
  EXPECT_FALSE(session_file("oomchild").value("last_oom_at", "").empty());
  auto [code, metrics] = http_get("http://127.0.0.1:" + metrics_port, "/metrics");
  EXPECT_EQ(code, 200);
  EXPECT_NE(metrics.find("hal9000_session_oom_kills_total{session=\"oomchild\"}"),
            std::string::npos) << metrics;
  // The session's own command then exits 0: that is its end.
  std::ofstream{p + "/go"} << "done\n";
  ASSERT_TRUE(wait_state("oomchild", "ended", 20s)) << record("oomchild").dump();
  auto rec = record("oomchild");
  EXPECT_EQ(rec.value("end_reason", ""), "exited with code 0") << rec.dump();
  EXPECT_EQ(rec["end"].value("kind", ""), "exited") << rec.dump();
  EXPECT_EQ(session_file("oomchild").value("end_reason", ""), "exited with code 0");
  auto ended = events("session.ended", "oomchild");
  ASSERT_FALSE(ended.empty());
  EXPECT_EQ(ended.back().value("reason", ""), "exited with code 0") << ended.back().dump();
  EXPECT_FALSE(ended.back().value("oom", true)) << ended.back().dump();
}

TEST_F(truth_fixture, a_main_process_oom_kill_ends_the_session_as_oom_killed) {
  start_daemon();
  auto p = project("main");
  auto s = start(p, "--name oommain --memory 64m");
  ASSERT_FALSE(s.value("container_id", "").empty()) << s.dump();
  std::ofstream{p + "/go"} << "hog\n";
  ASSERT_TRUE(wait_state("oommain", "ended", 30s)) << record("oommain").dump();
  auto rec = record("oommain");
  EXPECT_EQ(rec.value("end_reason", ""), "OOM-killed (memory limit 64m)") << rec.dump();
  EXPECT_EQ(rec["end"].value("kind", ""), "oom-killed") << rec.dump();
  EXPECT_EQ(session_file("oommain").value("end_reason", ""), "OOM-killed (memory limit 64m)");
  auto ended = events("session.ended", "oommain");
  ASSERT_FALSE(ended.empty());
  EXPECT_TRUE(ended.back().value("oom", false)) << ended.back().dump();
  EXPECT_EQ(ended.back().value("reason", ""), "OOM-killed (memory limit 64m)");
}

// The kernel's OOM-kill counter of a container's cgroup, read here as the
// test's own witness (v1 memory.oom_control or v2 memory.events, cgroupfs or
// systemd driver); -1 when this host has none of them.
long long kernel_oom_kills(const std::string& cid) {
  auto out = trim(sh("for f in /sys/fs/cgroup/memory/docker/" + cid + "/memory.oom_control"
                     " /sys/fs/cgroup/memory/system.slice/docker-" + cid + ".scope/memory.oom_control"
                     " /sys/fs/cgroup/system.slice/docker-" + cid + ".scope/memory.events"
                     " /sys/fs/cgroup/docker/" + cid + "/memory.events; do"
                     " [ -r $f ] && { awk '$1==\"oom_kill\"{print $2}' $f; break; }; done"));
  if (out.empty())
    return -1;
  return std::stoll(out);
}

// Issue 14, D4: one child hog under a small limit makes the engine send many
// "oom" events (one per OOM notification of the cgroup on v1); the session
// counts what the kernel counted, with one session.oom event per new batch.
TEST_F(truth_fixture, a_child_oom_is_counted_as_the_kernels_counter_says) {
  start_daemon();
  auto s = start(project("count"), "--name oomcount --memory 64m");
  auto cid = s.value("container_id", "");
  ASSERT_FALSE(cid.empty()) << s.dump();
  if (kernel_oom_kills(cid) < 0)
    GTEST_SKIP() << "no readable cgroup OOM-kill counter for the container on this host";
  int rc = -1;
  sh("docker exec " + cid + " sh -c 'head -c 600m /dev/zero | tail' >/dev/null 2>&1", &rc);
  ASSERT_NE(rc, 0) << "the hog was not killed";
  auto kernel = kernel_oom_kills(cid);
  ASSERT_GE(kernel, 1) << "the kernel counted no OOM kill";
  ASSERT_TRUE(wait_for([&] { return record("oomcount").value("oom_kills", 0) >= kernel; }, 10s))
    << record("oomcount").dump();
  // The engine's events that are still on their way must not add to it: wait
  // until no session.oom event is newer than the count (the count has
  // settled) and compare.
  ASSERT_TRUE(wait_for([&] {
    auto ev = events("session.oom", "oomcount");
    return !ev.empty() && ev.back().value("details", json::object()).value("oom_kills", "")
                            == std::to_string(record("oomcount").value("oom_kills", 0));
  }, 10s));
  EXPECT_EQ(record("oomcount").value("oom_kills", 0), kernel_oom_kills(cid))
    << record("oomcount").dump();
  EXPECT_EQ(session_file("oomcount").value("oom_kills", 0), kernel_oom_kills(cid));
  auto ev = events("session.oom", "oomcount");
  EXPECT_LE(static_cast<long long>(ev.size()), kernel) << "one event per batch of new kills";
  EXPECT_EQ(record("oomcount").value("state", ""), "running");
}

// Issue 14, D5: a child OOM-killed, then at once `docker kill`: the engine
// says kill signal=9, die 137, and the container's OOMKilled is true; the
// main process was not the kernel's: "killed by signal 9".
TEST_F(truth_fixture, a_child_oom_then_docker_kill_is_killed_by_signal_9) {
  start_daemon();
  auto s = start(project("oomkill"), "--name oomkill --memory 64m");
  auto cid = s.value("container_id", "");
  ASSERT_FALSE(cid.empty()) << s.dump();
  int rc = -1;
  sh("docker exec " + cid + " sh -c 'head -c 600m /dev/zero | tail' >/dev/null 2>&1", &rc);
  ASSERT_NE(rc, 0) << "the hog was not killed";
  sh("docker kill -s KILL " + cid + " >/dev/null");
  ASSERT_TRUE(wait_state("oomkill", "ended", 10s)) << record("oomkill").dump();
  auto rec = record("oomkill");
  EXPECT_EQ(rec.value("end_reason", ""), "killed by signal 9") << rec.dump();
  EXPECT_EQ(rec["end"].value("kind", ""), "signaled") << rec.dump();
  EXPECT_EQ(session_file("oomkill").value("end_reason", ""), "killed by signal 9");
  auto ended = events("session.ended", "oomkill");
  ASSERT_FALSE(ended.empty());
  EXPECT_EQ(ended.back().value("reason", ""), "killed by signal 9") << ended.back().dump();
  EXPECT_FALSE(ended.back().value("oom", true)) << ended.back().dump();
}

TEST_F(truth_fixture, a_sigkill_without_oom_is_killed_by_signal_and_a_removal_is_outside) {
  start_daemon();
  auto a = start(project("killed"), "--name killed");
  auto b = start(project("removed"), "--name removed");
  ASSERT_FALSE(a.value("container_id", "").empty());
  ASSERT_FALSE(b.value("container_id", "").empty());
  sh("docker kill -s KILL " + a.value("container_id", "") + " >/dev/null");
  sh("docker rm -f " + b.value("container_id", "") + " >/dev/null");
  ASSERT_TRUE(wait_state("killed", "ended", 10s));
  ASSERT_TRUE(wait_state("removed", "ended", 10s));
  EXPECT_EQ(record("killed").value("end_reason", ""), "killed by signal 9");
  EXPECT_EQ(record("removed").value("end_reason", ""), "removed from outside");
  // Stopped by the user, and a restart of an ended session.
  auto c = start(project("user"), "--name byuser");
  ASSERT_EQ(env->claudy("stop byuser").rc, 0);
  EXPECT_EQ(record("byuser").value("end_reason", ""), "stopped by user");
  auto again = env->claudy("--json restart killed --detach");
  ASSERT_EQ(again.rc, 0) << again.out;
  EXPECT_EQ(record("killed").value("state", ""), "running");
  EXPECT_EQ(env->claudy("restart nosuchsession").rc, 5);
}

TEST_F(truth_fixture, a_start_the_engine_refuses_is_recorded_with_the_engines_words) {
  // An image there at the daemon's start (a missing one would be replaced by
  // hal9000/worker:local then: SKIP_IMAGE_PULL skips only the pull), gone
  // before the claim.
  auto image = "hal9000/does-not-exist:" + run_id();
  ASSERT_EQ(sh("docker tag hal9000/test:busybox " + image + " && echo ok"), "ok\n");
  struct untag {
    std::string image;
    ~untag() { sh("docker rmi " + image + " >/dev/null 2>&1"); }  // also on a failure
  } guard{image};
  env->vars["WORKER_IMAGE"] = image;
  env->vars["HAL9000_FORCE_COLD"] = "true";
  start_daemon();
  ASSERT_EQ(sh("docker rmi " + image + " >/dev/null && echo ok"), "ok\n");
  auto began = std::chrono::steady_clock::now();
  auto r = env->claudy("--json " + project("noimage") + " --detach --name noimage");
  EXPECT_NE(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("does-not-exist"), std::string::npos) << r.out;
  // Told at once, not after the claim timeout.
  EXPECT_LT(std::chrono::steady_clock::now() - began, 10s);
  ASSERT_TRUE(wait_for([&] { return record("noimage").value("state", "") == "ended"; }, 5s))
    << env->claudy("--json sessions --all").out;
  auto rec = record("noimage");
  EXPECT_EQ(rec["end"].value("kind", ""), "image-missing") << rec.dump();
  EXPECT_EQ(rec.value("end_reason", "").rfind("image missing: ", 0), 0u) << rec.dump();
  EXPECT_NE(rec.value("end_reason", "").find("does-not-exist"), std::string::npos);
  EXPECT_EQ(session_file("noimage").value("end_reason", ""), rec.value("end_reason", ""));
  auto ended = events("session.ended", "noimage");
  ASSERT_FALSE(ended.empty());
  EXPECT_EQ(ended.back().value("reason", ""), rec.value("end_reason", ""));
}

// -- the namespace owner -------------------------------------------------------------

void truth_fixture::parent_fault(const std::string& docker_cmd, const std::string& words,
                                 bool container_mode) {
  with_parent();
  if (HasFatalFailure() || IsSkipped())
    return;
  auto owner = prefix + (container_mode ? "-netns" : "-parent");
  if (container_mode) {
    auto* image = std::getenv("HAL9000_TEST_PARENT_IMAGE");
    std::string parent_image = image && *image ? image : "hal9000/parent:local";
    if (sh("docker run --rm --network none " + parent_image
           + " hal9000d --version >/dev/null 2>&1 && echo ok") != "ok\n")
      GTEST_SKIP() << parent_image << " does not carry hal9000d: scripts/build-images parent";
    env->vars["HAL9000_DAEMON_MODE"] = "container";
    env->vars["PARENT_IMAGE"] = parent_image;
  }
  env->vars["ENABLE_POOL_MANAGER"] = "true";
  env->vars["MIN_WARM_WORKERS"] = "2";
  env->vars["MAX_WARM_WORKERS"] = "3";
  start_daemon();
  ASSERT_TRUE(wait_for([&] { return warm_ids().size() == 2; }, 60s)) << pool().dump(2);
  auto warm_before = warm_ids();
  auto a = start(project("a"), "--name neta");
  auto b = start(project("b"), "--name netb");
  ASSERT_FALSE(a.value("container_id", "").empty());
  ASSERT_FALSE(b.value("container_id", "").empty());
  ASSERT_NE(heartbeat_from("neta").find("nanosecond heartbeat"), std::string::npos)
    << heartbeat_from("neta");
  ASSERT_TRUE(wait_for([&] { return warm_ids().size() == 2; }, 60s)) << pool().dump(2);
  warm_before = warm_ids();

  int rc = -1;
  sh(docker_cmd + " " + owner + " >/dev/null 2>&1", &rc);
  ASSERT_EQ(rc, 0);
  auto after_cmd = std::chrono::steady_clock::now();
  // Noticed from the engine's events: both sessions say so, with the fix.
  ASSERT_TRUE(wait_for([&] {
    return record("neta").value("state", "") == "network-lost"
           && record("netb").value("state", "") == "network-lost";
  }, 2s)) << record("neta").dump() << record("netb").dump();
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::steady_clock::now() - after_cmd).count();
  std::cout << docker_cmd << " returned -> both sessions network-lost: " << took << " ms\n";
  for (auto name : {"neta", "netb"}) {
    auto rec = record(name);
    EXPECT_NE(rec.value("state_reason", "").find(words), std::string::npos) << rec.dump();
    EXPECT_EQ(rec.value("restore", ""), std::string{"claudy restart "} + name) << rec.dump();
    EXPECT_EQ(session_file(name).value("state", ""), "network-lost");
    EXPECT_FALSE(events("session.network_lost", name).empty());
  }
  EXPECT_FALSE(events("parent.lost").empty());
  // `sessions` never calls them running; daemon status says what to do.
  auto plain = env->claudy("sessions").out;
  EXPECT_NE(plain.find("network-lost"), std::string::npos) << plain;
  auto status = env->claudy("daemon status").out;
  EXPECT_NE(status.find("claudy restart neta"), std::string::npos) << status;
  // The kernel's truth: the cut-off session cannot reach ChromaDB.
  EXPECT_EQ(heartbeat_from("netb").find("nanosecond heartbeat"), std::string::npos);

  // The parent and ChromaDB are back; the warm workers were replaced.
  ASSERT_TRUE(wait_for([&] { return !events("parent.restored").empty(); }, 60s))
    << env->claudy("--json events").out;
  EXPECT_EQ(trim(sh("docker inspect -f '{{.State.Running}}' " + owner)), "true");
  ASSERT_TRUE(wait_for([&] { return host_heartbeat(); }, 60s));
  ASSERT_TRUE(wait_for([&] {
    auto now = warm_ids();
    if (now.size() != 2)
      return false;
    for (auto& id : now)
      if (warm_before.count(id))
        return false;
    return true;
  }, 60s)) << pool().dump(2);
  auto status_after = parse(env->claudy("--json daemon status").out);
  EXPECT_NE(status_after.dump().find(words), std::string::npos) << status_after.dump(2);

  // The one command restores a session: same name, project and limits, and
  // it reaches ChromaDB at localhost again.
  auto old_limits = record("neta")["resource_limits"];
  auto r = env->claudy("--json restart neta --detach");
  ASSERT_EQ(r.rc, 0) << r.out;
  auto rec = record("neta");
  EXPECT_EQ(rec.value("state", ""), "running") << rec.dump();
  EXPECT_EQ(rec.value("project_dir", ""), fs::canonical(project("a")).string());
  EXPECT_EQ(rec["resource_limits"], old_limits);
  EXPECT_NE(rec.value("container_id", ""), a.value("container_id", ""));
  ASSERT_TRUE(wait_for([&] {
    return heartbeat_from("neta").find("nanosecond heartbeat") != std::string::npos;
  }, 30s)) << heartbeat_from("neta");
  // The other one is still cut off, and says so.
  EXPECT_EQ(record("netb").value("state", ""), "network-lost");
  auto replaced = events("session.ended", "neta");
  ASSERT_FALSE(replaced.empty());
  ASSERT_TRUE(replaced.back()["end"].is_object()) << replaced.back().dump();
  EXPECT_EQ(replaced.back()["end"].value("kind", ""), "replaced") << replaced.back().dump();
  // The daemon still stops cleanly after all this (the relay that attached
  // the sandbox to the new parent once kept it from exiting).
  auto stopped = env->claudy("daemon stop --all");
  EXPECT_EQ(stopped.rc, 0) << stopped.out;
}

TEST_F(truth_fixture, parent_restarted_under_sessions_and_a_warm_pool) {
  parent_fault("docker restart -t 1", "restarted from outside");
}

TEST_F(truth_fixture, parent_removed_under_sessions_and_a_warm_pool) {
  parent_fault("docker rm -f", "removed from outside");
}

// hal9000d in its container: the namespace owner is <prefix>-netns, and its
// loss is noticed and recovered the same way (the daemon's container is not
// touched).
TEST_F(truth_fixture, namespace_owner_removed_under_sessions_with_the_daemon_in_its_container) {
  parent_fault("docker rm -f", "removed from outside", true);
}

} // namespace
