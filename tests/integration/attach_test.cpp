// claudy attach / exec / logs end to end: the real claudy and hal9000d, the
// real Docker engine and the real worker image (tmux and Claude Code), a real
// pty (forkpty) as the user's terminal. The session's tmux pane runs a
// program that shows what it reads (cat -v: Ctrl-P appears as ^P), so what
// arrives is checked in the pane itself through the docker CLI, independent of
// the code under test.
#include <algorithm>
#include <cctype>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <memory>

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "runtime/late_bind.hpp"
#include "support/cli_process.hpp"
#include "support/netns_host.hpp"
#include "support/pty_process.hpp"
#include "support/temp_dir.hpp"
#include "support/test_env.hpp"

using namespace hal9000;
using namespace hal9000::test;
using namespace std::chrono_literals;

namespace {

// The session: tmux session "claude" whose pane shows every byte it reads,
// for as long as that tmux session lives (as the default command does).
constexpr const char* pane_command
  = "tmux new-session -d -s claude -x 80 -y 24 -c /workspace \"stty -icanon -isig -ixon"
    " -iexten; exec cat -v\" && while tmux has-session -t claude 2>/dev/null; do sleep 1; done";

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' '))
    s.pop_back();
  return s;
}

bool worker_image_present() {
  int rc = 0;
  sh("docker image inspect hal9000/worker:local >/dev/null 2>&1", &rc);
  return rc == 0;
}

// Every termios field a raw mode would change is back as it was.
bool same_modes(const termios& a, const termios& b) {
  return a.c_iflag == b.c_iflag && a.c_oflag == b.c_oflag && a.c_lflag == b.c_lflag
         && a.c_cflag == b.c_cflag;
}

struct attach_fixture : ::testing::Test {
  temp_dir home;
  temp_dir projects;
  std::unique_ptr<daemon_env> env;
  std::vector<std::string> sessions;

  void SetUp() override {
    if (::geteuid() != 0)
      GTEST_SKIP() << "sessions with late binding need root";
    if (!worker_image_present())
      GTEST_SKIP() << "hal9000/worker:local is not built (scripts/build-images worker)";
    env = std::make_unique<daemon_env>(home.path);
    env->vars["WORKER_IMAGE"] = "hal9000/worker:local";
    env->vars["SKIP_IMAGE_PULL"] = "true";
    env->vars["ENABLE_POOL_MANAGER"] = "true";
    env->vars["MIN_WARM_WORKERS"] = "1";
    env->vars["MAX_WARM_WORKERS"] = "2";
    env->vars["WORKER_MEMORY"] = "512m";
    env->vars["WORKER_CPUS"] = "1";
    env->vars["WORKER_PIDS_LIMIT"] = "200";
    env->vars["WORKER_COMMAND"] = pane_command;
  }

  void TearDown() override {
    if (!env)
      return;
    for (auto& s : sessions)
      env->claudy("stop " + s);
    env->claudy("daemon stop --all");
    env.reset();
    EXPECT_FALSE(late_bind::unmount_all_under(home.path));
  }

  void start_daemon() {
    auto r = env->claudy("daemon start");
    ASSERT_EQ(r.rc, 0) << r.out;
  }

  // A session on a fresh project owned by the image's user; waits for its tmux.
  std::string start_session(const std::string& tag, const std::string& token_file = "") {
    auto dir = projects / tag;
    sh("mkdir -p '" + dir + "' && chown 1000:1000 '" + dir + "'");
    auto name = tag + "-" + run_id();
    auto who = token_file.empty() ? "" : "--token-file " + token_file + " ";
    auto r = env->claudy(who + "--detach --name " + name + " " + dir);
    EXPECT_EQ(r.rc, 0) << r.out;
    if (r.rc != 0)
      return "";
    sessions.push_back(name);
    EXPECT_TRUE(wait_for([&] { return tmux(name, "has-session -t claude").second == 0; }, 20s))
      << "no tmux session in " << name;
    return name;
  }

