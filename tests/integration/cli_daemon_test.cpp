// claudy and hal9000d as separate processes over real TCP: daemon lifecycle,
// exit codes, authentication, TLS, and remote control across network
// namespaces.
#include <csignal>
#include <fstream>

#include <sys/stat.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/cli_process.hpp"
#include "support/netns_host.hpp"
#include "support/temp_dir.hpp"
#include "support/test_env.hpp"

using namespace hal9000::test;
using namespace std::chrono_literals;

namespace {

// Running, not a zombie waiting for a parent that may never reap it.
bool alive(int pid) {
  if (pid <= 0 || ::kill(pid, 0) != 0)
    return false;
  std::ifstream stat{"/proc/" + std::to_string(pid) + "/stat"};
  std::string pid_field, comm, state;
  stat >> pid_field >> comm >> state;
  return state != "Z";
}

std::string read_all(const std::string& path) {
  std::ifstream in{path};
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

struct cli_daemon : ::testing::Test {
  temp_dir home;
  daemon_env env{home.path};

  void TearDown() override {
    env.claudy("daemon stop");
  }
};

} // namespace

TEST_F(cli_daemon, daemon_down_is_exit_3_with_the_fix) {
  auto r = env.claudy("daemon status");
  EXPECT_EQ(r.rc, 3) << r.out;
  EXPECT_NE(r.out.find("hal9000d is not running"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("claudy daemon start"), std::string::npos) << r.out;
}

TEST_F(cli_daemon, start_status_stop) {
  auto r = env.claudy("daemon start");
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("running (pid"), std::string::npos) << r.out;
  auto pid = env.daemon_pid();
  ASSERT_TRUE(alive(pid));

  r = env.claudy("--json daemon status");
  ASSERT_EQ(r.rc, 0) << r.out;
  auto st = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(st.is_discarded()) << r.out;
  EXPECT_EQ(st["pid"], pid);
  EXPECT_EQ(st["control"]["tls"], false);
  EXPECT_EQ(st["docker"]["reachable"], true) << r.out;

  r = env.claudy("daemon stop");
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("left running"), std::string::npos) << r.out;
  EXPECT_FALSE(alive(pid));
  EXPECT_EQ(env.claudy("daemon status").rc, 3);
  // Stopping what is not running is not an error.
  EXPECT_EQ(env.claudy("daemon stop").rc, 0);
}

TEST_F(cli_daemon, start_is_idempotent_and_a_second_daemon_is_refused) {
  ASSERT_EQ(env.claudy("daemon start").rc, 0);
  auto pid = env.daemon_pid();
  auto r = env.claudy("daemon start");
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("already running (pid " + std::to_string(pid) + ")"),
            std::string::npos) << r.out;
  EXPECT_EQ(env.daemon_pid(), pid);
  // A second daemon on the same home names the first one's pid.
  r = env.run(bin("hal9000d") + " run");
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.out.find("already running (pid " + std::to_string(pid) + ")"),
            std::string::npos) << r.out;
  EXPECT_TRUE(alive(pid));
}

// A start that fails shows what that daemon wrote, never an earlier run's
// lines of the same hal9000d.out.
TEST_F(cli_daemon, a_failed_start_shows_its_own_reason_not_stale_log_lines) {
  ASSERT_EQ(env.claudy("daemon start").rc, 0);
  auto pid = env.daemon_pid();
  auto out_path = home.path + "/logs/hal9000d.out";
  auto stale = "stale-line-from-an-earlier-run-" + run_id();
  std::ofstream{out_path, std::ios::app} << stale << "\n";
  // Another port, the same home: the new hal9000d finds the pid file held.
  auto r = env.run("env HAL9000_PORT=" + std::to_string(free_port()) + " " + bin("claudy")
                   + " daemon start");
  EXPECT_EQ(r.rc, 3) << r.out;
  EXPECT_NE(r.out.find("already running (pid " + std::to_string(pid) + ")"),
            std::string::npos) << r.out;
  EXPECT_EQ(r.out.find(stale), std::string::npos) << r.out;
  EXPECT_TRUE(alive(pid));
}

TEST_F(cli_daemon, restart_gives_a_new_daemon) {
  ASSERT_EQ(env.claudy("daemon start").rc, 0);
  auto first = env.daemon_pid();
  auto r = env.claudy("daemon restart");
  ASSERT_EQ(r.rc, 0) << r.out;
  auto second = env.daemon_pid();
  EXPECT_NE(first, second);
  EXPECT_FALSE(alive(first));
  EXPECT_TRUE(alive(second));
}

