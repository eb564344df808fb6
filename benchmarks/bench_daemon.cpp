#include "bench_daemon.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <mutex>
#include <thread>

#include <signal.h>
#include <unistd.h>

#include "bench_util.hpp"
#include "runtime/late_bind.hpp"
#include "runtime/pid_lock.hpp"

namespace fs = std::filesystem;

namespace hal9000::bench {

// -- cleanups ---------------------------------------------------------------------

struct cleanup_guard::entry {
  std::function<void()> f;
  // Once; a second caller (the main thread unwinding while the signal
  // watcher cleans up) waits until the first is done, so the process does
  // not end half-way through a cleanup.
  std::once_flag once;
  void run() {
    std::call_once(once, [this] { f(); });
  }
};

namespace {

// Pending cleanups, oldest first.
std::mutex pending_mtx;
std::vector<std::shared_ptr<cleanup_guard::entry>> pending;

// The signal handler's self-pipe: the handler only writes the signal's
// number; the watcher thread does the work.
int signal_pipe[2] = {-1, -1};

// SIGPIPE (stdout piped to a reader that went away): a write fails with
// EPIPE instead of killing the benchmark before its cleanups. A handler, not
// SIG_IGN, which every child would inherit across exec.
extern "C" void on_sigpipe(int) {}

extern "C" void on_signal(int sig) {
  unsigned char b = static_cast<unsigned char>(sig);
  auto saved = errno;
  [[maybe_unused]] auto n = ::write(signal_pipe[1], &b, 1);
  errno = saved;
}

void watch_signals() {
  unsigned char sig = 0;
  while (::read(signal_pipe[0], &sig, 1) != 1) {
  }
  std::fprintf(stderr, "benchmark: signal %d: cleaning up\n", sig);
  std::vector<std::shared_ptr<cleanup_guard::entry>> todo;
  {
    std::lock_guard<std::mutex> guard{pending_mtx};
    todo = pending;
  }
  for (auto i = todo.rbegin(); i != todo.rend(); ++i)
    (*i)->run();
  ::_exit(128 + sig);
}

void install_signal_watcher() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (::pipe2(signal_pipe, O_CLOEXEC) != 0)
      return;
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    for (int sig : {SIGINT, SIGTERM, SIGHUP})
      ::sigaction(sig, &sa, nullptr);
    sa.sa_handler = on_sigpipe;
    ::sigaction(SIGPIPE, &sa, nullptr);
    std::thread{watch_signals}.detach();
  });
}

std::string sh_quote(const std::string& s) {
  std::string out = "'";
  for (auto c : s)
    out += c == '\'' ? std::string{"'\\''"} : std::string(1, c);
  return out + "'";
}

} // namespace

cleanup_guard::cleanup_guard(std::function<void()> f) : e_(std::make_shared<entry>()) {
  e_->f = std::move(f);
  std::lock_guard<std::mutex> guard{pending_mtx};
  pending.push_back(e_);
}

cleanup_guard::~cleanup_guard() {
  run();
  std::lock_guard<std::mutex> guard{pending_mtx};
  pending.erase(std::remove(pending.begin(), pending.end(), e_), pending.end());
}

void cleanup_guard::run() {
  e_->run();
}