  // A tmux command in the session's container (docker CLI: the check does
  // not go through the code under test). {output, exit status}.
  std::pair<std::string, int> tmux(const std::string& name, const std::string& args) {
    int rc = 0;
    auto out = sh("docker exec " + name + " tmux " + args + " 2>/dev/null", &rc);
    return {out, rc};
  }

  std::string pane(const std::string& name) {
    return tmux(name, "capture-pane -p -t claude").first;
  }

  std::string clients(const std::string& name) {
    return tmux(name, "list-clients -F '#{client_termname} #{client_width}x#{client_height}"
                      " #{client_readonly}'")
      .first;
  }

  // Makes the session's pane record every byte it gets, raw and unechoed,
  // in /tmp/pane-bytes (so a byte that no key sent shows), and waits until
  // it runs.
  bool record_pane_bytes(const std::string& name) {
    tmux(name, "respawn-pane -k -t claude \"stty raw -echo; exec cat > /tmp/pane-bytes\"");
    return wait_for([&] { return pane_bytes(name) == ""; }, 10s);
  }

  // What the pane recorded, as od -An -c prints it ("" when nothing; a
  // missing file reads as "missing").
  std::string pane_bytes(const std::string& name) {
    int rc = 0;
    auto out = sh("docker exec " + name + " sh -c 'od -An -c /tmp/pane-bytes' 2>/dev/null", &rc);
    return rc == 0 ? trim(out) : "missing";
  }

  std::string claudy_cmd(const std::string& args) const {
    return env->env_prefix() + bin("claudy") + " " + args;
  }

  // After the daemon went away under an attach: claudy exits 3 in plain
  // words with the terminal restored, its tmux client goes, the session
  // stays, and the pane got no byte (util-linux script turns its stdin's end
  // into a ^D the tmux client would type into the pane).
  void expect_cut_off_cleanly(pty_process& p, const std::string& name) {
    EXPECT_EQ(p.wait_exit(10s), 3) << p.output();
    // The last bytes may still be on their way through the pty.
    EXPECT_TRUE(p.wait_output("lost the connection to hal9000d", 5s)) << p.output();
    EXPECT_EQ(p.output().find("exit_reason"), std::string::npos) << p.output();
    EXPECT_TRUE(same_modes(p.modes(), p.initial_modes()));
    auto settled = [&] { return clients(name).empty() || !pane_bytes(name).empty(); };
    EXPECT_TRUE(wait_for(settled, 10s)) << clients(name);
    EXPECT_TRUE(clients(name).empty()) << clients(name);
    EXPECT_EQ(pane_bytes(name), "");
    EXPECT_EQ(tmux(name, "has-session -t claude").second, 0);
  }
};

} // namespace

TEST_F(attach_fixture, a_single_ctrl_p_reaches_the_session_and_c_b_d_detaches) {
  start_daemon();
  auto name = start_session("ctrlp");
  ASSERT_FALSE(name.empty());
  pty_process p{claudy_cmd("attach " + name), 30, 100};
  ASSERT_TRUE(wait_for([&] { return !clients(name).empty(); }, 15s)) << p.output();
  // One Ctrl-P and nothing after it: no detach sequence may hold it back.
  ASSERT_TRUE(p.write("\x10"));
  EXPECT_TRUE(wait_for([&] { return pane(name).find("^P") != std::string::npos; }, 3s))
    << pane(name);
  // Ctrl-Q, Ctrl-C, Ctrl-Z, UTF-8 pass as bytes (the pane's terminal is not
  // in signal mode: cat -v shows them).
  ASSERT_TRUE(p.write("\x11\x03\x1a" "\xc3\xa9" "x"));
  EXPECT_TRUE(wait_for([&] { return pane(name).find("^Q^C^ZM-CM-)x") != std::string::npos; },
                       3s))
    << pane(name);
  // tmux's own detach key: claudy ends with 0, the terminal as it was.
  ASSERT_TRUE(p.write("\x02"
                      "d"));
  EXPECT_EQ(p.wait_exit(10s), 0) << p.output();
  EXPECT_TRUE(same_modes(p.modes(), p.initial_modes()));
  EXPECT_TRUE(wait_for([&] { return clients(name).empty(); }, 5s));
  EXPECT_EQ(tmux(name, "has-session -t claude").second, 0) << "the session must live on";
}

