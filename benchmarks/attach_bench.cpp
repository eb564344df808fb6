// What a user feels of a relayed terminal, side by side with `docker exec -it`
// in the same run, on one session of the real worker image (tmux; its pane
// runs cat, so a keystroke comes back as its echo):
//   attach.first_byte       `claudy attach` started on a pty -> first byte of
//                           the session's screen (baseline: docker exec -it
//                           NAME tmux attach)
//   attach.echo             one keystroke written to the pty -> its echo back
//   attach.echo.tls_netns   the same from another network namespace over
//                           mutual TLS (the daemon restarted with TLS)
//   exec.throughput         MB/s of `claudy exec NAME -- seq 1 N` (checked
//                           byte for byte against a local seq: nothing lost or
//                           reordered; baseline: docker exec)
//   attach.first_byte.base  with --base DIR: the same from DIR's claudy and
//                           hal9000d (say, main's build), a daemon and session
//                           of their own, sampled in turn with ours and
//                           docker's so that a loaded host weighs on all three
//                           (and .tls_netns: likewise over TLS, in turn with ours)
//   attach_bench [--n N] [--keys K] [--lines L] [--base DIR] [--first-byte-only]
// Runs its own daemon as a host process (bench_daemon.hpp: temporary
// HAL9000_HOME, free port, own daemon id, no parent) and removes everything it
// made on every way out, interrupted too: daemons, containers, mounts, then
// the network namespace. Needs root and hal9000/worker:local.

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_daemon.hpp"
#include "bench_util.hpp"

using namespace hal9000::bench;
namespace fs = std::filesystem;

namespace {

std::string claudy;

int sh(const std::string& cmd) {
  return run_quiet({"sh", "-c", cmd});
}

// A command on a pty of 24 x 80.
struct pty_run {
  pid_t pid = -1;
  int fd = -1;

  explicit pty_run(const std::string& cmdline, const std::vector<std::string>& env = {}) {
    winsize ws{};
    ws.ws_row = 24;
    ws.ws_col = 80;
    pid = ::forkpty(&fd, nullptr, nullptr, &ws);
    if (pid == 0) {
      ::setenv("TERM", "xterm-256color", 1);
      for (auto& e : env)
        ::putenv(const_cast<char*>(e.c_str()));
      ::execl("/bin/sh", "sh", "-c", ("exec " + cmdline).c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
  }
  ~pty_run() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    if (fd >= 0)
      ::close(fd);
  }
  // Waits for output; the bytes read, or "" at the deadline.
  std::string read_some(int timeout_ms) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0)
      return {};
    char buf[65536];
    auto n = ::read(fd, buf, sizeof(buf));
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string{};
  }
  // Reads until quiet for quiet_ms.
  void drain(int quiet_ms) {
    while (!read_some(quiet_ms).empty()) {
    }
  }
  bool write(const std::string& s) {
    return ::write(fd, s.data(), s.size()) == static_cast<ssize_t>(s.size());
  }
  // Detaches (tmux's C-b d) and waits for the exit.
  void detach() {
    write("\x02"
          "d");
    auto until = clock::now() + std::chrono::seconds(5);
    while (clock::now() < until) {
      read_some(50);
      int st = 0;
      if (::waitpid(pid, &st, WNOHANG) == pid) {
        pid = -1;
        return;
      }
    }
  }
};

// One sample of the time from start to the first screen byte (ms), or
// none.
std::optional<double> first_byte_once(const std::string& cmdline,
                                      const std::vector<std::string>& env = {}) {
  auto t0 = clock::now();
  pty_run p{cmdline, env};
  auto got = p.read_some(10000);
  if (got.empty())
    return std::nullopt;
  auto ms = ms_since(t0);
  p.drain(100);
  p.detach();
  return ms;
}

