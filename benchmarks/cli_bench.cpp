// What a claudy command costs end to end (process start, CAF node, connect,
// one request, print), against what the bash predecessor's status did
// (`docker ps --filter label=...`), side by side in one run. "ratio" is
// docker's p50 over claudy's: above 1, claudy is faster.
//   cli_bench [--runs N]
// Starts its own daemon on a free loopback port with a temporary HAL9000_HOME.

#include <cstdlib>
#include <fcntl.h>
#include <cstring>
#include <filesystem>
#include <string>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_util.hpp"
#include "runtime/late_bind.hpp"

using namespace hal9000::bench;

namespace {

std::string bin_dir;

figure timed(const std::string& name, int runs, const std::vector<std::string>& args,
             int expected_rc = 0) {
  int failures = 0;
  auto samples = measure(runs, [&](int) { failures += run_quiet(args) != expected_rc; });
  if (failures > 0)
    std::fprintf(stderr, "cli_bench: %s failed %d of %d runs\n", name.c_str(),
                 failures, runs);
  return summarize(name, samples);
}

} // namespace

int main(int argc, char** argv) {
  int runs = 50;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--runs") == 0)
      runs = std::atoi(argv[i + 1]);
  bin_dir = std::filesystem::canonical("/proc/self/exe").parent_path().parent_path();
  auto claudy = bin_dir + "/claudy";
  char tmpl[] = "/tmp/hal9000-cli-bench-XXXXXX";
  if (!::mkdtemp(tmpl))
    return 1;
  std::string home = tmpl;
  ::setenv("HAL9000_HOME", home.c_str(), 1);
  ::setenv("HAL9000_PORT", std::to_string(free_port()).c_str(), 1);
  // A small warm pool of the test image, so pool status has workers to list;
  // its own daemon id and no parent, so nothing else on the engine is touched.
  ::setenv("HAL9000_DAEMON_ID", ("cli-bench-" + std::to_string(::getpid())).c_str(), 1);
  ::setenv("HAL9000_MANAGE_PARENT", "false", 1);
  ::setenv("WORKER_IMAGE", "hal9000/test:busybox", 1);
  ::setenv("HAL9000_WORKER_UID", "0", 1);  // busybox runs as root
  ::setenv("HAL9000_WORKER_GID", "0", 1);
  ::setenv("WORKER_COMMAND", "sleep 100000", 1);
  ::setenv("ENABLE_POOL_MANAGER", "true", 1);
  ::setenv("MIN_WARM_WORKERS", "2", 1);
  if (run_quiet({claudy, "daemon", "start"}) != 0) {
    std::fprintf(stderr, "cli_bench: cannot start the daemon (see %s/logs)\n", home.c_str());
    return 1;
  }
  // Warm the page cache for both programs before measuring.
  run_quiet({claudy, "daemon", "status"});
  run_quiet({"docker", "ps", "--filter", "label=hal9000.managed=true"});

  auto docker_ps = timed("docker_cli.ps_by_label", runs,
                         {"docker", "ps", "--filter", "label=hal9000.managed=true"});
  auto pool_status = timed("claudy.pool_status", runs, {claudy, "pool", "status"});
  auto status = timed("claudy.daemon_status", runs, {claudy, "daemon", "status"});
  auto status_json = timed("claudy.json_daemon_status", runs,
                           {claudy, "--json", "daemon", "status"});
  auto down = [&] {
    // A port nobody listens on: the "daemon not running" path.
    ::setenv("HAL9000_PORT", std::to_string(free_port()).c_str(), 1);
    auto f = timed("claudy.daemon_not_running", runs, {claudy, "daemon", "status"}, 3);
    return f;
  };
  print(docker_ps);
  print(pool_status, &docker_ps);
  print(status, &docker_ps);
  print(status_json, &docker_ps);
  auto port = std::string{std::getenv("HAL9000_PORT")};
  print(down());
  ::setenv("HAL9000_PORT", port.c_str(), 1);
  run_quiet({claudy, "daemon", "stop"});
  // The daemon leaves HAL9000_HOME/mounts an rshared mount point.
  hal9000::late_bind::unmount_all_under(home);
  std::filesystem::remove_all(home);
  return 0;
}
