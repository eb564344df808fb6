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
//                 [--modes host,container]
// Each mode in one run, side by side: `host` runs hal9000d as a host process
// (--host-process), `container` inside its parent container (PARENT_IMAGE,
// default hal9000/parent:local, which must carry hal9000d); figures of the
// container mode are named "container.<name>", with the host figure as
// baseline. Each mode runs its own daemon (bench_daemon.hpp: temporary
// HAL9000_HOME, free port, own daemon id and parent prefix;
// hal9000/test:busybox workers, no namespace owner) and removes everything it
// made, also when interrupted.

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "bench_daemon.hpp"
#include "bench_util.hpp"

using namespace hal9000::bench;

namespace {

std::string claudy;
bench_daemon* d = nullptr;  // the mode's daemon, while it runs

size_t running_sessions() {
  auto j = d->json("sessions");
  size_t n = 0;
  if (j.is_array())
    for (auto& s : j)
      n += s["state"] == "running";
  return n;
}

int project_counter = 0;

std::string new_project() {
  return d->project("p" + std::to_string(++project_counter));
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

struct mode_figures {
  std::vector<figure> all;  // in print order
  int failures = 0;
  bool ran = false;
  int burst_n = 0;
  int burst_failures = 0;
  double burst_rate = 0;  // sessions/s
  figure burst_claims;    // the pool's claim latency of the burst's sessions
};

// One mode's whole run; figures named prefix + name.
mode_figures run_mode(const std::string& mode, const std::string& prefix, int warm_n,
                      int cold_n, int total, int restarts, int burst_n) {
  mode_figures out;
  project_counter = 0;
  // Its own HAL9000_HOME, port, daemon id and parent prefix; removed at the
  // end of the mode, however it ends.
  bench_daemon mine{"session-bench", "bench-" + std::to_string(::getpid()) + "-" + mode};
  d = &mine;
  mine.set("HAL9000_DAEMON_MODE", mode);
  mine.workers("hal9000/test:busybox", "sleep 100000");
  // Room for the burst's deep pool (`pool scale N`); MIN keeps 3 otherwise.
  mine.pool(3, std::max(3, burst_n));
  mine.limits("256m", "1");
  if (mine.start(120) != 0) {
    out.failures = 1;
    return out;
  }
  out.ran = true;
  int& failures = out.failures;
  // Warm: each claim finds the pool full again (refill is not what we time).
  auto full = [] {
    if (!wait_until([] { return d->warm() >= 3; }, std::chrono::seconds(30)))
      std::fprintf(stderr, "session_bench: the pool did not refill within 30 s\n");
  };
  auto warm = sessions_figure(prefix + "claudy_detach.warm", warm_n, full, failures);
  // Where a warm claim's time goes: the pool's own claim latency (recorded
  // in each session), and the same command for a project already running
  // (process, connect, store lookup: everything but the claim).
  std::vector<double> pool_latency;
  auto listed = d->json("sessions");
  if (listed.is_array())
    for (auto& s : listed)
      if (s["served"] == "warm")
        pool_latency.push_back(s["claim_latency_ms"].get<double>());
  auto pool_claim = summarize(prefix + "pool_claim_latency.warm", pool_latency);
  auto again = mine.projects() + "/p1";
  auto existing = summarize(prefix + "claudy_detach.existing_session",
                            measure(warm_n, [&](int) {
                              failures += run_quiet({claudy, again, "--detach"}) != 0;
                            }));
  // Cold: the pool stopped, every claim is a create+start.
  run_quiet({claudy, "pool", "stop"});
  auto cold = sessions_figure(prefix + "claudy_detach.cold", cold_n, [] {}, failures);
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
    if (!mine.kill9())
      break;
    auto t0 = clock::now();
    auto starter = start_quiet({claudy, "daemon", "start", "--timeout", "120"});
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
  if (burst_n > 0) {
    run_quiet({claudy, "pool", "scale", std::to_string(burst_n)});
    if (!wait_until([&] { return mine.warm() >= static_cast<size_t>(burst_n); },
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
        ++out.burst_failures;
    }
    auto secs = ms_since(t0) / 1000.0;
    out.burst_n = burst_n;
    out.burst_rate = secs > 0 ? burst_n / secs : 0;
    failures += out.burst_failures;
    // The daemon's share: each burst session's own claim latency, as the
    // pool recorded it (what serialises claims shows here, apart from the
    // clients' start-up, which dominates the wall time on a loaded machine).
    std::vector<double> lat;
    auto listed = d->json("sessions");
    if (listed.is_array())
      for (auto& s : listed)
        if (std::find(paths.begin(), paths.end(), s.value("project_dir", "")) != paths.end())
          lat.push_back(s.value("claim_latency_ms", 0.0));
    out.burst_claims = summarize(prefix + "pool_claim_latency.burst" + std::to_string(burst_n), lat);
    run_quiet({claudy, "pool", "scale", "3"});
  }
  auto n = std::to_string(running);
  out.all = {warm, pool_claim, existing, cold,
             summarize(prefix + "restart_reconcile." + n + "_sessions", reconcile),
             summarize(prefix + "restart_daemon_start_cmd." + n + "_sessions", start_cmd)};
  if (failures > 0)
    std::fprintf(stderr, "session_bench: %s mode: %d claims failed\n", mode.c_str(), failures);
  return out;
}

int run(int argc, char** argv) {
  int warm_n = 30, cold_n = 15, total = 50, restarts = 3, burst_n = 20;
  std::string modes = "host,container";
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
    else if (std::strcmp(argv[i], "--modes") == 0)
      modes = argv[i + 1];
  }
  claudy = build_claudy();
  mode_figures host, container;
  if (modes.find("host") != std::string::npos)
    host = run_mode("host", "", warm_n, cold_n, total, restarts, burst_n);
  if (modes.find("container") != std::string::npos)
    container = run_mode("container", "container.", warm_n, cold_n, total, restarts, burst_n);
  for (auto* m : {&host, &container}) {
    if (!m->ran || m->all.size() < 4)
      continue;
    auto& warm = m->all[0];
    auto& cold = m->all[3];
    for (size_t i = 0; i < m->all.size(); ++i) {
      // Container figures against the same host figure of this run.
      const figure* base = m == &container && host.all.size() == m->all.size()
                             ? &host.all[i] : nullptr;
      print(m->all[i], base);
    }
    // ratio: how many times longer a cold claim takes than a warm one.
    std::printf("{\"name\":\"%sclaudy_detach.cold_over_warm\",\"p50\":%.2f,\"p99\":%.2f,"
                "\"unit\":\"x\",\"n\":%zu,\"baseline\":\"%s\"}\n",
                m == &container ? "container." : "", warm.p50 > 0 ? cold.p50 / warm.p50 : 0.0,
                warm.p99 > 0 ? cold.p99 / warm.p99 : 0.0, cold.n, warm.name.c_str());
    if (m->burst_n > 0)
      std::printf("{\"name\":\"%sclaudy_detach.burst%d\",\"p50\":%.1f,\"p99\":%.1f,"
                  "\"unit\":\"sessions/s\",\"n\":%d,\"failed\":%d}\n",
                  m == &container ? "container." : "", m->burst_n, m->burst_rate,
                  m->burst_rate, m->burst_n, m->burst_failures);
    if (m->burst_n > 0)
      print(m->burst_claims, m == &container && host.burst_n > 0 ? &host.burst_claims : nullptr);
  }
  int failures = host.failures + container.failures;
  return failures > 0 ? 1 : 0;
}

} // namespace

int main(int argc, char** argv) {
  return guarded_main("session_bench", run, argc, argv);
}
