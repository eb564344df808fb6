// The daemon with its parent, as a user runs it: the real claudy and hal9000d
// processes, the real images (scripts/build-images), a real ChromaDB. Every
// test has its own HAL9000_HOME, control port, daemon id, parent name prefix
// and CHROMADB_PORT (never hal9000-parent, never port 8000), and removes what
// it made (containers by daemon-id label and by prefix, volumes by prefix)
// whether it passed or not.
#include <chrono>
#include <iostream>
#include <memory>
#include <algorithm>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support/chroma_server.hpp"
#include "support/cli_process.hpp"
#include "support/container_daemon.hpp"
#include "support/temp_dir.hpp"
#include "support/test_env.hpp"

using namespace hal9000::test;
using namespace std::chrono_literals;

namespace {

constexpr const char* collections
  = "/api/v2/tenants/default_tenant/databases/default_database/collections";

int64_t ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::steady_clock::now() - t).count();
}

class daemon_parent_test : public ::testing::Test {
protected:
  void SetUp() override {
    for (auto image : {"hal9000/parent:local", "hal9000/chromadb:local",
                       "hal9000/worker:local", "hal9000/test:busybox"})
      if (!image_present(image))
        GTEST_SKIP() << "image " << image << " is missing: run scripts/build-images";
    static int counter = 0;
    prefix_ = "h9t-" + run_id() + "-d" + std::to_string(++counter);
    chroma_port_ = free_loopback_port();
    env_ = std::make_unique<daemon_env>(home_.path);
    set_managed_parent_vars(env_->vars, prefix_, chroma_port_);
    // A user's project, as the worker's user (claude, 1000) can enter it.
    ASSERT_TRUE(open_project_to_worker(project_.path));
  }

  void TearDown() override {
    if (!env_)
      return;
    env_->claudy("daemon stop");
    env_.reset();  // kills a daemon left running, removes its labelled containers
    remove_by_prefix(prefix_);
  }

  std::string parent() const { return prefix_ + "-parent"; }
  std::string chroma() const { return prefix_ + "-chromadb"; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(chroma_port_); }

  run_result claudy(const std::string& args) { return env_->claudy(args); }

  nlohmann::json status() {
    auto r = claudy("--json daemon status");
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.out;
    return j.is_discarded() ? nlohmann::json::object() : j;
  }

  std::string chroma_state() {
    auto j = status();
    return j.contains("chromadb") ? j["chromadb"].value("state", "") : "";
  }

  bool host_heartbeat() {
    auto [code, body] = http_get(url(), "/api/v2/heartbeat");
    return code == 200 && body.find("nanosecond heartbeat") != std::string::npos;
  }

  /// `daemon start`, asserted to succeed; returns how long it took.
  int64_t start_ok(const std::string& env_prefix = "") {
    auto began = std::chrono::steady_clock::now();
    auto r = env_->run(env_prefix + bin("claudy") + " daemon start --timeout 120");
    auto took = ms_since(began);
    EXPECT_EQ(r.rc, 0) << r.out << sh("tail -30 " + home_.path + "/logs/hal9000d.out");
    return took;
  }

  /// A detached session on project_, its container named after it.
  std::string start_session(const std::string& suffix) {
    auto name = prefix_ + "-" + suffix;
    auto r = claudy("--via-parent " + project_.path + " --detach --name " + name);
    EXPECT_EQ(r.rc, 0) << r.out;
    return name;
  }

  /// ChromaDB's heartbeat as seen from inside a container on its loopback.
  /// busybox: wget to 127.0.0.1 (this static busybox resolves no names);
  /// the Debian worker has neither wget nor curl, so bash's /dev/tcp.
  std::string heartbeat_from(const std::string& container, bool busybox) {
    auto port = std::to_string(chroma_port_);
    if (busybox)
      return sh("docker exec " + container + " timeout 5 wget -qO- http://127.0.0.1:" + port
                + "/api/v2/heartbeat 2>&1");
    return sh("docker exec " + container
              + " timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/" + port
              + "; printf \"GET /api/v2/heartbeat HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n\" >&3;"
                " cat <&3' 2>&1");
  }

  temp_dir home_;
  temp_dir project_;
  std::string prefix_;
  uint16_t chroma_port_ = 0;
  std::unique_ptr<daemon_env> env_;
};

// -- start ------------------------------------------------------------------------------------

