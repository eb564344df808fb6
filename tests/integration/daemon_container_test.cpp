// The container mode end to end, with the real images: `claudy daemon start`
// runs hal9000d inside <prefix>-parent (PARENT_IMAGE, which carries it),
// workers join <prefix>-netns, ChromaDB runs in that namespace. Start and
// status (mode, warm claims and why), the guide's checks (.Config.Env,
// docker logs, the reset), a warm session on a project with files both ways,
// a daemon restart and a kill -9 of hal9000d inside its container with a
// session running (adopted, still reaching ChromaDB, nothing orphaned), and
// `stop --all`; through all of it the sandbox (credential proxy, egress filter)
// is attached in the namespace owner's network namespace, entered by the
// daemon from its container. Every name, port, HAL9000_HOME and daemon id is
// the test's own.
// HAL9000_TEST_PARENT_IMAGE names another parent image (default
// hal9000/parent:local).
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <set>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/late_bind.hpp"
#include "runtime/pid_lock.hpp"
#include "support/chroma_server.hpp"
#include "support/cli_process.hpp"
#include "support/container_daemon.hpp"
#include "support/host_user.hpp"
#include "support/temp_dir.hpp"
#include "support/test_env.hpp"

using namespace hal9000;
using namespace hal9000::test;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

class daemon_container_test : public container_daemon_test {
protected:
  daemon_container_test() : container_daemon_test("h9c") {}

  void start_ok(const std::string& extra_env = "") {
    auto r = env_->run(extra_env + bin("claudy") + " daemon start --timeout 180");
    ASSERT_EQ(r.rc, 0) << r.out << "\n--- docker logs:\n"
                       << sh("docker logs --tail 30 " + parent() + " 2>&1");
  }

  /// Containers of this daemon, by role.
  std::multiset<std::string> roles() {
    std::multiset<std::string> out;
    auto text = sh("docker ps -a --filter label=hal9000.daemon=" + env_->daemon_id
                   + " --format '{{.Label \"hal9000.role\"}}'");
    size_t pos = 0;
    while (pos < text.size()) {
      auto nl = text.find('\n', pos);
      auto line = text.substr(pos, nl - pos);
      if (!line.empty())
        out.insert(line);
      if (nl == std::string::npos)
        break;
      pos = nl + 1;
    }
    return out;
  }

  /// ChromaDB's heartbeat from inside a worker (bash's /dev/tcp on its loopback).
  std::string heartbeat_from(const std::string& container) {
    auto port = std::to_string(chroma_port_);
    return sh("docker exec " + container
              + " timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/" + port
              + "; printf \"GET /api/v2/heartbeat HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n\" >&3;"
                " cat <&3' 2>&1");
  }


  /// Whether the credential proxy answers a TCP connection on the worker's
  /// loopback (it listens in the namespace owner's network namespace).
  bool proxy_reachable_from(const std::string& container) {
    int rc = -1;
    sh("docker exec " + container + " timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/"
         + std::to_string(proxy_port_) + "' >/dev/null 2>&1", &rc);
    return rc == 0;
  }

  /// The sandbox is attached to the namespace owner (by its pid as Docker
  /// reports it, a host pid) and filters egress.
  void expect_sandbox_attached() {
    auto st = status();
    ASSERT_TRUE(st.contains("sandbox")) << st.dump(2);
    EXPECT_TRUE(st["sandbox"].value("attached", false)) << st.dump(2);
    EXPECT_EQ(st["sandbox"].value("egress", ""), "allowlist") << st.dump(2);
    EXPECT_EQ(std::to_string(st["sandbox"].value("parent_pid", int64_t{0})),
              inspect(netns(), "{{.State.Pid}}")) << st.dump(2);
    EXPECT_EQ(st["sandbox"].value("error", ""), "") << st.dump(2);
  }

  /// A warm session on project_ named <prefix>-<suffix>; the container name.
  std::string start_session(const std::string& suffix) {
    auto name = prefix_ + "-" + suffix;
    auto r = claudy("--json --via-parent " + project_.path + " --detach --name " + name);
    EXPECT_EQ(r.rc, 0) << r.out;
    auto j = json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.out;
    if (!j.is_discarded()) {
      EXPECT_EQ(j.value("served", ""), "warm") << r.out;
    }
    return name;
  }

