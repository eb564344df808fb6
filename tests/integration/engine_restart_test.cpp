// The Docker engine restarted under a running daemon (issue 14): the real
// claudy and hal9000d against a private dockerd of this test's own (own
// socket, data root, exec root, containerd and network namespace, as
// docker_restart_test runs one; the shared engine is never touched). The
// engine is killed with SIGKILL and started again: it stops every container
// it finds running (no live-restore). Afterwards the session whose container
// stopped is ended with its exit code or signal and how it was found, the
// warm pool is refilled with new workers, and events say what happened.
#include <csignal>
#include <fstream>
#include <iostream>
#include <memory>
#include <set>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/late_bind.hpp"
#include "support/cli_process.hpp"
#include "support/daemon_sessions.hpp"
#include "support/temp_dir.hpp"
#include "support/test_env.hpp"

using namespace hal9000;
using namespace hal9000::test;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

bool alive(pid_t pid) {
  return pid > 0 && ::kill(pid, 0) == 0;
}

pid_t read_pid(const std::string& file) {
  std::ifstream in{file};
  long pid = 0;
  in >> pid;
  return static_cast<pid_t>(pid);
}

// A private dockerd under /tmp/h9t-engine-<run id> in a network namespace of
// its own, with a bridge of its own there (workers use the bridge network).
struct private_engine {
  std::string dir = "/tmp/h9t-engine-" + run_id();
  std::string sock = dir + "/d.sock";
  std::string host = "unix://" + sock;
  pid_t pid = 0;

  std::string cli() const { return "docker -H " + host + " "; }

  bool start(std::string& why) {
    sh("mkdir -p " + dir);
    int rc = 0;
    sh("setsid unshare --net dockerd -H " + host + " --data-root " + dir + "/data --exec-root "
         + dir + "/exec --pidfile " + dir + "/d.pid --iptables=false --ip-masq=false"
         + " --userland-proxy=false --log-level=warn >>" + dir + "/dockerd.log 2>&1 </dev/null &",
       &rc);
    if (rc != 0) {
      why = "cannot launch dockerd (rc " + std::to_string(rc) + ")";
      return false;
    }
    auto up = wait_for(
      [&] {
        int ping_rc = 0;
        sh(cli() + "version --format '{{.Server.APIVersion}}' >/dev/null 2>&1", &ping_rc);
        return ping_rc == 0;
      },
      30s);
    pid = read_pid(dir + "/d.pid");
    if (!up)
      why = "a private dockerd did not answer within 30 s; its log ends with: "
            + sh("tail -5 " + dir + "/dockerd.log");
    return up;
  }

  bool crash() {
    if (!alive(pid))
      return false;
    ::kill(pid, SIGKILL);
    return wait_for([&] { return !alive(pid); }, 10s);
  }

  void destroy() {
    if (alive(pid)) {
      sh(cli() + "rm -f $(" + cli() + "ps -aq) >/dev/null 2>&1");
      ::kill(pid, SIGTERM);
      if (!wait_for([&] { return !alive(pid); }, 20s))
        ::kill(pid, SIGKILL);
    }
    auto containerd = read_pid(dir + "/exec/containerd/containerd.pid");
    if (alive(containerd)) {
      ::kill(containerd, SIGTERM);
      if (!wait_for([&] { return !alive(containerd); }, 10s))
        ::kill(containerd, SIGKILL);
    }
    sh("grep -o ' " + dir + "[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l");
    sh("rm -rf " + dir);
  }
};

json parse(const std::string& text) {
  return json::parse(text, nullptr, false);
}

struct engine_restart : ::testing::Test {
  private_engine engine;
  temp_dir home_dir;
  temp_dir projects;
  std::unique_ptr<daemon_env> env;