TEST_F(daemon_parent_test, start_waits_for_a_healthy_chromadb_on_the_configured_port) {
  ASSERT_NE(chroma_port_, 8000);
  auto took = start_ok();
  // start returns once ChromaDB is healthy: status says so at once.
  auto st = status();
  EXPECT_EQ(st["chromadb"]["state"], "healthy") << st.dump(2);
  EXPECT_EQ(st["parent"]["state"], "running") << st.dump(2);
  EXPECT_TRUE(host_heartbeat());
  RecordProperty("start_to_chromadb_healthy_ms", std::to_string(took));
  std::cout << "daemon start -> ChromaDB healthy: " << took << " ms\n";
  // CHROMADB_PORT end to end: published on the loopback, in the parent's
  // environment and ChromaDB's.
  auto port = std::to_string(chroma_port_);
  EXPECT_EQ(trim(sh("docker port " + parent() + " " + port + "/tcp")), "127.0.0.1:" + port);
  EXPECT_NE(inspect(parent(), "{{json .Config.Env}}").find("\"CHROMADB_PORT=" + port + "\""),
            std::string::npos);
  EXPECT_NE(inspect(chroma(), "{{json .Config.Env}}").find("\"CHROMADB_PORT=" + port + "\""),
            std::string::npos);
  // A second start is idempotent and still ready.
  auto again = claudy("daemon start");
  EXPECT_EQ(again.rc, 0) << again.out;
  EXPECT_NE(again.out.find("already running"), std::string::npos) << again.out;
}

TEST_F(daemon_parent_test, start_output_off_a_terminal_is_plain_and_on_a_terminal_is_live) {
  env_->vars["ENABLE_POOL_MANAGER"] = "true";
  env_->vars["MIN_WARM_WORKERS"] = "2";
  auto plain = claudy("daemon start --timeout 120");
  ASSERT_EQ(plain.rc, 0) << plain.out;
  EXPECT_EQ(plain.out.find('\r'), std::string::npos) << plain.out;
  EXPECT_EQ(plain.out.find("\033["), std::string::npos) << plain.out;
  EXPECT_EQ(plain.out.find("waiting for"), std::string::npos) << plain.out;
  EXPECT_NE(plain.out.find("hal9000d "), std::string::npos) << plain.out;
  ASSERT_EQ(claudy("daemon stop").rc, 0);
  // On a terminal (script(1) gives it one) a live line says what it waits
  // for: the first warm workers take longer than one 200 ms poll.
  auto tty = env_->run("script -qec '" + bin("claudy") + " daemon start --timeout 120' /dev/null");
  ASSERT_EQ(tty.rc, 0) << tty.out;
  EXPECT_NE(tty.out.find("waiting for "), std::string::npos) << tty.out;
  EXPECT_NE(tty.out.find("\r\033[K"), std::string::npos) << tty.out;
  EXPECT_NE(tty.out.find("warm workers "), std::string::npos) << tty.out;
  ASSERT_EQ(claudy("daemon stop").rc, 0);
  // --quiet on a terminal: no live line either.
  auto quiet = env_->run("script -qec '" + bin("claudy")
                         + " --quiet daemon start --timeout 120' /dev/null");
  ASSERT_EQ(quiet.rc, 0) << quiet.out;
  EXPECT_EQ(quiet.out.find("waiting for"), std::string::npos) << quiet.out;
}

TEST_F(daemon_parent_test, a_chromadb_port_in_use_is_a_clear_error_in_start_and_status) {
  port_holder taken{chroma_port_};
  ASSERT_GE(taken.fd, 0);
  auto r = claudy("daemon start --timeout 60");
  auto expected = "CHROMADB_PORT " + std::to_string(chroma_port_)
                  + " is already in use on 127.0.0.1: set CHROMADB_PORT to a free port";
  EXPECT_EQ(r.rc, 1) << r.out;
  EXPECT_NE(r.out.find("claudy: ChromaDB is unavailable: " + expected), std::string::npos)
    << r.out;
  auto st = claudy("daemon status");
  EXPECT_EQ(st.rc, 0) << st.out;
  EXPECT_NE(st.out.find(expected), std::string::npos) << st.out;
  int rc = -1;
  sh("docker inspect " + parent() + " >/dev/null 2>&1", &rc);
  EXPECT_NE(rc, 0) << "no parent is left behind";
}

// -- sessions in the parent's namespace ----------------------------------------------------------