// Keystroke -> echo round trips through an attached client.
figure echo(const std::string& name, const std::string& cmdline, int keys, int& failures) {
  std::vector<double> samples;
  pty_run p{cmdline};
  if (p.read_some(10000).empty()) {
    ++failures;
    return summarize(name, samples);
  }
  p.drain(300);
  for (int i = 0; i < keys; ++i) {
    char c = static_cast<char>('a' + i % 26);
    auto t0 = clock::now();
    p.write(std::string(1, c));
    std::string got;
    while (got.find(c) == std::string::npos) {
      auto more = p.read_some(2000);
      if (more.empty())
        break;
      got += more;
    }
    if (got.find(c) == std::string::npos) {
      ++failures;
      continue;
    }
    samples.push_back(ms_since(t0));
    if (i % 40 == 39) {  // a fresh line now and then
      p.write("\r");
      p.drain(50);
    }
    p.drain(2);
  }
  p.detach();
  return summarize(name, samples);
}

// MB/s reading `cmdline` to its end; checks the bytes against expected.
figure throughput(const std::string& name, const std::string& cmdline,
                  const std::string& expected, int n, int& failures) {
  std::vector<double> samples;
  for (int i = 0; i < n; ++i) {
    auto t0 = clock::now();
    auto out = capture(cmdline);
    auto secs = ms_since(t0) / 1000.0;
    if (out != expected) {
      std::fprintf(stderr, "attach_bench: %s: %zu bytes, expected %zu, %s\n", name.c_str(),
                   out.size(), expected.size(), out.size() == expected.size() ? "differ" : "");
      ++failures;
      continue;
    }
    samples.push_back(static_cast<double>(out.size()) / 1e6 / secs);
  }
  return summarize(name, samples);
}

// A session of d's whose tmux pane echoes what is typed (cat on a cooked
// terminal), started by client (a command line).
std::string start_session(const bench_daemon& d, const std::string& tag,
                          const std::string& client) {
  auto dir = d.project(tag);
  ::chown(dir.c_str(), 1000, 1000);
  auto name = tag + "-" + std::to_string(::getpid());
  if (sh(client + " --detach --name " + name + " " + dir + " >/dev/null 2>&1") != 0)
    return "";
  if (!wait_until([&] { return sh("docker exec " + name + " tmux has-session -t claude") == 0; },
                  std::chrono::seconds(30)))
    return "";
  return name;
}