int guarded_main(const char* name, int (*body)(int, char**), int argc, char** argv) {
  install_signal_watcher();
  try {
    return body(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", name, e.what());
  } catch (...) {
    std::fprintf(stderr, "%s: unknown exception\n", name);
  }
  return 1;
}

std::string build_claudy() {
  return (fs::canonical("/proc/self/exe").parent_path().parent_path() / "claudy").string();
}

// -- the daemon --------------------------------------------------------------------

bench_daemon::bench_daemon(std::string bench, std::string id, bool exported, std::string claudy)
  : bench_(std::move(bench)), id_(std::move(id)), exported_(exported),
    claudy_(std::move(claudy)) {
  auto home_tmpl = "/tmp/hal9000-" + bench_ + "-XXXXXX";
  auto proj_tmpl = "/tmp/hal9000-" + bench_ + "-projects-XXXXXX";
  if (!::mkdtemp(home_tmpl.data()))
    throw std::runtime_error("mkdtemp " + home_tmpl + " failed");
  home_ = home_tmpl;
  if (!::mkdtemp(proj_tmpl.data())) {
    fs::remove_all(home_);
    throw std::runtime_error("mkdtemp " + proj_tmpl + " failed");
  }
  projects_ = proj_tmpl;
  // From here on, whatever happens removes what this daemon made.
  guard_ = std::make_unique<cleanup_guard>([this] { cleanup(); });
  port_ = std::to_string(free_port());
  set("HAL9000_HOME", home_);
  set("HAL9000_PORT", port_);
  set("HAL9000_DAEMON_ID", id_);
  set("HAL9000_PARENT_PREFIX", id_);
  set("HAL9000_DAEMON_MODE", "host");
  set("HAL9000_MANAGE_PARENT", "false");
  set("SKIP_IMAGE_PULL", "true");
  set("ENABLE_POOL_MANAGER", "true");
}

bench_daemon::~bench_daemon() {
  stop();
}

void bench_daemon::set(const std::string& key, const std::string& value) {
  auto i = std::find_if(vars_.begin(), vars_.end(), [&](auto& kv) { return kv.first == key; });
  if (i == vars_.end())
    vars_.emplace_back(key, value);
  else
    i->second = value;
  if (exported_)
    ::setenv(key.c_str(), value.c_str(), 1);
}

std::string bench_daemon::get(const std::string& key) const {
  for (auto& [k, v] : vars_)
    if (k == key)
      return v;
  return {};
}

void bench_daemon::workers(const std::string& image, const std::string& command) {
  set("WORKER_IMAGE", image);
  set("WORKER_COMMAND", command);
  if (image == "hal9000/test:busybox") {
    set("HAL9000_WORKER_UID", "0");
    set("HAL9000_WORKER_GID", "0");
  }
}

void bench_daemon::pool(int min, int max) {
  set("MIN_WARM_WORKERS", std::to_string(min));
  if (max > 0)
    set("MAX_WARM_WORKERS", std::to_string(max));
}

void bench_daemon::limits(const std::string& memory, const std::string& cpus,
                          const std::string& pids) {
  for (auto& [key, value] : {std::pair<const char*, const std::string&>{"WORKER_MEMORY", memory},
                             {"WORKER_CPUS", cpus},
                             {"WORKER_PIDS_LIMIT", pids}})
    if (!value.empty())
      set(key, value);
}

std::vector<std::string> bench_daemon::env() const {
  std::vector<std::string> out;
  for (auto& [k, v] : vars_)
    out.push_back(k + "=" + v);
  return out;
}

std::string bench_daemon::sh_prefix() const {
  std::string out;
  for (auto& [k, v] : vars_)
    out += k + "=" + sh_quote(v) + " ";
  return out;
}

int bench_daemon::start(int timeout_s) {
  auto rc = claudy({"daemon", "start", "--timeout", std::to_string(timeout_s)});
  if (rc != 0)
    std::fprintf(stderr, "%s: cannot start the %s-mode daemon (see %s/logs%s)\n",
                 bench_.c_str(), mode().c_str(), home_.c_str(),
                 mode() == "container" ? (", or docker logs " + id_ + "-parent").c_str() : "");
  return rc;
}

int bench_daemon::claudy(std::vector<std::string> args) const {
  args.insert(args.begin(), claudy_);
  return run_quiet(std::move(args), env());
}

nlohmann::json bench_daemon::json(const std::string& args) const {
  return nlohmann::json::parse(
    capture(sh_prefix() + claudy_ + " --json " + args + " 2>/dev/null"), nullptr, false);
}

size_t bench_daemon::warm() const {
  auto j = json("pool status");
  return j.is_object() && j.contains("warm") ? j["warm"].get<size_t>() : 0;
}

pid_t bench_daemon::pid() const {
  auto p = hal9000::lock_holder(home_ + "/hal9000d.pid");
  return p ? *p : 0;
}

bool bench_daemon::kill9() const {
  auto p = pid();
  if (p <= 0 || ::kill(p, SIGKILL) != 0)
    return false;
  // Docker may restart the container and the lock be held again before we
  // look: wait on the pid itself.
  return wait_until([p] { return ::kill(p, 0) != 0; }, std::chrono::seconds(10));
}

std::string bench_daemon::project(const std::string& name) const {
  auto p = projects_ + "/" + name;
  fs::create_directories(p);
  return p;
}

void bench_daemon::stop() {
  if (guard_)
    guard_->run();
}

void bench_daemon::cleanup() {
  auto label = "label=hal9000.daemon=" + id_;
  // The daemon, cleanly when it answers (sessions, workers and the parent go
  // with --all; in container mode its container is removed too).
  claudy({"daemon", "stop", "--all"});
  // Else its container first (Docker would restart a killed daemon in it),
  // then a host process.
  capture("ids=$(docker ps -aq --filter " + label + " --filter label=hal9000.role=daemon); "
          "[ -z \"$ids\" ] || docker rm -f $ids >/dev/null 2>&1");
  if (auto p = pid(); p > 0 && ::kill(p, 0) == 0) {
    ::kill(p, SIGKILL);
    wait_until([p] { return ::kill(p, 0) != 0; }, std::chrono::seconds(10));
  }
  // Whatever else carries its id; again while a removal raced a creation.
  for (int i = 0; i < 3; ++i) {
    int rc = 0;
    capture("ids=$(docker ps -aq --filter " + label + "); [ -n \"$ids\" ] && docker rm -f $ids "
            ">/dev/null 2>&1", &rc);
    if (rc != 0)  // none left (or the engine does not answer)
      break;
  }
  capture("vs=$(docker volume ls -q --filter name=^" + id_
          + "- 2>/dev/null); [ -z \"$vs\" ] || docker volume rm -f $vs >/dev/null 2>&1");
  // Never remove_all across a live bind mount (into a project, say).
  if (auto err = hal9000::late_bind::unmount_all_under(home_); err
      || !hal9000::late_bind::mounts_under(home_).empty()
      || !hal9000::late_bind::mounts_under(projects_).empty()) {
    std::fprintf(stderr, "%s: mounts left under %s or %s; not removing them\n", bench_.c_str(),
                 home_.c_str(), projects_.c_str());
    return;
  }
  std::error_code ec;
  fs::remove_all(home_, ec);
  fs::remove_all(projects_, ec);
}

} // namespace hal9000::bench