TEST_F(daemon_parent_test, a_worker_session_runs_claude_as_claude_and_reaches_chromadb) {
  start_ok();
  auto session = start_session("s1");
  ASSERT_TRUE(wait_for([&] { return inspect(session, "{{.State.Running}}") == "true"; }, 30s))
    << inspect(session, "{{.State.Status}}");
  EXPECT_EQ(inspect(session, "{{.HostConfig.NetworkMode}}").rfind("container:", 0), 0u);
  // Issue 11: the record said "hal9000-parent" whatever HAL9000_PARENT_PREFIX was.
  auto rec = nlohmann::json::parse(sh("cat " + home_.path + "/sessions/" + session + ".json"),
                                   nullptr, false);
  ASSERT_TRUE(rec.is_object());
  EXPECT_EQ(rec["parent"], parent());
  EXPECT_EQ(trim(sh("docker exec " + session + " id -un 2>&1")), "claude");
  EXPECT_EQ(trim(sh("docker exec " + session + " pwd 2>&1")), "/workspace");
  int rc = -1;
  auto version = sh("docker exec " + session + " claude --version 2>&1", &rc);
  EXPECT_EQ(rc, 0) << version;
  EXPECT_NE(version.find("Claude Code"), std::string::npos) << version;
  auto seen = heartbeat_from(session, false);
  EXPECT_NE(seen.find("nanosecond heartbeat"), std::string::npos) << seen;
  // Restarting ChromaDB never cuts the worker off: it lives in the parent's
  // namespace, which stays.
  ASSERT_EQ(sh("docker restart -t 2 " + chroma() + " >/dev/null 2>&1; echo $?"), "0\n");
  EXPECT_TRUE(wait_for([&] {
    return heartbeat_from(session, false).find("nanosecond heartbeat") != std::string::npos;
  }, 30s)) << heartbeat_from(session, false);
}

TEST_F(daemon_parent_test, a_killed_chromadb_is_noticed_within_3s_healed_and_keeps_its_data) {
  env_->vars["WORKER_IMAGE"] = "hal9000/test:busybox";
  env_->vars["HAL9000_WORKER_UID"] = "0";  // busybox runs as root
  env_->vars["HAL9000_WORKER_GID"] = "0";
  start_ok();
  auto [created, body] = http_post(url(), collections, R"({"name":"kept-across-kill"})");
  ASSERT_EQ(created, 200) << body;
  auto session = start_session("s2");
  ASSERT_NE(heartbeat_from(session, true).find("nanosecond heartbeat"), std::string::npos);
  auto started = inspect(chroma(), "{{.State.StartedAt}}");
  auto events = home_.path + "/events.out";
  // Follows the daemon's events from before the kill.
  sh(env_->env_prefix() + bin("claudy") + " --json events --follow >" + events
     + " 2>&1 </dev/null & echo $! >" + home_.path + "/events.pid");
  auto stop_events = [&] { sh("kill $(cat " + home_.path + "/events.pid) 2>/dev/null"); };
  ASSERT_TRUE(wait_for([&] {
    return !sh("cat " + events).empty();
  }, 5s)) << "claudy events printed nothing";
  auto killed = std::chrono::steady_clock::now();
  ASSERT_EQ(sh("docker kill " + chroma() + " >/dev/null 2>&1; echo $?"), "0\n");
  // Noticed and restarted by the daemon within 3 s: the container starts
  // again (nothing else restarts it).
  bool restarted = wait_for([&] {
    auto now = inspect(chroma(), "{{.State.StartedAt}}");
    return now != started && inspect(chroma(), "{{.State.Running}}") == "true";
  }, 3s);
  auto restart_ms = ms_since(killed);
  EXPECT_TRUE(restarted) << sh("tail -20 " + home_.path + "/logs/hal9000d.out");
  EXPECT_TRUE(wait_for([&] { return chroma_state() == "healthy"; }, 30s)) << status().dump(2);
  auto healthy_ms = ms_since(killed);
  stop_events();
  RecordProperty("kill_to_restarted_ms", std::to_string(restart_ms));
  RecordProperty("kill_to_healthy_ms", std::to_string(healthy_ms));
  std::cout << "docker kill -> restarted " << restart_ms << " ms, -> healthy in status "
            << healthy_ms << " ms\n";
  auto seen = sh("cat " + events);
  EXPECT_NE(seen.find("chroma"), std::string::npos) << seen;
  auto [found, coll] = http_get(url(), std::string{collections} + "/kept-across-kill");
  EXPECT_EQ(found, 200) << coll;
  EXPECT_NE(coll.find("kept-across-kill"), std::string::npos) << coll;
  auto after = heartbeat_from(session, true);
  EXPECT_NE(after.find("nanosecond heartbeat"), std::string::npos) << after;
}