  void SetUp() override {
    if (sh("command -v dockerd").empty())
      GTEST_SKIP() << "no dockerd binary: cannot run a private engine here";
    std::string why;
    if (!engine.start(why))
      GTEST_SKIP() << "cannot run a private dockerd here: " << why;
    int rc = 0;
    sh("docker save hal9000/test:busybox | " + engine.cli() + "load >/dev/null", &rc);
    ASSERT_EQ(rc, 0) << "cannot load hal9000/test:busybox into the private engine";
    ASSERT_EQ(::chmod(projects.path.c_str(), 0755), 0);
    env = std::make_unique<daemon_env>(home_dir.path);
    auto& v = env->vars;
    v["DOCKER_HOST"] = engine.host;
    v["WORKER_IMAGE"] = "hal9000/test:busybox";
    v["WORKER_COMMAND"] = "sleep 100000";
    v["SKIP_IMAGE_PULL"] = "true";
    v["ENABLE_POOL_MANAGER"] = "true";
    v["MIN_WARM_WORKERS"] = "2";
    v["MAX_WARM_WORKERS"] = "3";
    v["WORKER_MEMORY"] = "128m";
    v["WORKER_CPUS"] = "1";
    v["HAL9000_ALLOWED_ROOTS"] = "/tmp";
  }

  void TearDown() override {
    if (env) {
      env->claudy("daemon stop --all");
      env.reset();
    }
    engine.destroy();
    release_late_binds(home_dir, projects);
  }

  json record(const std::string& name) { return listed_session(*env, name); }

  std::vector<json> events(const std::string& kind) {
    std::vector<json> out;
    std::istringstream in{env->claudy("--json events").out};
    std::string line;
    while (std::getline(in, line)) {
      auto e = parse(line);
      if (!e.is_discarded() && e.value("kind", "") == kind)
        out.push_back(e);
    }
    return out;
  }

  std::set<std::string> warm_ids() {
    std::set<std::string> ids;
    auto p = parse(env->claudy("--json pool status").out);
    if (!p.is_discarded() && p.contains("workers"))
      for (auto& w : p["workers"])
        if (w.value("state", "") == "warm")
          ids.insert(w.value("id", ""));
    return ids;
  }
};

} // namespace

TEST_F(engine_restart, sessions_are_ended_with_the_truth_and_the_pool_refills) {
  auto r = env->claudy("daemon start --timeout 120");
  ASSERT_EQ(r.rc, 0) << r.out << sh("tail -30 " + home_dir.path + "/logs/hal9000d.out");
  ASSERT_TRUE(wait_for([&] { return warm_ids().size() == 2; }, 60s))
    << env->claudy("pool status").out;
  auto s = parse(env->claudy("--json " + projects.path + " --detach --name survivor").out);
  ASSERT_FALSE(s.is_discarded());
  ASSERT_FALSE(s.value("container_id", "").empty()) << s.dump();
  ASSERT_TRUE(wait_for([&] { return warm_ids().size() == 2; }, 60s));
  auto warm_before = warm_ids();

  ASSERT_TRUE(engine.crash());
  ASSERT_TRUE(wait_for([&] { return !events("engine.down").empty(); }, 10s))
    << env->claudy("events").out;
  std::string why;
  ASSERT_TRUE(engine.start(why)) << why;

  // The engine stopped the session's container at its start: the session
  // ends with what the engine says, and how it was found.
  ASSERT_TRUE(wait_for([&] { return record("survivor").value("state", "") == "ended"; }, 60s))
    << record("survivor").dump() << sh("tail -20 " + home_dir.path + "/logs/hal9000d.log");
  auto rec = record("survivor");
  auto kind = rec["end"].value("kind", "");
  EXPECT_TRUE(kind == "signaled" || kind == "exited" || kind == "removed-outside") << rec.dump();
  EXPECT_NE(rec.value("end_reason", "").find("Docker engine"), std::string::npos)
    << rec.dump();
  std::cout << "after the engine restart: " << rec.value("end_reason", "") << "\n";
  EXPECT_FALSE(events("engine.up").empty());
  auto ended = events("session.ended");
  ASSERT_FALSE(ended.empty());
  EXPECT_EQ(ended.back().value("reason", ""), rec.value("end_reason", ""));
  // The pool refills with new workers.
  ASSERT_TRUE(wait_for([&] {
    auto now = warm_ids();
    if (now.size() != 2)
      return false;
    for (auto& id : now)
      if (warm_before.count(id))
        return false;
    return true;
  }, 90s)) << env->claudy("pool status").out;
  // And a new session works on the restarted engine.
  auto again = env->claudy("--json restart survivor --detach");
  EXPECT_EQ(again.rc, 0) << again.out;
  EXPECT_EQ(record("survivor").value("state", ""), "running");
}