TEST_F(attach_fixture, size_and_term_are_the_clients_and_resizes_follow) {
  start_daemon();
  auto name = start_session("size");
  ASSERT_FALSE(name.empty());
  pty_process p{"env COLORTERM=truecolor LANG=C.UTF-8 " + claudy_cmd("attach " + name), 40,
                120, "screen-256color"};
  EXPECT_TRUE(wait_for([&] { return clients(name).find("screen-256color 120x40") != std::string::npos; },
                       15s))
    << clients(name) << p.output();
  p.resize(33, 101);
  EXPECT_TRUE(wait_for([&] { return clients(name).find("screen-256color 101x33") != std::string::npos; },
                       5s))
    << clients(name);
  // COLORTERM and LANG reach the tmux session's environment (new windows).
  auto envs = tmux(name, "show-environment -t claude").first;
  EXPECT_NE(envs.find("COLORTERM=truecolor"), std::string::npos) << envs;
  EXPECT_NE(envs.find("LANG=C.UTF-8"), std::string::npos) << envs;
}

// After an attach, the daemon keeps an exec ready in the container (its
// terminal made, echo off, waiting for one line of settings): the next
// attach is served by it. That one must be exactly like a fresh one: the
// client's size, TERM, COLORTERM and LANG, read-only when asked, nothing of
// the settings line on the screen or in the pane, keystrokes passing.
TEST_F(attach_fixture, an_attach_served_by_the_ready_exec_is_like_a_fresh_one) {
  start_daemon();
  auto name = start_session("spare");
  ASSERT_FALSE(name.empty());
  // The ready exec, seen through the docker CLI: its shell waits in `read`.
  auto spare_ready = [&] {
    int rc = 0;
    auto ps = sh("docker exec " + name + " ps -eo args 2>/dev/null", &rc);
    return rc == 0 && ps.find("IFS= read -r s") != std::string::npos
           && ps.find("sh -c") != std::string::npos;
  };
  {
    pty_process first{claudy_cmd("attach " + name), 24, 80};
    ASSERT_TRUE(wait_for([&] { return !clients(name).empty(); }, 15s)) << first.output();
    ASSERT_TRUE(first.write("\x02"
                            "d"));
    EXPECT_EQ(first.wait_exit(10s), 0) << first.output();
  }
  ASSERT_TRUE(wait_for(spare_ready, 15s)) << "no ready exec after an attach";
  {
    pty_process p{"env COLORTERM=24bit LANG=C.UTF-8 " + claudy_cmd("attach " + name), 37, 111,
                  "screen-256color"};
    EXPECT_TRUE(wait_for([&] { return clients(name).find("screen-256color 111x37 0") != std::string::npos; },
                         15s))
      << clients(name) << p.output();
    ASSERT_TRUE(p.write("\x10typed-after-spare"));
    EXPECT_TRUE(wait_for([&] { return pane(name).find("^Ptyped-after-spare") != std::string::npos; },
                         5s))
      << pane(name);
    auto envs = tmux(name, "show-environment -t claude").first;
    EXPECT_NE(envs.find("COLORTERM=24bit"), std::string::npos) << envs;
    EXPECT_EQ(p.output().find("export"), std::string::npos) << p.output();
    EXPECT_EQ(pane(name).find("export"), std::string::npos) << pane(name);
    EXPECT_EQ(pane(name).find("HAL9000"), std::string::npos) << pane(name);
    ASSERT_TRUE(p.write("\x02"
                        "d"));
    EXPECT_EQ(p.wait_exit(10s), 0) << p.output();
    EXPECT_TRUE(same_modes(p.modes(), p.initial_modes()));
  }
  // Read-only through a ready exec too; this one was sized ahead like the
  // attach before (111x37), which this client's size matches.
  ASSERT_TRUE(wait_for(spare_ready, 15s)) << "no ready exec after the second attach";
  pty_process ro{claudy_cmd("attach --read-only " + name), 37, 111};
  EXPECT_TRUE(wait_for([&] { return clients(name).find("xterm-256color 111x37 1") != std::string::npos; },
                       15s))
    << clients(name) << ro.output();
  ASSERT_TRUE(ro.write("typed-by-watcher"));
  ASSERT_TRUE(ro.write("\x02"
                       "d"));
  EXPECT_EQ(ro.wait_exit(10s), 0) << ro.output();
  EXPECT_EQ(pane(name).find("typed-by-watcher"), std::string::npos) << pane(name);
}

