// What a user waits for: `claudy PATH --detach` end to end (process start,
// connect, validate, claim, record, reply) with a warm pool and with the pool
// stopped (cold create+start) in the same run, and how long a restart takes
// to reconcile 50 running sessions after `kill -9` of the daemon (from
// `claudy daemon start` until the daemon answers and lists all 50; and until
// `daemon start` itself returns, which also waits for the first warm workers).
// Last, a burst: N `claudy PATH --detach` at once (distinct projects) on a
// pool scaled to N warm workers, as sessions per second (wall time from the
// first launch until the last one exits), and the pool's own claim latency
// of those sessions (pool_claim_latency.burstN).
//   session_bench [--warm N] [--cold N] [--sessions N] [--restarts N] [--burst N]
// Runs its own daemon (temporary HAL9000_HOME, free port, own daemon id,
// hal9000/test:busybox workers, no parent) and removes everything it made.

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "bench_util.hpp"
#include "runtime/late_bind.hpp"

using namespace hal9000::bench;
namespace fs = std::filesystem;

namespace {

std::string claudy;
std::string home;
std::string projects;
std::string daemon_id;

nlohmann::json claudy_json(const std::string& args) {
  return nlohmann::json::parse(capture(claudy + " --json " + args + " 2>/dev/null"), nullptr,
                               false);
}

size_t warm_workers() {
  auto j = claudy_json("pool status");
  return j.is_object() && j.contains("warm") ? j["warm"].get<size_t>() : 0;
}

size_t running_sessions() {
  auto j = claudy_json("sessions");
  size_t n = 0;
  if (j.is_array())
    for (auto& s : j)
      n += s["state"] == "running";
  return n;
}

int project_counter = 0;

std::string new_project() {
  auto p = projects + "/p" + std::to_string(++project_counter);
  fs::create_directories(p);
  return p;
}

// One `claudy PATH --detach` per sample; before_each runs untimed.
template <class F>
figure sessions_figure(const std::string& name, int n, F before_each, int& failures) {
  std::vector<double> samples;
  for (int i = 0; i < n; ++i) {
    before_each();
    auto p = new_project();
    auto t0 = clock::now();
    auto rc = run_quiet({claudy, p, "--detach"});
    samples.push_back(ms_since(t0));
    failures += rc != 0;
  }
  return summarize(name, samples);
}

int daemon_pid() {
  std::ifstream in{home + "/hal9000d.pid"};
  int pid = 0;
  in >> pid;
  return pid;
}

void cleanup() {
  run_quiet({claudy, "daemon", "stop", "--all"});
  if (auto pid = daemon_pid(); pid > 0 && ::kill(pid, 0) == 0)
    ::kill(pid, SIGKILL);
  capture("ids=$(docker ps -aq --filter label=hal9000.daemon=" + daemon_id
          + "); [ -z \"$ids\" ] || docker rm -f $ids >/dev/null 2>&1");
  // Never remove_all across a live bind mount into a project.
  auto mounts = hal9000::late_bind::mounts_dir(home);
  if (hal9000::late_bind::unmount_all_under(mounts)
      || !hal9000::late_bind::mounts_under(mounts).empty()) {
    std::fprintf(stderr, "session_bench: mounts left under %s; not removing it\n",
                 mounts.c_str());
    return;
  }
  fs::remove_all(home);
  fs::remove_all(projects);
}

} // namespace

