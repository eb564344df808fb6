// The docker actor survives an engine restart. The main dockerd is shared by
// everyone, so this test runs its own second dockerd (own socket, data root,
// exec root, containerd, network namespace, no bridge, no iptables), kills it
// with SIGKILL and starts it again.
#include <atomic>
#include <csignal>
#include <fstream>

#include <caf/scoped_actor.hpp>
#include <gtest/gtest.h>
#include <unistd.h>

#include "actors/docker_actor.hpp"
#include "support/docker_events.hpp"
#include "support/test_env.hpp"

using namespace hal9000;
using namespace hal9000::docker;
using namespace std::chrono_literals;
using test::ask;
using test::ask_void;

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

// A private dockerd under /tmp/h9t-dockerd-<run id>.
struct second_engine {
  std::string dir = "/tmp/h9t-dockerd-" + test::run_id();
  std::string sock = dir + "/d.sock";
  std::string host = "unix://" + sock;
  pid_t pid = 0;

  std::string cli() const { return "docker -H " + host + " "; }

  // Launches dockerd and waits until it answers; on failure says why.
  bool start(std::string& why) {
    test::sh("mkdir -p " + dir);
    int rc = 0;
    // Its own network namespace: a dockerd with --bridge=none deletes the
    // interface named docker0, which must stay the main engine's.
    test::sh("setsid unshare --net dockerd -H " + host + " --data-root " + dir + "/data --exec-root "
               + dir + "/exec --pidfile " + dir + "/d.pid --bridge=none --iptables=false"
               + " --ip-masq=false --userland-proxy=false --log-level=warn >>" + dir
               + "/dockerd.log 2>&1 < /dev/null &",
             &rc);
    if (rc != 0) {
      why = "cannot launch dockerd (rc " + std::to_string(rc) + ")";
      return false;
    }
    auto up = test::wait_for(
      [&] {
        int ping_rc = 0;
        test::sh(cli() + "version --format '{{.Server.APIVersion}}' >/dev/null 2>&1",
                 &ping_rc);
        return ping_rc == 0;
      },
      30s);
    pid = read_pid(dir + "/d.pid");
    if (!up)
      why = "a second dockerd did not answer within 30 s; its log ends with: "
            + test::sh("tail -5 " + dir + "/dockerd.log");
    return up;
  }

  // SIGKILL: the engine vanishes mid-stream, as in a crash.
  bool crash() {
    if (!alive(pid))
      return false;
    ::kill(pid, SIGKILL);
    return test::wait_for([&] { return !alive(pid); }, 10s);
  }

  // Removes our containers, stops dockerd and its containerd, unmounts, deletes.
  void destroy() {
    if (alive(pid)) {
      test::sh(cli() + "rm -f $(" + cli() + "ps -aq) >/dev/null 2>&1");
      ::kill(pid, SIGTERM);
      if (!test::wait_for([&] { return !alive(pid); }, 20s))
        ::kill(pid, SIGKILL);
    }
    auto containerd = read_pid(dir + "/exec/containerd/containerd.pid");
    if (alive(containerd)) {
      ::kill(containerd, SIGTERM);
      if (!test::wait_for([&] { return !alive(containerd); }, 10s))
        ::kill(containerd, SIGKILL);
    }
    test::sh("grep -o ' " + dir + "[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l");
    test::sh("rm -rf " + dir);
  }
};

struct DockerRestartTest : ::testing::Test {
  second_engine engine;
  test::system_holder h;
  caf::scoped_actor self{h.sys};
  docker_actor docker;

  void SetUp() override {
    if (test::sh("command -v dockerd").empty())
      GTEST_SKIP() << "no dockerd binary: cannot run a second engine here";
    std::string why;
    if (!engine.start(why))
      GTEST_SKIP() << "cannot run a second dockerd here: " << why;
    int rc = 0;
    test::sh("docker save hal9000/test:busybox | " + engine.cli() + "load >/dev/null", &rc);
    ASSERT_EQ(rc, 0) << "cannot load hal9000/test:busybox into the second engine";
    options o;
    o.host = engine.host;
    o.timeout = 5s;
    o.reconnect_min = 50ms;
    o.reconnect_max = 500ms;
    docker = spawn_docker(h.sys, o);
  }

  void TearDown() override {
    if (docker)
      self->send_exit(docker, caf::exit_reason::user_shutdown);
    engine.destroy();
  }

  std::string run(const std::string& name, const std::map<std::string, std::string>& labels) {
    container_spec s;
    s.name = name;
    s.image = "hal9000/test:busybox";
    s.cmd = {"sleep", "300"};
    s.labels = labels;
    s.init = true;
    s.network_mode = "none";
    auto c = ask<container_created>(self, docker, create_req{s});
    EXPECT_TRUE(c) << error_message(c.error());
    if (!c)
      return {};
    auto err = ask_void(self, docker, start_req{c->id});
    EXPECT_FALSE(err) << error_message(err);
    return c->id;
  }
};

} // namespace

TEST_F(DockerRestartTest, EventsResumeAfterTheEngineIsKilledAndRestarted) {
  auto log = std::make_shared<test::event_log>();
  auto sink = test::spawn_event_recorder(h.sys, log);
  auto labels = test::test_labels({{"h9t.restart", "1"}});
  ASSERT_FALSE(ask_void(self, docker, subscribe_req{sink, labels}));
  ASSERT_TRUE(log->wait_status(true, 0, 2s));
  auto first = run("h9t-before-" + test::run_id(), labels);
  ASSERT_TRUE(log->wait_event(
    [&](const event& e) { return e.id == first && e.action == "start"; }, 2s));

  auto before = log->status_count();
  ASSERT_TRUE(engine.crash());
  ASSERT_TRUE(log->wait_status(false, before, 2s)) << "no engine_status down after the crash";
  {
    std::lock_guard<std::mutex> guard{log->mtx};
    EXPECT_NE(log->statuses.back().reason.find(engine.host), std::string::npos)
      << log->statuses.back().reason;
  }
  auto p = ask<std::string>(self, docker, ping_req{});
  ASSERT_FALSE(p);
  EXPECT_EQ(error_code(p.error()), errc::unavailable) << error_message(p.error());

  std::string why;
  ASSERT_TRUE(engine.start(why)) << why;
  ASSERT_TRUE(log->wait_status(true, before, 10s)) << "no engine_status up after the restart";
  {
    std::lock_guard<std::mutex> guard{log->mtx};
    EXPECT_EQ(log->statuses.back().reason, "reconnected");
  }
  // Calls work again on the same actor, and events flow again.
  auto second = run("h9t-after-" + test::run_id(), labels);
  ASSERT_FALSE(second.empty());
  EXPECT_TRUE(log->wait_event(
    [&](const event& e) { return e.id == second && e.action == "start"; }, 2s));
  EXPECT_FALSE(ask_void(self, docker, kill_req{second, "KILL"}));
  auto died = log->wait_event(
    [&](const event& e) { return e.id == second && e.action == "die"; }, 2s);
  ASSERT_TRUE(died);
  EXPECT_EQ(died->exit_code, 137);
}