TEST_F(attach_fixture, several_clients_and_a_read_only_one) {
  start_daemon();
  auto name = start_session("multi");
  ASSERT_FALSE(name.empty());
  pty_process a{claudy_cmd("attach " + name), 24, 80};
  pty_process ro{claudy_cmd("attach --read-only " + name), 24, 80};
  ASSERT_TRUE(wait_for([&] {
    auto c = clients(name);
    return std::count(c.begin(), c.end(), '\n') == 2;
  }, 15s)) << clients(name);
  EXPECT_NE(clients(name).find(" 1"), std::string::npos) << "one client is read-only";
  ASSERT_TRUE(ro.write("typed-by-watcher"));
  ASSERT_TRUE(a.write("typed-by-user"));
  ASSERT_TRUE(wait_for([&] { return pane(name).find("typed-by-user") != std::string::npos; }, 5s));
  // The watcher sees what the user typed, and its own keys went nowhere.
  EXPECT_TRUE(ro.wait_output("typed-by-user", 5s));
  EXPECT_EQ(pane(name).find("typed-by-watcher"), std::string::npos) << pane(name);
  ASSERT_TRUE(ro.write("\x02"
                       "d"));
  EXPECT_EQ(ro.wait_exit(10s), 0) << ro.output();
  EXPECT_TRUE(same_modes(ro.modes(), ro.initial_modes()));
}

TEST_F(attach_fixture, daemon_killed_mid_attach_is_exit_3_with_the_terminal_restored) {
  start_daemon();
  auto name = start_session("dkill");
  ASSERT_FALSE(name.empty());
  pty_process p{claudy_cmd("attach " + name), 24, 80};
  ASSERT_TRUE(wait_for([&] { return !clients(name).empty(); }, 15s)) << p.output();
  EXPECT_FALSE(same_modes(p.modes(), p.initial_modes())) << "attached in raw mode";
  auto pid = env->daemon_pid();
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(record_pane_bytes(name)) << pane_bytes(name);
  ::kill(pid, SIGKILL);
  expect_cut_off_cleanly(p, name);
}

TEST_F(attach_fixture, daemon_stopped_mid_attach_types_nothing_into_the_session) {
  start_daemon();
  auto name = start_session("dstop");
  ASSERT_FALSE(name.empty());
  pty_process p{claudy_cmd("attach " + name), 24, 80};
  ASSERT_TRUE(wait_for([&] { return !clients(name).empty(); }, 15s)) << p.output();
  ASSERT_TRUE(record_pane_bytes(name)) << pane_bytes(name);
  auto r = env->claudy("daemon stop");
  EXPECT_EQ(r.rc, 0) << r.out;
  expect_cut_off_cleanly(p, name);
}

TEST_F(attach_fixture, client_killed_mid_attach_leaves_the_session_running) {
  start_daemon();
  auto name = start_session("ckill");
  ASSERT_FALSE(name.empty());
  {
    pty_process p{claudy_cmd("attach " + name), 24, 80};
    ASSERT_TRUE(wait_for([&] { return !clients(name).empty(); }, 15s)) << p.output();
    ::kill(p.pid(), SIGKILL);
    p.wait_exit(5s);
  }
  // The relay lets go of its exec: the tmux client goes, the session stays.
  EXPECT_TRUE(wait_for([&] { return clients(name).empty(); }, 10s)) << clients(name);
  EXPECT_EQ(tmux(name, "has-session -t claude").second, 0);
  auto r = env->claudy("--json sessions");
  EXPECT_NE(r.out.find(name), std::string::npos) << r.out;
  // And one can attach again.
  pty_process again{claudy_cmd("attach " + name), 24, 80};
  EXPECT_TRUE(wait_for([&] { return !clients(name).empty(); }, 15s)) << again.output();
}