  /// The pool part of `claudy --json daemon status`.
  json pool() {
    auto st = status();
    return st.contains("pool") ? st["pool"] : json::object();
  }

  /// `claudy --json PATH --detach --name <prefix>-<suffix> FLAGS`: the reply.
  json start_on(const std::string& path, const std::string& suffix, const std::string& flags,
                run_result* raw = nullptr) {
    auto r = claudy("--json " + path + " --detach --name " + prefix_ + "-" + suffix + " "
                    + flags);
    if (raw)
      *raw = r;
    auto j = json::parse(r.out, nullptr, false);
    return r.rc == 0 && j.is_object() ? j : json::object();
  }

  uint16_t proxy_port_ = 8001;  // inside the test's own namespace owner
};

// Start, status, the guide's docker checks, a warm session with files both
// ways, then `stop --all` leaves nothing of this daemon running.
TEST_F(daemon_container_test, start_runs_hal9000d_in_the_parent_and_serves_warm_sessions) {
  start_ok();
  // hal9000d runs in <prefix>-parent, on the host's network.
  EXPECT_EQ(inspect(parent(), "{{.State.Running}}"), "true");
  EXPECT_EQ(inspect(parent(), "{{.HostConfig.NetworkMode}}"), "host");
  EXPECT_EQ(inspect(parent(), "{{index .Config.Labels \"hal9000.role\"}}"), "daemon");
  // In the host's pid namespace: the pid file names hal9000d as the host sees it.
  EXPECT_EQ(inspect(parent(), "{{.HostConfig.PidMode}}"), "host");
  auto pid = lock_holder(home_.path + "/hal9000d.pid");
  ASSERT_TRUE(pid);
  EXPECT_NE(read_all("/proc/" + std::to_string(*pid) + "/cmdline").find("hal9000d"),
            std::string::npos);
  auto st = status();
  EXPECT_EQ(st.value("pid", 0), *pid) << st.dump(2);
  EXPECT_EQ(st.value("mode", "").rfind("container", 0), 0u) << st.dump(2);
  EXPECT_NE(st.value("mode", "").find(netns()), std::string::npos) << st.dump(2);
  EXPECT_EQ(st.value("late_bind", "").rfind("warm (late binding: ", 0), 0u) << st.dump(2);
  EXPECT_EQ(st["chromadb"].value("state", ""), "healthy") << st.dump(2);
  EXPECT_EQ(st["parent"].value("state", ""), "running") << st.dump(2);
  auto text = claudy("daemon status");
  EXPECT_NE(text.out.find("mode"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("claims    warm (late binding"), std::string::npos) << text.out;
  // The guide: the configuration in .Config.Env, the daemon's log in docker logs.
  auto env = inspect(parent(), "{{json .Config.Env}}");
  for (auto kv : {std::string{"HAL9000_HOME=/root/.hal9000"},
                  "HAL9000_HOST_HOME=" + home_.path, std::string{"WORKER_MEMORY=512m"},
                  "CHROMADB_PORT=" + std::to_string(chroma_port_),
                  std::string{"ENABLE_POOL_MANAGER=true"}, std::string{"MIN_WARM_WORKERS=1"},
                  std::string{"HAL9000_DAEMON_MODE=container"}})
    EXPECT_NE(env.find("\"" + kv + "\""), std::string::npos) << kv << " not in " << env;
  auto logs = sh("docker logs " + parent() + " 2>&1");
  EXPECT_NE(logs.find("ready: control endpoint on 127.0.0.1:" + std::to_string(env_->port)),
            std::string::npos) << logs;
  // The Docker socket and the state directory (the guide's required volumes).
  auto mounts = inspect(parent(), "{{range .Mounts}}{{.Source}}:{{.Destination}}:{{.Propagation}} {{end}}");
  EXPECT_NE(mounts.find("/var/run/docker.sock:/var/run/docker.sock"), std::string::npos) << mounts;
  EXPECT_NE(mounts.find(home_.path + ":/root/.hal9000:"), std::string::npos) << mounts;
  EXPECT_NE(mounts.find(home_.path + "/mounts:/root/.hal9000/mounts:rshared"), std::string::npos)
    << mounts;
  // The control port is the host's loopback only.
  EXPECT_EQ(st["control"].value("listen", ""), "127.0.0.1:" + std::to_string(env_->port));

  // A warm session, files both ways.
  std::ofstream{project_ / "from-host.txt"} << "hello from the host\n";
  auto name = start_session("s1");
  // The engine stores the owner's id.
  EXPECT_EQ(inspect(name, "{{.HostConfig.NetworkMode}}"), "container:" + inspect(netns(), "{{.Id}}"));
  EXPECT_EQ(trim(sh("docker exec " + name + " cat /workspace/from-host.txt 2>&1")),
            "hello from the host");
  sh("docker exec " + name + " sh -c 'echo from the worker > /workspace/from-worker.txt'");
  EXPECT_EQ(read_all(project_ / "from-worker.txt"), "from the worker\n");
  struct stat sb{};
  ASSERT_EQ(::stat((project_ / "from-worker.txt").c_str(), &sb), 0);
  EXPECT_EQ(sb.st_uid, 1000u);  // the worker's user, as on the host
  EXPECT_NE(heartbeat_from(name).find("nanosecond heartbeat"), std::string::npos);
  // The sandbox, set up by the daemon in its container: attached to the
  // namespace owner, the credential proxy on the worker's loopback, the
  // filtering proxy joined to the namespace.
  expect_sandbox_attached();
  EXPECT_TRUE(proxy_reachable_from(name));
  EXPECT_EQ(inspect(prefix_ + "-egress", "{{.HostConfig.NetworkMode}}"),
            "container:" + inspect(netns(), "{{.Id}}"));
  // A connection to a bare address (this host's docker0 address, a port
  // nothing listens on: no traffic leaves the machine) is answered by the
  // daemon's reporter with the policy, not let through.
  auto gateway = trim(sh("ip -4 -o addr show docker0 | awk '{print $4}' | cut -d/ -f1"));
  ASSERT_FALSE(gateway.empty());
  auto refused = sh("docker exec " + name + " timeout 8 bash -c 'exec 3<>/dev/tcp/" + gateway
                    + "/" + std::to_string(free_loopback_port()) + ";"
                      " printf \"GET / HTTP/1.0\\r\\n\\r\\n\" >&3; cat <&3' 2>&1");
  EXPECT_NE(refused.find("403"), std::string::npos) << refused;
  EXPECT_NE(refused.find("HAL9000_EGRESS_ALLOW"), std::string::npos) << refused;

  // stop --all: sessions, the namespace, ChromaDB and the daemon's container.
  auto r = claudy("daemon stop --all");
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_TRUE(wait_for([&] { return roles().empty(); }, 30s))
    << "left: " << sh("docker ps -a --filter label=hal9000.daemon=" + env_->daemon_id);
  // Nothing stays mounted, not even the shared mounts/ point `claudy daemon
  // start` made: HAL9000_HOME can be removed.
  auto mounts_dir = late_bind::mounts_dir(home_.path);
  EXPECT_TRUE(late_bind::mounts_under(mounts_dir).empty());
}

// A running session outlives a daemon restart (new container, adopted) and a
// kill -9 of hal9000d inside its container (Docker restarts it; reconciled):
// it still reaches ChromaDB, and nothing is orphaned.
TEST_F(daemon_container_test, sessions_survive_restart_and_kill_9_of_the_daemon) {
  start_ok();
  auto name = start_session("s1");
  auto worker_id = inspect(name, "{{index .Config.Labels \"hal9000.worker\"}}");
  ASSERT_FALSE(worker_id.empty());
  std::ofstream{project_ / "before.txt"} << "before\n";
  ASSERT_NE(heartbeat_from(name).find("nanosecond heartbeat"), std::string::npos);
  auto netns_id = inspect(netns(), "{{.Id}}");
  auto first_parent = inspect(parent(), "{{.Id}}");

  // Restart: a new daemon container; the namespace and the session stay.
  auto r = claudy("daemon restart");
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(inspect(parent(), "{{.Id}}"), first_parent);
  EXPECT_EQ(inspect(netns(), "{{.Id}}"), netns_id);
  EXPECT_EQ(inspect(name, "{{.State.Running}}"), "true");
  auto listed = json::parse(claudy("--json sessions").out, nullptr, false);
  ASSERT_TRUE(listed.is_array());
  bool adopted = false;
  for (auto& s : listed)
    adopted = adopted || (s.value("name", "") == name && s.value("state", "") == "running");
  EXPECT_TRUE(adopted) << listed.dump(2);
  EXPECT_NE(heartbeat_from(name).find("nanosecond heartbeat"), std::string::npos);
  EXPECT_EQ(trim(sh("docker exec " + name + " cat /workspace/before.txt 2>&1")), "before");
  // The new daemon attached the sandbox again, in the same namespace.
  expect_sandbox_attached();
  EXPECT_TRUE(proxy_reachable_from(name));

  // kill -9 of hal9000d inside its container: Docker restarts the container
  // (on-failure), the new daemon reconciles.
  // Its container shares the host's pid namespace: the pid file's pid is the
  // host's, killed from here (a `docker exec` into a container whose init
  // Docker is restarting can hang on Docker 20.10).
  auto daemon_pid = lock_holder(home_.path + "/hal9000d.pid");
  ASSERT_TRUE(daemon_pid);  // it runs
  auto restarts = inspect(parent(), "{{.RestartCount}}");
  ASSERT_EQ(::kill(*daemon_pid, SIGKILL), 0);
  ASSERT_TRUE(wait_for([&] { return inspect(parent(), "{{.RestartCount}}") != restarts; }, 30s))
    << sh("docker logs --tail 20 " + parent() + " 2>&1");
  ASSERT_TRUE(wait_for([&] { return claudy("daemon status").rc == 0; }, 60s))
    << sh("docker logs --tail 30 " + parent() + " 2>&1");
  EXPECT_NE(sh("docker logs " + parent() + " 2>&1").find("reconcile:"), std::string::npos);
  EXPECT_EQ(inspect(name, "{{.State.Running}}"), "true");
  EXPECT_NE(heartbeat_from(name).find("nanosecond heartbeat"), std::string::npos);
  // Reconciled: the session is listed running; the pool's warm workers of
  // the killed run were replaced, never kept as orphans: every worker
  // container is the session's or a warm one the new daemon knows.
  ASSERT_TRUE(wait_for(
    [&] {
      auto j = json::parse(claudy("--json sessions").out, nullptr, false);
      if (!j.is_array())
        return false;
      for (auto& s : j)
        if (s.value("name", "") == name && s.value("state", "") == "running")
          return true;
      return false;
    },
    30s));
  std::string orphans;
  auto none_orphaned = [&] {
    auto pool = json::parse(claudy("--json pool status").out, nullptr, false);
    if (pool.is_discarded())
      return false;
    std::set<std::string> known{worker_id};
    for (auto& w : pool["workers"])
      known.insert(w.value("id", ""));
    auto ids = sh("docker ps -a --filter label=hal9000.daemon=" + env_->daemon_id
                  + " --filter label=hal9000.role=worker"
                    " --format '{{.Label \"hal9000.worker\"}}'");
    orphans.clear();
    size_t pos = 0;
    while (pos < ids.size()) {
      auto nl = ids.find('\n', pos);
      auto id = ids.substr(pos, nl - pos);
      if (!id.empty() && !known.count(id))
        orphans += id + " ";
      if (nl == std::string::npos)
        break;
      pos = nl + 1;
    }
    return orphans.empty();
  };
  // The killed run's warm workers go as the new daemon reconciles.
  EXPECT_TRUE(wait_for(none_orphaned, 30s)) << "orphaned workers: " << orphans;
  ASSERT_TRUE(wait_for([&] { return status()["sandbox"].value("attached", false); }, 30s));
  expect_sandbox_attached();
  EXPECT_TRUE(proxy_reachable_from(name));
  // Still a warm session after all that.
  std::ofstream{project_ / "after.txt"} << "after\n";
  EXPECT_EQ(trim(sh("docker exec " + name + " cat /workspace/after.txt 2>&1")), "after");

  r = claudy("daemon stop --all");
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_TRUE(wait_for([&] { return roles().empty(); }, 30s));
}

// The guide's reset: `claudy daemon stop; docker rm -f <prefix>-parent;
// claudy daemon start` comes back with the configuration of now; a running
// session is not cut off by it.
TEST_F(daemon_container_test, the_guides_reset_applies_the_new_configuration) {
  start_ok();
  auto name = start_session("s1");
  ASSERT_EQ(claudy("daemon stop").rc, 0);
  int rc = -1;
  sh("docker rm -f " + parent() + " >/dev/null 2>&1", &rc);
  EXPECT_EQ(rc, 0);
  start_ok("WORKER_CPUS=2 ");
  auto env = inspect(parent(), "{{json .Config.Env}}");
  EXPECT_NE(env.find("\"WORKER_CPUS=2\""), std::string::npos) << env;
  EXPECT_EQ(inspect(name, "{{.State.Running}}"), "true");
  EXPECT_NE(heartbeat_from(name).find("nanosecond heartbeat"), std::string::npos);
}

// Host-process mode stays, chosen explicitly.
TEST_F(daemon_container_test, host_process_mode_is_chosen_explicitly) {
  env_->vars.erase("HAL9000_DAEMON_MODE");
  auto r = env_->run(bin("claudy") + " daemon start --host-process --timeout 180");
  ASSERT_EQ(r.rc, 0) << r.out;
  auto st = status();
  EXPECT_EQ(st.value("mode", ""), "host process") << st.dump(2);
  // No daemon container: <prefix>-parent is the namespace owner here.
  EXPECT_EQ(inspect(parent(), "{{index .Config.Labels \"hal9000.role\"}}"), "parent");
  EXPECT_EQ(claudy("daemon stop --all").rc, 0);
}

// Users made on the host after `claudy daemon start` are the daemon's users at
// once: the host's /etc is bound as a directory (useradd replaces
// /etc/passwd by rename; a bind of the file itself kept the old one).
TEST_F(daemon_container_test, a_user_added_after_the_start_is_seen_by_the_daemon) {
  start_ok();
  host_user u;  // made now, after the start
  ASSERT_FALSE(u.login.empty()) << "no free uid for a test user";
  auto r = claudy("setup --user " + u.login + " --no-key");
  EXPECT_EQ(r.rc, 0) << r.out;
  struct stat st {};
  EXPECT_EQ(::stat((home_ / ("auth/users/" + std::to_string(u.uid) + "/token")).c_str(), &st), 0)
    << r.out;
  EXPECT_EQ(st.st_uid, u.uid);
  // Not by a bind of the file: the directory, read-only.
  auto mounts = inspect(parent(), "{{range .Mounts}}{{.Source}}:{{.Destination}}:{{.RW}} {{end}}");
  EXPECT_NE(mounts.find("/etc:/run/host/etc:false"), std::string::npos) << mounts;
  EXPECT_EQ(mounts.find("/etc/passwd:"), std::string::npos) << mounts;
}

// Case 03 in container mode: a tmpfs mounted inside a project after the
// daemon started is in the session, warm and cold (the roots are bound rslave
// from a propagating host mount; the daemon binds the project from there).
TEST_F(daemon_container_test, a_mount_made_in_a_project_after_the_start_is_there_warm_and_cold) {
  start_ok();
  auto binds = inspect(parent(), "{{range .Mounts}}{{.Destination}}:{{.Propagation}} {{end}}");
  EXPECT_NE(binds.find("/tmp:rslave"), std::string::npos) << binds;
  // Made now, after the start.
  auto dir = project_ / "nested";
  ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0);
  std::ofstream{dir + "/top.txt"} << "top\n";
  auto data = dir + "/data";
  ASSERT_EQ(::mkdir(data.c_str(), 0755), 0);
  ASSERT_EQ(::mount("h9test03c", data.c_str(), "tmpfs", 0, "size=1m,mode=0755"), 0)
    << std::strerror(errno);
  submounts_.push_back(data);
  std::ofstream{data + "/inner.txt"} << "nested\n";
  sh("chown -R 1000:1000 " + dir);
  ASSERT_TRUE(wait_for([&] { return pool().value("warm", 0) >= 1; }, 120s))
    << "no warm worker within 120 s: " << status().dump(2);
  for (auto flags : {std::string{""}, std::string{"--no-limits"}}) {
    run_result raw;
    auto j = start_on(dir, flags.empty() ? "c03w" : "c03c", flags, &raw);
    ASSERT_EQ(raw.rc, 0) << raw.out;
    auto served = j.value("served", "");
    EXPECT_EQ(served, flags.empty() ? "warm" : "cold") << raw.out;
    SCOPED_TRACE(served);
    auto cid = j.value("container_id", "");
    EXPECT_EQ(trim(sh("docker exec " + cid + " cat /workspace/top.txt 2>&1")), "top");
    EXPECT_EQ(trim(sh("docker exec " + cid + " cat /workspace/data/inner.txt 2>&1")), "nested");
    int rc = -1;
    sh("docker exec " + cid + " sh -c 'echo w > /workspace/data/" + served + "' 2>&1", &rc);
    EXPECT_EQ(rc, 0);
    EXPECT_EQ(read_all(data + "/" + served), "w\n");
    EXPECT_EQ(claudy("stop " + prefix_ + "-" + (flags.empty() ? "c03w" : "c03c")).rc, 0);
  }
}

