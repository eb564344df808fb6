#pragma once
// What every benchmark shares: timing samples and printing one JSON object
// per figure: {"name", "p50", "p99", "unit", "n"[, "baseline"][, "ratio"]}.

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace hal9000::bench {

using clock = std::chrono::steady_clock;

/// A command's stdout (the command lines are ours: no user input in them);
/// *rc gets its exit status (-1 when it did not exit normally).
inline std::string capture(const std::string& cmd, int* rc = nullptr) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) {
    if (rc)
      *rc = -1;
    return out;
  }
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0)
    out.append(buf, n);
  int st = ::pclose(p);
  if (rc)
    *rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return out;
}

/// Polls cond every `poll` until it holds or the deadline passes.
template <class F>
bool wait_until(F cond, std::chrono::milliseconds deadline,
                std::chrono::milliseconds poll = std::chrono::milliseconds(1)) {
  auto until = clock::now() + deadline;
  while (clock::now() < until) {
    if (cond())
      return true;
    std::this_thread::sleep_for(poll);
  }
  return cond();
}

struct figure {
  std::string name;
  double p50 = 0;
  double p99 = 0;
  size_t n = 0;
};

inline double ms_since(clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(clock::now() - t0).count();
}

inline figure summarize(std::string name, std::vector<double> samples) {
  figure f{std::move(name), 0, 0, samples.size()};
  if (samples.empty())
    return f;
  std::sort(samples.begin(), samples.end());
  auto at = [&](double q) {
    return samples[static_cast<size_t>(q * static_cast<double>(samples.size() - 1) + 0.5)];
  };
  f.p50 = at(0.50);
  f.p99 = at(0.99);
  return f;
}

/// Runs f(i) n times and returns the wall time of each run in ms.
template <class F>
std::vector<double> measure(int n, F f) {
  std::vector<double> out;
  out.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    auto t0 = clock::now();
    f(i);
    out.push_back(ms_since(t0));
  }
  return out;
}

/// Prints a figure; with a baseline, also the baseline's name and the ratio
/// baseline.p50 / f.p50 (how many times faster f is).
inline void print(const figure& f, const figure* baseline = nullptr,
                  const char* unit = "ms") {
  std::printf("{\"name\":\"%s\",\"p50\":%.3f,\"p99\":%.3f,\"unit\":\"%s\",\"n\":%zu",
              f.name.c_str(), f.p50, f.p99, unit, f.n);
  if (baseline && f.p50 > 0)
    std::printf(",\"baseline\":\"%s\",\"ratio\":%.2f", baseline->name.c_str(),
                baseline->p50 / f.p50);
  std::printf("}\n");
  std::fflush(stdout);
}

// -- processes ----------------------------------------------------------------------

/// Starts argv (searched on PATH) with stdout and stderr to /dev/null and
/// env (NAME=VALUE each) over this process's environment; its pid, or -1
/// when it cannot start.
inline pid_t start_quiet(std::vector<std::string> args,
                         const std::vector<std::string>& env = {}) {
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> vars = env;
  for (char** e = environ; *e; ++e) {
    std::string kv{*e};
    auto key = kv.substr(0, kv.find('=') + 1);
    bool overridden = false;
    for (auto& o : env)
      overridden = overridden || o.compare(0, key.size(), key) == 0;
    if (!overridden)
      vars.push_back(std::move(kv));
  }
  std::vector<char*> envp;
  for (auto& v : vars)
    envp.push_back(v.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  if (posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), envp.data()) != 0)
    pid = -1;
  posix_spawn_file_actions_destroy(&fa);
  return pid;
}

/// Runs argv quietly (env as for start_quiet) to its end; its exit status
/// (-1: did not start or died of a signal).
inline int run_quiet(std::vector<std::string> args, const std::vector<std::string>& env = {}) {
  auto pid = start_quiet(std::move(args), env);
  if (pid < 0)
    return -1;
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/// A loopback TCP port nobody listens on right now.
inline uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

} // namespace hal9000::bench