TEST_F(attach_fixture, refusals_unknown_session_no_terminal_and_another_users_session) {
  start_daemon();
  auto name = start_session("refuse");
  ASSERT_FALSE(name.empty());
  // Unknown session: 5.
  pty_process unknown{claudy_cmd("attach no-such-session-" + run_id()), 24, 80};
  EXPECT_EQ(unknown.wait_exit(10s), 5) << unknown.output();
  EXPECT_TRUE(same_modes(unknown.modes(), unknown.initial_modes()));
  // No terminal on stdin: a usage error at once, not a hang.
  auto t0 = std::chrono::steady_clock::now();
  auto r = env->claudy("attach " + name);  // stdin is /dev/null
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_NE(r.out.find("needs a terminal"), std::string::npos) << r.out;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  // Another user (a real one, with the token root issued for them): refused.
  auto login = "h9a" + std::to_string(::getpid() % 100000);
  int rc = 0;
  sh("useradd --no-create-home --shell /usr/sbin/nologin " + login + " 2>&1", &rc);
  ASSERT_EQ(rc, 0) << "useradd " << login;
  struct remove_user {
    std::string login;
    ~remove_user() { sh("userdel " + login + " 2>/dev/null"); }
  } guard{login};
  auto* pw = ::getpwnam(login.c_str());
  ASSERT_NE(pw, nullptr);
  auto uid = std::to_string(pw->pw_uid);
  r = env->claudy("setup --user " + login + " --no-key");
  ASSERT_EQ(r.rc, 0) << r.out;
  auto token = home / ("auth/users/" + uid + "/token");
  pty_process other{claudy_cmd("--token-file " + token + " attach " + name), 24, 80};
  EXPECT_EQ(other.wait_exit(10s), 4) << other.output();
  EXPECT_TRUE(other.wait_output("another user", 5s)) << other.output();
  r = env->claudy("--token-file " + token + " exec " + name + " -- true");
  EXPECT_EQ(r.rc, 4) << r.out;
  // Root goes into any session; the audit log names who tried what.
  auto audit = sh("cat " + (home / "logs/audit.log"));
  EXPECT_NE(audit.find("uid-" + uid), std::string::npos) << audit;
  EXPECT_NE(audit.find("not the owner"), std::string::npos) << audit;
}

TEST_F(attach_fixture, exec_streams_both_ways_and_returns_the_exit_code_and_logs_show_the_pane) {
  start_daemon();
  auto name = start_session("exec");
  ASSERT_FALSE(name.empty());
  auto r = env->run("sh -c \"printf 'one\\ntwo\\n' | " + bin("claudy") + " exec " + name
                    + " -- sh -c 'cat; echo to-err >&2; pwd; exit 7' 2>" + (home / "err")
                    + "\"");
  EXPECT_EQ(r.rc, 7) << r.out;
  EXPECT_EQ(r.out, "one\ntwo\n/workspace\n");
  EXPECT_EQ(trim(sh("cat " + (home / "err"))), "to-err");
  // Every byte value, both ways, nothing lost or reordered.
  r = env->run("sh -c \"head -c 3000000 /dev/urandom > " + (home / "blob") + "; "
               + bin("claudy") + " exec " + name + " -- cat < " + (home / "blob") + " > "
               + (home / "back") + "; cmp " + (home / "blob") + " " + (home / "back") + "\"");
  EXPECT_EQ(r.rc, 0) << r.out;
  // An unknown session: 5.
  r = env->claudy("exec no-such-" + run_id() + " -- true");
  EXPECT_EQ(r.rc, 5) << r.out;
  // What the pane shows, with its history.
  pty_process p{claudy_cmd("attach " + name), 24, 80};
  ASSERT_TRUE(wait_for([&] { return !clients(name).empty(); }, 15s));
  p.write("hello-logs");
  ASSERT_TRUE(wait_for([&] { return pane(name).find("hello-logs") != std::string::npos; }, 5s));
  r = env->claudy("logs " + name);
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("hello-logs"), std::string::npos) << r.out;
  // The audit log has each attach and exec with who and how long.
  p.write("\x02"
          "d");
  p.wait_exit(10s);
  // The execs above ended long ago: wait for the attach's own end.
  EXPECT_TRUE(wait_for([&] {
    return sh("grep '\"terminal.end\"' " + (home / "logs/audit.log")
              + " | grep -c '\"mode\":\"attach\"'")
           != "0\n";
  }, 5s));
  auto audit = sh("grep terminal.end " + (home / "logs/audit.log"));
  EXPECT_NE(audit.find("\"duration_s\""), std::string::npos) << audit;
  EXPECT_NE(audit.find("\"mode\":\"exec\""), std::string::npos) << audit;
  EXPECT_NE(audit.find("\"mode\":\"attach\""), std::string::npos) << audit;
  EXPECT_NE(audit.find("\"who\":\"root"), std::string::npos) << audit;
}