int main(int argc, char** argv) {
  int warm_n = 30, cold_n = 15, total = 50, restarts = 3, burst_n = 20;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--warm") == 0)
      warm_n = std::atoi(argv[i + 1]);
    else if (std::strcmp(argv[i], "--cold") == 0)
      cold_n = std::atoi(argv[i + 1]);
    else if (std::strcmp(argv[i], "--sessions") == 0)
      total = std::atoi(argv[i + 1]);
    else if (std::strcmp(argv[i], "--restarts") == 0)
      restarts = std::atoi(argv[i + 1]);
    else if (std::strcmp(argv[i], "--burst") == 0)
      burst_n = std::atoi(argv[i + 1]);
  }
  auto bin_dir = fs::canonical("/proc/self/exe").parent_path().parent_path();
  claudy = (bin_dir / "claudy").string();
  char home_tmpl[] = "/tmp/hal9000-session-bench-XXXXXX";
  char proj_tmpl[] = "/tmp/hal9000-session-bench-projects-XXXXXX";
  if (!::mkdtemp(home_tmpl) || !::mkdtemp(proj_tmpl))
    return 1;
  home = home_tmpl;
  projects = proj_tmpl;
  daemon_id = "bench-" + std::to_string(::getpid());
  ::setenv("HAL9000_HOME", home.c_str(), 1);
  ::setenv("HAL9000_PORT", std::to_string(free_port()).c_str(), 1);
  ::setenv("HAL9000_DAEMON_ID", daemon_id.c_str(), 1);
  ::setenv("HAL9000_MANAGE_PARENT", "false", 1);
  ::setenv("WORKER_IMAGE", "hal9000/test:busybox", 1);
  ::setenv("HAL9000_WORKER_UID", "0", 1);  // busybox runs as root
  ::setenv("HAL9000_WORKER_GID", "0", 1);
  ::setenv("WORKER_COMMAND", "sleep 100000", 1);
  ::setenv("SKIP_IMAGE_PULL", "true", 1);
  ::setenv("ENABLE_POOL_MANAGER", "true", 1);
  ::setenv("MIN_WARM_WORKERS", "3", 1);
  // Room for the burst's deep pool (`pool scale N`); MIN keeps 3 otherwise.
  ::setenv("MAX_WARM_WORKERS", std::to_string(std::max(3, burst_n)).c_str(), 1);
  ::setenv("WORKER_MEMORY", "256m", 1);
  ::setenv("WORKER_CPUS", "1", 1);
  if (run_quiet({claudy, "daemon", "start"}) != 0) {
    std::fprintf(stderr, "session_bench: cannot start the daemon (see %s/logs)\n", home.c_str());
    cleanup();
    return 1;
  }
  int failures = 0;
  // Warm: each claim finds the pool full again (refill is not what we time).
  auto full = [] {
    if (!wait_until([] { return warm_workers() >= 3; }, std::chrono::seconds(30)))
      std::fprintf(stderr, "session_bench: the pool did not refill within 30 s\n");
  };
  auto warm = sessions_figure("claudy_detach.warm", warm_n, full, failures);
  // Where a warm claim's time goes: the pool's own claim latency (recorded
  // in each session), and the same command for a project already running
  // (process, connect, store lookup: everything but the claim).
  std::vector<double> pool_latency;
  auto listed = claudy_json("sessions");
  if (listed.is_array())
    for (auto& s : listed)
      if (s["served"] == "warm")
        pool_latency.push_back(s["claim_latency_ms"].get<double>());
  auto pool_claim = summarize("pool_claim_latency.warm", pool_latency);
  auto again = projects + "/p1";
  auto existing = summarize("claudy_detach.existing_session",
                            measure(warm_n, [&](int) {
                              failures += run_quiet({claudy, again, "--detach"}) != 0;
                            }));
  // Cold: the pool stopped, every claim is a create+start.
  run_quiet({claudy, "pool", "stop"});
  auto cold = sessions_figure("claudy_detach.cold", cold_n, [] {}, failures);
  run_quiet({claudy, "pool", "start"});
  // Up to `total` running sessions, then kill -9 and restart.
  for (int n = warm_n + cold_n; n < total; ++n)
    run_quiet({claudy, new_project(), "--detach"});
  auto running = running_sessions();
  // Two clocks per restart, both from `claudy daemon start`: until the
  // daemon answers with every session listed (the reconciliation), and
  // until `daemon start` returns (it also waits for the first warm workers).
  std::vector<double> reconcile, start_cmd;
  for (int r = 0; r < restarts; ++r) {
    auto pid = daemon_pid();
    if (pid <= 0 || ::kill(pid, SIGKILL) != 0)
      break;
    wait_until([pid] { return ::kill(pid, 0) != 0; }, std::chrono::seconds(10));
    auto t0 = clock::now();
    auto starter = start_quiet({claudy, "daemon", "start"});
    if (starter < 0)
      break;
    if (wait_until([&] { return running_sessions() == running; }, std::chrono::seconds(30)))
      reconcile.push_back(ms_since(t0));
    else
      std::fprintf(stderr, "session_bench: restart %d did not list the %zu sessions\n", r,
                   running);
    int status = 0;
    ::waitpid(starter, &status, 0);
    start_cmd.push_back(ms_since(t0));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      std::fprintf(stderr, "session_bench: restart %d: daemon start failed\n", r);
      break;
    }
  }
  // The burst: a deep pool, then every claim at once.
  double burst_rate = 0;
  int burst_failures = 0;
  figure burst_claims;
  if (burst_n > 0) {
    run_quiet({claudy, "pool", "scale", std::to_string(burst_n)});
    if (!wait_until([&] { return warm_workers() >= static_cast<size_t>(burst_n); },
                    std::chrono::seconds(120)))
      std::fprintf(stderr, "session_bench: the pool did not reach %d warm\n", burst_n);
    std::vector<std::string> paths;
    for (int i = 0; i < burst_n; ++i)
      paths.push_back(new_project());
    std::vector<pid_t> pids;
    auto t0 = clock::now();
    for (auto& p : paths)
      pids.push_back(start_quiet({claudy, p, "--detach"}));
    for (auto pid : pids) {
      int status = 0;
      if (pid < 0 || ::waitpid(pid, &status, 0) < 0 || !WIFEXITED(status)
          || WEXITSTATUS(status) != 0)
        ++burst_failures;
    }
    auto secs = ms_since(t0) / 1000.0;
    burst_rate = secs > 0 ? burst_n / secs : 0;
    failures += burst_failures;
    // The daemon's share: each burst session's own claim latency, as the
    // pool recorded it (what serialises claims shows here, apart from the
    // clients' start-up, which dominates the wall time on a loaded machine).
    std::vector<double> lat;
    auto listed = claudy_json("sessions");
    if (listed.is_array())
      for (auto& s : listed)
        if (std::find(paths.begin(), paths.end(), s.value("project_dir", "")) != paths.end())
          lat.push_back(s.value("claim_latency_ms", 0.0));
    burst_claims = summarize("pool_claim_latency.burst" + std::to_string(burst_n), lat);
    run_quiet({claudy, "pool", "scale", "3"});
  }
  print(warm);
  print(pool_claim);
  print(existing);
  print(cold, nullptr);
  // ratio: how many times longer a cold claim takes than a warm one.
  std::printf("{\"name\":\"claudy_detach.cold_over_warm\",\"p50\":%.2f,\"p99\":%.2f,"
              "\"unit\":\"x\",\"n\":%zu,\"baseline\":\"claudy_detach.warm\"}\n",
              warm.p50 > 0 ? cold.p50 / warm.p50 : 0.0, warm.p99 > 0 ? cold.p99 / warm.p99 : 0.0,
              cold.n);
  auto n = std::to_string(running);
  print(summarize("restart_reconcile." + n + "_sessions", reconcile));
  print(summarize("restart_daemon_start_cmd." + n + "_sessions", start_cmd));
  if (burst_n > 0)
    std::printf("{\"name\":\"claudy_detach.burst%d\",\"p50\":%.1f,\"p99\":%.1f,"
                "\"unit\":\"sessions/s\",\"n\":%d,\"failed\":%d}\n",
                burst_n, burst_rate, burst_rate, burst_n, burst_failures);
  if (burst_n > 0)
    print(burst_claims);
  if (failures > 0)
    std::fprintf(stderr, "session_bench: %d claims failed\n", failures);
  cleanup();
  return failures > 0 ? 1 : 0;
}