int run(int argc, char** argv) {
  int n = 20, keys = 200, lines = 10000000;
  std::string base_dir;
  bool first_byte_only = false;
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], "--first-byte-only") == 0)
      first_byte_only = true;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--base") == 0)
      base_dir = argv[i + 1];
    else if (std::strcmp(argv[i], "--n") == 0)
      n = std::atoi(argv[i + 1]);
    else if (std::strcmp(argv[i], "--keys") == 0)
      keys = std::atoi(argv[i + 1]);
    else if (std::strcmp(argv[i], "--lines") == 0)
      lines = std::atoi(argv[i + 1]);
  }
  if (sh("docker image inspect hal9000/worker:local >/dev/null 2>&1") != 0) {
    std::fprintf(stderr, "attach_bench: hal9000/worker:local is not built\n");
    return 1;
  }
  std::string base_claudy;
  if (!base_dir.empty()) {
    std::error_code ec;
    base_claudy = fs::canonical(base_dir + "/claudy", ec).string();
    if (ec) {
      std::fprintf(stderr, "attach_bench: no %s/claudy\n", base_dir.c_str());
      return 2;
    }
  }
  // What this run makes goes in reverse order on every way out (return,
  // exception, SIGINT/SIGTERM/SIGHUP): the baseline's daemon, then ours (each:
  // the daemon, its containers, its mounts, its directories), then the TLS
  // phase's network namespace and veth pair, which nothing needs by then.
  std::string netns, host_if;
  cleanup_guard remove_netns{[&] {
    if (!netns.empty())
      sh("ip netns del " + netns + " 2>/dev/null; ip link del " + host_if + " 2>/dev/null");
  }};
  // Host-process daemons: the build tree's hal9000d (and --base DIR's),
  // where container mode would run PARENT_IMAGE's.
  bench_daemon mine{"attach-bench", "abench-" + std::to_string(::getpid())};
  claudy = mine.claudy_path();
  auto port = mine.port();
  mine.workers("hal9000/worker:local",
               "tmux new-session -d -s claude -c /workspace cat && while tmux has-session -t "
               "claude 2>/dev/null; do sleep 1; done");
  mine.pool(1, 2);
  mine.limits("1g", "1", "200");
  if (mine.start(120) != 0)
    return 1;
  int failures = 0;
  auto name = start_session(mine, "bench", claudy);
  if (name.empty()) {
    std::fprintf(stderr, "attach_bench: no session\n");
    return 1;
  }
  // The baseline's daemon and session, beside ours: its settings are passed
  // to its claudy only (ours are this process's environment).
  std::optional<bench_daemon> base;
  std::string base_name;
  if (!base_dir.empty()) {
    base.emplace("attach-bench-base", mine.id() + "-base", false, base_claudy);
    // HAL9000_LISTEN too: once ours listens beyond loopback, the variable in
    // this process's environment names our port.
    base->set("HAL9000_LISTEN", "127.0.0.1:" + base->port());
    if (base->start(120) != 0
        || (base_name = start_session(*base, "base", base->sh_prefix() + base_claudy)).empty()) {
      std::fprintf(stderr, "attach_bench: no baseline daemon or session from %s\n",
                   base_dir.c_str());
      return 1;
    }
  }
  // In turn, so that the host's load at any moment weighs on each alike.
  std::vector<double> s_ours, s_docker, s_base;
  for (int i = 0; i < n; ++i) {
    auto take = [&](std::vector<double>& into, const std::string& cmd,
                    const std::vector<std::string>& env) {
      if (auto ms = first_byte_once(cmd, env))
        into.push_back(*ms);
      else
        ++failures;
    };
    // The order turns each round: what one leaves behind (the engine
    // finishing an exec) falls on each of the others alike.
    for (int k = 0; k < 3; ++k) {
      switch ((i + k) % 3) {
        case 0:
          take(s_ours, claudy + " attach " + name, {});
          break;
        case 1:
          take(s_docker, "docker exec -it " + name + " tmux attach -t claude", {});
          break;
        default:
          if (!base_name.empty())
            take(s_base, base_claudy + " attach " + base_name, base->env());
      }
    }
  }
  auto ours = summarize("attach.first_byte.claudy", s_ours);
  auto docker = summarize("attach.first_byte.docker_exec_it", s_docker);
  print(docker);
  print(ours, &docker);
  if (!base_name.empty()) {
    auto before = summarize("attach.first_byte.base", s_base);
    print(before, &docker);
    print(ours, &before);  // ratio > 1: ours is faster than the baseline
  }
  if (first_byte_only)
    return failures > 0 ? 1 : 0;
  auto echo_docker = echo("attach.echo.docker_exec_it",
                          "docker exec -it " + name + " tmux attach -t claude", keys, failures);
  auto echo_ours = echo("attach.echo.claudy", claudy + " attach " + name, keys, failures);
  print(echo_docker);
  print(echo_ours, &echo_docker);
  auto expected = capture("seq 1 " + std::to_string(lines));
  auto tp_docker = throughput("exec.throughput.docker_exec",
                              "docker exec " + name + " seq 1 " + std::to_string(lines),
                              expected, 3, failures);
  auto tp_ours = throughput("exec.throughput.claudy",
                            claudy + " exec " + name + " -- seq 1 " + std::to_string(lines),
                            expected, 3, failures);
  print(tp_docker, nullptr, "MB/s");
  // ratio here: docker's MB/s over ours (below 1: we are faster).
  print(tp_ours, &tp_docker, "MB/s");

  // Over mutual TLS from another network namespace: the daemon restarted
  // listening beyond loopback (the session is adopted), the client in a
  // namespace of its own behind a veth pair.
  auto id = std::to_string(::getpid() % 200 + 20);
  auto ns_if = "h9bn" + id;
  auto host_ip = "10.233." + id + ".1";
  if (mine.claudy({"daemon", "certs", "--client", "bench"}) == 0
      && mine.claudy({"daemon", "stop"}) == 0
      && (netns = "h9b" + id, host_if = "h9bh" + id,
          sh("ip netns add " + netns + " && ip link add " + host_if + " type veth peer name "
             + ns_if + " && ip link set " + ns_if + " netns " + netns + " && ip addr add "
             + host_ip + "/30 dev " + host_if + " && ip link set " + host_if
             + " up && ip netns exec " + netns + " ip addr add 10.233." + id + ".2/30 dev "
             + ns_if + " && ip netns exec " + netns + " ip link set " + ns_if
             + " up && ip netns exec " + netns + " ip link set lo up"))
           == 0) {
    // Set before the start, so that the cleanup's claudy reaches the daemon
    // as it then listens (TLS only, with the local bundle).
    mine.set("HAL9000_LISTEN", "0.0.0.0:" + port);
    // The TLS client's sessions act as the local user it maps to.
    mine.set("HAL9000_TLS_USERS", "bench=root");
    if (mine.claudy({"daemon", "start", "--timeout", "120"}) == 0) {
      auto remote = "ip netns exec " + netns + " " + claudy + " --host " + host_ip + ":" + port
                    + " --tls-dir " + mine.home() + "/tls/clients/bench";
      auto rname = start_session(mine, "tls", remote);
      // The baseline likewise: its own certificates, its daemon restarted
      // beyond loopback on its own port, a session from the namespace.
      std::string base_remote, base_rname;
      if (base) {
        if (base->claudy({"daemon", "certs", "--client", "bench"}) == 0
            && base->claudy({"daemon", "stop"}) == 0
            && (base->set("HAL9000_LISTEN", "0.0.0.0:" + base->port()),
                base->claudy({"daemon", "start", "--timeout", "120"}))
                 == 0) {
          base_remote = "ip netns exec " + netns + " " + base_claudy + " --host " + host_ip
                        + ":" + base->port() + " --tls-dir " + base->home()
                        + "/tls/clients/bench";
          base_rname = start_session(*base, "tlsbase", base_remote);
        }
        if (base_rname.empty()) {
          std::fprintf(stderr, "attach_bench: no baseline session over TLS\n");
          ++failures;
        }
      }
      if (!rname.empty()) {
        std::vector<double> t_ours, t_base;
        for (int i = 0; i < n; ++i)
          for (int k = 0; k < 2; ++k) {
            bool our_turn = (i + k) % 2 == 0;
            if (!our_turn && base_rname.empty())
              continue;
            auto ms = our_turn ? first_byte_once(remote + " attach " + rname)
                               : first_byte_once(base_remote + " attach " + base_rname);
            if (ms)
              (our_turn ? t_ours : t_base).push_back(*ms);
            else
              ++failures;
          }
        auto tls_first = summarize("attach.first_byte.claudy.tls_netns", t_ours);
        auto tls_echo = echo("attach.echo.claudy.tls_netns", remote + " attach " + rname, keys,
                             failures);
        print(tls_first, &docker);
        if (!base_rname.empty()) {
          auto tls_base = summarize("attach.first_byte.base.tls_netns", t_base);
          print(tls_base, &docker);
          print(tls_first, &tls_base);
        }
        print(tls_echo, &echo_docker);
      } else {
        std::fprintf(stderr, "attach_bench: no session from the other namespace\n");
        ++failures;
      }
    } else {
      ++failures;
    }
  } else {
    std::fprintf(stderr, "attach_bench: no TLS or network namespace here; skipped that part\n");
  }
  if (failures > 0)
    std::fprintf(stderr, "attach_bench: %d samples failed\n", failures);
  return failures > 0 ? 1 : 0;
}

} // namespace

int main(int argc, char** argv) {
  return guarded_main("attach_bench", run, argc, argv);
}