TEST_F(attach_fixture, exec_with_a_tty_passes_every_byte_as_typed) {
  start_daemon();
  auto name = start_session("bytes");
  ASSERT_FALSE(name.empty());
  // od shows each byte it reads from its (raw) terminal: no tmux in between.
  pty_process p{claudy_cmd("exec -t " + name
                           + " -- sh -c 'stty raw -echo; od -An -tx1 -v -w1; stty sane'"),
                24, 80};
  std::string keys = "\x10\x11\x03\x1a\x1b[A\x1b[200~p\xc3\xa9\x1b[201~\x04";
  // Wait for od to be reading (stty raw done) before typing.
  ASSERT_TRUE(wait_for([&] {
    return sh("docker exec " + name + " sh -c 'pgrep -x od >/dev/null && echo y'") == "y\n";
  }, 15s));
  ASSERT_TRUE(p.write(keys.substr(0, keys.size() - 1)));
  std::string want;
  char hex[8];
  for (size_t i = 0; i + 1 < keys.size(); ++i) {
    std::snprintf(hex, sizeof(hex), " %02x", static_cast<unsigned char>(keys[i]));
    want += hex;
  }
  // In raw mode od gets ^D as a byte too: end it from inside instead.
  auto seen = [&] {
    std::string got;
    auto out = p.output();
    for (size_t i = 0; i + 3 <= out.size(); ++i)
      if (out[i] == ' ' && std::isxdigit(static_cast<unsigned char>(out[i + 1]))
          && std::isxdigit(static_cast<unsigned char>(out[i + 2])))
        got += out.substr(i, 3);
    return got;
  };
  EXPECT_TRUE(wait_for([&] { return seen() == want; }, 5s)) << seen() << " vs " << want;
  sh("docker exec " + name + " pkill -x od");
  EXPECT_GE(p.wait_exit(10s), 0);
  EXPECT_TRUE(same_modes(p.modes(), p.initial_modes()));
}