// A daemon started by a user who is not root (in the docker group, their own
// ~/.hal9000, this host's private mounts): mounts/ cannot be shared with the
// host, so a slot would be an empty directory in the worker. The session's
// /workspace is the project all the same (bound as it is), the status names
// the host path to fix, and the user's HAL9000_HOME stays theirs.
TEST_F(daemon_container_test, a_daemon_started_by_a_user_gives_sessions_their_project) {
  host_user u{"-G docker"};
  ASSERT_FALSE(u.login.empty()) << "no free uid for a test user";
  // Their home on a private mount of its own, whatever / is here (systemd
  // makes it shared): the trial's host. Unmounted before the user goes.
  struct unmount_at_end {
    std::string path;
    ~unmount_at_end() { ::umount2(path.c_str(), MNT_DETACH); }
  } home_mount{u.home};
  ASSERT_EQ(::mount(u.home.c_str(), u.home.c_str(), nullptr, MS_BIND, nullptr), 0)
    << std::strerror(errno);
  ASSERT_EQ(::mount(nullptr, u.home.c_str(), nullptr, MS_PRIVATE, nullptr), 0)
    << std::strerror(errno);
  auto user_home = u.home + "/.hal9000";
  auto as_user = [&](const std::string& cmd) {
    return env_->run("setpriv --reuid=" + std::to_string(u.uid) + " --regid="
                     + std::to_string(u.uid) + " --init-groups env HOME=" + u.home
                     + " HAL9000_HOME=" + user_home
                     + " HAL9000_ALLOWED_ROOTS=/home ENABLE_POOL_MANAGER=false " + cmd);
  };
  auto r = as_user("sh -c 'mkdir -p ~/proj && echo hello > ~/proj/hello.txt && chmod 0755 ~/proj'");
  ASSERT_EQ(r.rc, 0) << r.out;
  r = as_user(bin("claudy") + " daemon start --timeout 180");
  ASSERT_EQ(r.rc, 0) << r.out << "\n--- docker logs:\n"
                     << sh("docker logs --tail 30 " + parent() + " 2>&1");
  auto text = as_user(bin("claudy") + " --json daemon status");
  auto st = json::parse(text.out, nullptr, false);
  ASSERT_TRUE(st.is_object()) << text.out;
  auto why = st.value("late_bind", "");
  EXPECT_NE(why.find(user_home + "/mounts"), std::string::npos) << st.dump(2);
  EXPECT_EQ(why.find("/root/.hal9000"), std::string::npos) << st.dump(2);
  auto name = prefix_ + "-u1";
  r = as_user(bin("claudy") + " --json " + u.home + "/proj --detach --name " + name);
  ASSERT_EQ(r.rc, 0) << r.out;
  auto j = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.out;
  auto cid = j.value("container_id", "");
  // The project itself, never an empty slot directory.
  EXPECT_EQ(trim(sh("docker exec " + cid + " cat /workspace/hello.txt 2>&1")), "hello");
  EXPECT_EQ(trim(sh("docker exec " + cid + " sh -c 'cd \"$(pwd)\" && cat hello.txt' 2>&1")),
            "hello");
  // Their HAL9000_HOME is theirs: the directories the daemon made and the
  // session's record.
  for (auto dir : {"sessions", "pool", "users", "mcp", "logs"}) {
    struct stat sb {};
    auto path = user_home + "/" + dir;
    if (::stat(path.c_str(), &sb) != 0)
      continue;
    EXPECT_EQ(sb.st_uid, u.uid) << path;
  }
  r = as_user("sh -c 'cat ~/.hal9000/sessions/*.json'");
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find(name), std::string::npos) << r.out;
  r = as_user(bin("claudy") + " stop " + name);
  EXPECT_EQ(r.rc, 0) << r.out;
  r = as_user(bin("claudy") + " daemon stop --all");
  EXPECT_EQ(r.rc, 0) << r.out;
}

} // namespace