TEST_F(cli_daemon, wrong_token_is_refused_with_exit_4_and_audited) {
  ASSERT_EQ(env.claudy("daemon start").rc, 0);
  std::ofstream{home / "wrong-token"} << std::string(64, 'a') << "\n";
  auto r = env.claudy("--token-file " + (home / "wrong-token") + " daemon status");
  EXPECT_EQ(r.rc, 4) << r.out;
  EXPECT_NE(r.out.find("authentication refused"), std::string::npos) << r.out;
  EXPECT_TRUE(wait_for([&] {
    return read_all(home / "logs/audit.log").find("\"refused\"") != std::string::npos;
  }, 5s)) << read_all(home / "logs/audit.log");
  // The token file itself is private.
  struct stat st {};
  ASSERT_EQ(::stat((home / "auth/token").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(cli_daemon, bad_arguments_are_usage_errors) {
  for (auto args : {"daemon bogus", "--bogus daemon status", "daemon start --timeout abc",
                    "--host :x daemon status", "--host h:99999 daemon status"}) {
    auto r = env.claudy(args);
    EXPECT_EQ(r.rc, 2) << args << ": " << r.out;
  }
  auto r = env.claudy("--help");
  EXPECT_EQ(r.rc, 0);
  EXPECT_NE(r.out.find("daemon"), std::string::npos);
  r = env.claudy("--version");
  EXPECT_EQ(r.rc, 0);
  EXPECT_NE(r.out.find("claudy"), std::string::npos);
}

// Issue 11: `claudy pool bogus` said "A subcommand is required".
TEST_F(cli_daemon, an_unknown_subcommand_is_named_in_its_error) {
  for (auto args : {"pool bogus", "daemon bogus"}) {
    auto r = env.claudy(args);
    EXPECT_EQ(r.rc, 2) << args << ": " << r.out;
    EXPECT_NE(r.out.find("unknown command 'bogus'"), std::string::npos) << args << ": " << r.out;
    EXPECT_NE(r.out.find("status"), std::string::npos) << r.out;  // what is expected
  }
}

TEST_F(cli_daemon, a_hung_daemon_times_out_with_exit_3) {
  ASSERT_EQ(env.claudy("daemon start").rc, 0);
  auto pid = env.daemon_pid();
  ::kill(pid, SIGSTOP);
  auto r = env.claudy("daemon status");
  ::kill(pid, SIGCONT);
  EXPECT_EQ(r.rc, 3) << r.out;
  EXPECT_NE(r.out.find("did not answer"), std::string::npos) << r.out;
}

TEST_F(cli_daemon, plain_tcp_never_listens_beyond_loopback) {
  auto r = env.run(bin("hal9000d") + " run --listen 0.0.0.0:"
                   + std::to_string(env.port));
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_NE(r.out.find("without TLS"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("claudy daemon certs"), std::string::npos) << r.out;
}

// -- TLS ------------------------------------------------------------------------

struct cli_tls : cli_daemon {
  temp_dir rogue_home;

  void SetUp() override {
    auto r = env.claudy("daemon certs --client alice");
    ASSERT_EQ(r.rc, 0) << r.out;
    daemon_env rogue{rogue_home.path};
    r = rogue.claudy("daemon certs --client mallory");
    ASSERT_EQ(r.rc, 0) << r.out;
    env.vars["HAL9000_LISTEN"] = "0.0.0.0:" + std::to_string(env.port);
    r = env.claudy("daemon start");
    ASSERT_EQ(r.rc, 0) << r.out;
  }

  run_result remote(const std::string& extra, const std::string& cmd) {
    // A client that is not the daemon's host: no HAL9000_LISTEN, no home.
    daemon_env client{rogue_home / "client-home"};
    return client.claudy("--host 127.0.0.1:" + std::to_string(env.port) + " " + extra
                         + " " + cmd);
  }
};

TEST_F(cli_tls, right_client_is_accepted) {
  auto r = remote("--tls-dir " + (home / "tls/clients/alice"), "--json daemon status");
  ASSERT_EQ(r.rc, 0) << r.out;
  auto st = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(st.is_discarded()) << r.out;
  EXPECT_EQ(st["control"]["tls"], true);
  // The bundle's own token: the daemon knows the client by its name.
  EXPECT_EQ(st["user"], "tls-alice");
}

TEST_F(cli_tls, plain_tcp_is_refused) {
  auto r = remote("", "daemon status");
  EXPECT_EQ(r.rc, 3) << r.out;
}

TEST_F(cli_tls, a_certificate_from_another_ca_is_refused) {
  auto r = remote("--tls-dir " + (rogue_home / "tls/clients/mallory"), "daemon status");
  EXPECT_EQ(r.rc, 4) << r.out;
}

TEST_F(cli_tls, the_token_is_still_required) {
  std::ofstream{home / "wrong-token"} << std::string(64, 'b') << "\n";
  auto r = remote("--tls-dir " + (home / "tls/clients/alice") + " --token-file "
                    + (home / "wrong-token"),
                  "daemon status");
  EXPECT_EQ(r.rc, 4) << r.out;
}

TEST_F(cli_tls, local_claudy_uses_the_local_bundle) {
  auto r = env.claudy("daemon status");
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("mutual TLS"), std::string::npos) << r.out;
}

// Two hosts on one machine: the daemon in the root namespace, claudy in a
// network namespace of its own, linked by a veth pair.
TEST_F(cli_tls, remote_control_across_network_namespaces) {
  hal9000::test::netns_host remote_host{"h9c", 231};
  if (!remote_host.allowed)
    GTEST_SKIP() << remote_host.error;
  ASSERT_EQ(remote_host.error, "");
  auto& ns = remote_host.ns;
  auto& host_ip = remote_host.host_ip;
  daemon_env client{rogue_home / "ns-client"};
  auto r = client.run("ip netns exec " + ns + " " + bin("claudy") + " --host " + host_ip
                      + ":" + std::to_string(env.port) + " --tls-dir "
                      + (home / "tls/clients/alice") + " --json daemon status");
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("\"tls\": true"), std::string::npos) << r.out;
  // From the other host, plain TCP gets nowhere.
  r = client.run("ip netns exec " + ns + " " + bin("claudy") + " --host " + host_ip + ":"
                 + std::to_string(env.port) + " daemon status");
  EXPECT_EQ(r.rc, 3) << r.out;
}

// -- observability ------------------------------------------------------------------

TEST_F(cli_daemon, metrics_are_scraped_and_events_follow_the_pool) {
  auto metrics_port = free_port();
  env.vars["HAL9000_METRICS_PORT"] = std::to_string(metrics_port);
  env.vars["WORKER_IMAGE"] = "hal9000/test:busybox";
  // busybox runs as root: projects are id-mapped to uid 0 in it.
  env.vars["HAL9000_WORKER_UID"] = "0";
  env.vars["HAL9000_WORKER_GID"] = "0";
  env.vars["WORKER_COMMAND"] = "sleep 100000";
  env.vars["ENABLE_POOL_MANAGER"] = "true";
  env.vars["MIN_WARM_WORKERS"] = "1";
  ASSERT_EQ(env.claudy("daemon start").rc, 0);
  // One warm worker: its creation shows in the events and in the metrics.
  ASSERT_TRUE(wait_for([&] {
    return env.claudy("events").out.find("worker.warm") != std::string::npos;
  }, 30s)) << env.claudy("events").out;
  auto scrape = [&](const std::string& path) {
    return sh("curl -s http://127.0.0.1:" + std::to_string(metrics_port) + path);
  };
  auto text = scrape("/metrics");
  EXPECT_NE(text.find("hal9000_workers{state=\"warm\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("hal9000_docker_call_latency_ms_count{op=\"create\"}"),
            std::string::npos) << text;
  EXPECT_EQ(scrape("/healthz"), "ok\n");
  auto st = nlohmann::json::parse(scrape("/status"), nullptr, false);
  ASSERT_FALSE(st.is_discarded());
  EXPECT_EQ(st["pid"], env.daemon_pid());
  auto json = env.claudy("events --json");
  ASSERT_EQ(json.rc, 0) << json.out;
  auto first = json.out.substr(0, json.out.find('\n'));
  EXPECT_FALSE(nlohmann::json::parse(first, nullptr, false).is_discarded()) << json.out;
}

// Scripts (and the benchmarks' warm-worker polls) read `pool status` as
// JSON: --json gives one JSON object on stdout and nothing else, wherever
// the flag goes; without it, the human table.
TEST_F(cli_daemon, json_pool_status_is_json_wherever_the_flag_goes) {
  ASSERT_EQ(env.claudy("daemon start").rc, 0);
  for (auto args : {"--json pool status", "pool status --json", "pool --json status"}) {
    SCOPED_TRACE(args);
    // stdout only: a warning on stderr must not break a script's parse.
    int rc = -1;
    auto out = sh(env.env_prefix() + bin("claudy") + " " + args + " 2>/dev/null", &rc);
    EXPECT_EQ(rc, 0) << out;
    auto j = nlohmann::json::parse(out, nullptr, false);
    ASSERT_TRUE(j.is_object()) << out;
    EXPECT_TRUE(j.contains("warm") && j["warm"].is_number()) << out;
    EXPECT_TRUE(j.contains("workers") && j["workers"].is_array()) << out;
    EXPECT_EQ(j["op"], "status") << out;
  }
  auto human = env.claudy("pool status");
  EXPECT_EQ(human.rc, 0) << human.out;
  EXPECT_TRUE(nlohmann::json::parse(human.out, nullptr, false).is_discarded()) << human.out;
  EXPECT_NE(human.out.find("min "), std::string::npos) << human.out;
  auto sessions = env.claudy("sessions --json");
  EXPECT_EQ(sessions.rc, 0) << sessions.out;
  EXPECT_TRUE(nlohmann::json::parse(sessions.out, nullptr, false).is_array()) << sessions.out;
}