// Two hosts on one machine: the daemon in the root network namespace with
// TLS, claudy in a namespace of its own, linked by a veth pair.
TEST_F(attach_fixture, remote_attach_over_tls_across_network_namespaces) {
  auto r = env->claudy("daemon certs --client alice");
  ASSERT_EQ(r.rc, 0) << r.out;
  env->vars["HAL9000_LISTEN"] = "0.0.0.0:" + std::to_string(env->port);
  // A TLS client acts as the local user the daemon maps it to (here root,
  // who acts as the project's owner).
  env->vars["HAL9000_TLS_USERS"] = "alice=root";
  start_daemon();
  hal9000::test::netns_host remote_host{"h9a", 232};
  if (!remote_host.allowed)
    GTEST_SKIP() << remote_host.error;
  ASSERT_EQ(remote_host.error, "");
  auto& ns = remote_host.ns;
  auto& host_ip = remote_host.host_ip;
  // The client host has no Docker socket and no docker CLI in its path; only
  // the bundle (certificates and the token).
  temp_dir client_home;
  auto bundle = home / "tls/clients/alice";
  auto remote = "ip netns exec " + ns + " env -i PATH=/nonexistent HAL9000_HOME="
                + client_home.path + " " + bin("claudy") + " --host " + host_ip + ":"
                + std::to_string(env->port) + " --tls-dir " + bundle + " ";
  // The remote user starts the session (a path on the daemon's host) and
  // attaches to it: theirs, by their bundle's token.
  auto dir = projects / "remote";
  sh("mkdir -p '" + dir + "' && chown 1000:1000 '" + dir + "'");
  auto name = "remote-" + run_id();
  auto started = env->run(remote + "--detach --name " + name + " " + dir);
  ASSERT_EQ(started.rc, 0) << started.out;
  sessions.push_back(name);
  ASSERT_TRUE(wait_for([&] { return tmux(name, "has-session -t claude").second == 0; }, 20s));
  pty_process p{remote + "attach " + name, 27, 91};
  ASSERT_TRUE(wait_for([&] { return clients(name).find(" 91x27") != std::string::npos; }, 15s))
    << clients(name) << p.output();
  ASSERT_TRUE(p.write("over-tls\x10"));
  EXPECT_TRUE(wait_for([&] { return pane(name).find("over-tls^P") != std::string::npos; }, 5s))
    << pane(name);
  p.resize(30, 95);
  EXPECT_TRUE(wait_for([&] { return clients(name).find(" 95x30") != std::string::npos; }, 5s))
    << clients(name);
  ASSERT_TRUE(p.write("\x02"
                      "d"));
  EXPECT_EQ(p.wait_exit(10s), 0) << p.output();
  EXPECT_TRUE(same_modes(p.modes(), p.initial_modes()));
}

// A link that drops silently (no FIN, no RST: the veth taken down) ends no
// TCP stream: the client notices the relay's missing heartbeat and leaves
// within its deadline (5 s), exit 3, the terminal restored.
TEST_F(attach_fixture, remote_attach_leaves_with_exit_3_when_the_link_drops) {
  auto r = env->claudy("daemon certs --client alice");
  ASSERT_EQ(r.rc, 0) << r.out;
  env->vars["HAL9000_LISTEN"] = "0.0.0.0:" + std::to_string(env->port);
  env->vars["HAL9000_TLS_USERS"] = "alice=root";
  start_daemon();
  hal9000::test::netns_host remote_host{"h9d", 233};
  if (!remote_host.allowed)
    GTEST_SKIP() << remote_host.error;
  ASSERT_EQ(remote_host.error, "");
  temp_dir client_home;
  auto bundle = home / "tls/clients/alice";
  auto remote = "ip netns exec " + remote_host.ns + " env -i PATH=/nonexistent HAL9000_HOME="
                + client_home.path + " " + bin("claudy") + " --host " + remote_host.host_ip
                + ":" + std::to_string(env->port) + " --tls-dir " + bundle + " ";
  // Theirs (the remote user starts it): a path on the daemon's host.
  auto dir = projects / "linkdrop";
  sh("mkdir -p '" + dir + "' && chown 1000:1000 '" + dir + "'");
  auto name = "linkdrop-" + run_id();
  auto started = env->run(remote + "--detach --name " + name + " " + dir);
  ASSERT_EQ(started.rc, 0) << started.out;
  sessions.push_back(name);
  ASSERT_TRUE(wait_for([&] { return tmux(name, "has-session -t claude").second == 0; }, 20s));
  pty_process p{remote + "attach " + name, 24, 80};
  ASSERT_TRUE(wait_for([&] { return !clients(name).empty(); }, 15s)) << p.output();
  ASSERT_TRUE(p.write("before-drop"));
  ASSERT_TRUE(wait_for([&] { return pane(name).find("before-drop") != std::string::npos; }, 5s))
    << pane(name);
  auto dropped = std::chrono::steady_clock::now();
  ASSERT_TRUE(remote_host.set_link(false));
  EXPECT_EQ(p.wait_exit(15s), 3) << p.output();
  auto took = std::chrono::steady_clock::now() - dropped;
  EXPECT_LT(took, 9s) << "the client should leave within its 5 s deadline";
  EXPECT_TRUE(p.wait_output("no answer for 5 s", 5s)) << p.output();
  EXPECT_TRUE(same_modes(p.modes(), p.initial_modes()));
  EXPECT_EQ(tmux(name, "has-session -t claude").second, 0);
}