TEST_F(daemon_parent_test, a_data_dir_the_image_lacks_is_made_writable_for_chroma) {
  env_->vars["CHROMADB_DATA_DIR"] = "/var/lib/h9t-chroma";
  start_ok();
  EXPECT_EQ(chroma_state(), "healthy");
  auto [created, body] = http_post(url(), collections, R"({"name":"in-custom-dir"})");
  EXPECT_EQ(created, 200) << body;
  auto mounts = inspect(chroma(), "{{range .Mounts}}{{.Name}}:{{.Destination}} {{end}}");
  EXPECT_NE(mounts.find(chroma() + ":/var/lib/h9t-chroma"), std::string::npos) << mounts;
  // The server runs as chroma, not root, and owns its data.
  auto owner = trim(sh("docker exec -u chroma " + chroma()
                       + " stat -c %U /var/lib/h9t-chroma 2>&1"));
  EXPECT_EQ(owner, "chroma");
  auto files = sh("docker exec -u chroma " + chroma() + " ls /var/lib/h9t-chroma 2>&1");
  EXPECT_NE(files.find("chroma.sqlite3"), std::string::npos) << files;
  auto server_uid = trim(sh("docker exec -u chroma " + chroma()
                            + " sh -c 'for p in /proc/[0-9]*; do grep -q node $p/comm 2>/dev/null"
                              " && stat -c %u $p; done' 2>&1"));
  EXPECT_EQ(server_uid, trim(sh("docker exec " + chroma() + " id -u chroma")));
}

// -- configuration --------------------------------------------------------------------------------

TEST_F(daemon_parent_test, the_reference_reset_brings_defaults_into_the_parent) {
  start_ok("WORKER_MEMORY=8g ");
  auto env = inspect(parent(), "{{json .Config.Env}}");
  EXPECT_NE(env.find("\"WORKER_MEMORY=8g\""), std::string::npos) << env;
  // Another limit is the daemon's, applied by it: it does not make the
  // running parent different (only what lives in it, its published port, does).
  ASSERT_EQ(claudy("daemon stop").rc, 0);
  start_ok();
  auto st = claudy("daemon status");
  EXPECT_EQ(st.out.find("WORKER_MEMORY=8g, configured 4g"), std::string::npos) << st.out;
  EXPECT_EQ(status()["parent"]["state"], "running");
  // The reference's reset.
  ASSERT_EQ(claudy("daemon stop").rc, 0);
  ASSERT_EQ(sh("docker rm -f " + parent() + " >/dev/null 2>&1; echo $?"), "0\n");
  start_ok();
  env = inspect(parent(), "{{json .Config.Env}}");
  EXPECT_NE(env.find("\"WORKER_MEMORY=4g\""), std::string::npos) << env;
  EXPECT_EQ(status()["parent"]["state"], "running");
  EXPECT_EQ(chroma_state(), "healthy");
  EXPECT_TRUE(host_heartbeat());
}

TEST_F(daemon_parent_test, a_warm_pool_of_three_is_up_when_start_returns) {
  env_->vars["ENABLE_POOL_MANAGER"] = "true";
  env_->vars["MIN_WARM_WORKERS"] = "3";
  auto took = start_ok();
  auto st = status();
  EXPECT_EQ(st["pool"]["warm"], 3) << st.dump(2);
  std::cout << "daemon start -> 3 warm workers: " << took << " ms\n";
  RecordProperty("start_to_three_warm_ms", std::to_string(took));
  auto running = trim(sh("docker ps -q --filter label=hal9000.daemon=" + env_->daemon_id
                         + " --filter label=hal9000.role=worker | wc -l"));
  EXPECT_EQ(running, "3");
}

TEST_F(daemon_parent_test, worker_limits_from_the_environment_apply_to_new_workers) {
  env_->vars["ENABLE_POOL_MANAGER"] = "true";
  env_->vars["MIN_WARM_WORKERS"] = "1";
  // The reference's WORKER_CPUS=4; Docker refuses more CPUs than the host
  // has (this machine type has 2), so at most the host's count.
  auto cpus = std::min<long>(4, ::sysconf(_SC_NPROCESSORS_ONLN));
  start_ok("WORKER_MEMORY=8g WORKER_CPUS=" + std::to_string(cpus) + " WORKER_PIDS_LIMIT=200 ");
  auto id = trim(sh("docker ps -q --filter label=hal9000.daemon=" + env_->daemon_id
                    + " --filter label=hal9000.role=worker | head -1"));
  ASSERT_FALSE(id.empty()) << claudy("pool status").out;
  EXPECT_EQ(inspect(id, "{{.HostConfig.Memory}}"), "8589934592");
  EXPECT_EQ(inspect(id, "{{.HostConfig.NanoCpus}}"), std::to_string(cpus) + "000000000");
  EXPECT_EQ(inspect(id, "{{.HostConfig.PidsLimit}}"), "200");
}

} // namespace
