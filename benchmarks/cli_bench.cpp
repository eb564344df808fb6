// What a claudy command costs end to end (process start, CAF node, connect,
// one request, print), against what the bash predecessor's status did
// (`docker ps --filter label=...`), side by side in one run. "ratio" is
// docker's p50 over claudy's: above 1, claudy is faster.
//   cli_bench [--runs N]
// Starts its own daemon (bench_daemon.hpp) on a free loopback port with a
// temporary HAL9000_HOME, and removes it and all it made, also when interrupted.

#include <cstdlib>
#include <cstring>
#include <string>

#include <unistd.h>

#include "bench_daemon.hpp"
#include "bench_util.hpp"

using namespace hal9000::bench;

namespace {

// env: NAME=VALUE over this process's environment.
figure timed(const std::string& name, int runs, const std::vector<std::string>& args,
             int expected_rc = 0, const std::vector<std::string>& env = {}) {
  int failures = 0;
  auto samples = measure(runs, [&](int) { failures += run_quiet(args, env) != expected_rc; });
  if (failures > 0)
    std::fprintf(stderr, "cli_bench: %s failed %d of %d runs\n", name.c_str(),
                 failures, runs);
  return summarize(name, samples);
}

int run(int argc, char** argv) {
  int runs = 50;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--runs") == 0)
      runs = std::atoi(argv[i + 1]);
  // A small warm pool of the test image, so pool status has workers to list;
  // its own daemon id and no parent, so nothing else on the engine is touched.
  bench_daemon mine{"cli-bench", "cli-bench-" + std::to_string(::getpid())};
  auto claudy = mine.claudy_path();
  mine.workers("hal9000/test:busybox", "sleep 100000");
  mine.pool(2);
  if (mine.start(30) != 0)
    return 1;
  // Warm the page cache for both programs before measuring.
  run_quiet({claudy, "daemon", "status"});
  run_quiet({"docker", "ps", "--filter", "label=hal9000.managed=true"});

  auto docker_ps = timed("docker_cli.ps_by_label", runs,
                         {"docker", "ps", "--filter", "label=hal9000.managed=true"});
  auto pool_status = timed("claudy.pool_status", runs, {claudy, "pool", "status"});
  auto status = timed("claudy.daemon_status", runs, {claudy, "daemon", "status"});
  auto status_json = timed("claudy.json_daemon_status", runs,
                           {claudy, "--json", "daemon", "status"});
  // A port nobody listens on: the "daemon not running" path.
  auto down = timed("claudy.daemon_not_running", runs, {claudy, "daemon", "status"}, 3,
                    {"HAL9000_PORT=" + std::to_string(free_port())});
  print(docker_ps);
  print(pool_status, &docker_ps);
  print(status, &docker_ps);
  print(status_json, &docker_ps);
  print(down);
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  return guarded_main("cli_bench", run, argc, argv);
}
