#pragma once
// What the benchmarks that run a hal9000d share: cleanups that run however a
// benchmark ends, and a daemon of the benchmark's own.
//
// cleanup_guard: a cleanup that runs once, on scope exit (also when an exception
// unwinds the stack) or, when the process gets SIGINT, SIGTERM or SIGHUP, from
// guarded_main's watcher thread: every pending one, newest first, then the
// process exits 128 + signal. A host-process daemon runs in a session of its
// own (setsid), so a signal to the benchmark's process group never reaches
// it: without this, an interrupted or timed-out benchmark leaves its daemon,
// containers and mounts behind. SIGPIPE (stdout's reader gone) no longer
// ends the process either: the write fails and the run ends as usual. Only
// SIGKILL still leaves things behind.
//
// bench_daemon: hal9000d started with a claudy (the build tree's by default) in
// host or container mode (HAL9000_DAEMON_MODE), with a temporary
// HAL9000_HOME and projects directory (/tmp/hal9000-<bench>-XXXXXX and
// /tmp/hal9000-<bench>-projects-XXXXXX), a free loopback port, its own daemon
// id and parent prefix (the id), SKIP_IMAGE_PULL, the pool manager on and no
// parent (HAL9000_MANAGE_PARENT=false) unless set otherwise. Its settings go
// to every claudy it runs; exported ones (the default) also into this
// process's environment, so any child of the benchmark reaches this daemon.
// stop() (also the destructor, and the signal path) removes everything it
// made, in this order: the daemon (`claudy daemon stop --all`; then its
// container, or kill -9 of its pid), every container labelled with its daemon
// id, the volumes named <id>-*, every mount under its home, then the
// directories (kept, with a word on stderr, while a mount remains).

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <unistd.h>

#include <nlohmann/json.hpp>

namespace hal9000::bench {

class cleanup_guard {
public:
  explicit cleanup_guard(std::function<void()> f);
  ~cleanup_guard();
  cleanup_guard(const cleanup_guard&) = delete;
  cleanup_guard& operator=(const cleanup_guard&) = delete;

  /// Runs the cleanup now, unless it ran already (from here or the signal
  /// watcher); never twice, and a caller waits while another runs it.
  void run();

  struct entry;

private:
  std::shared_ptr<entry> e_;
};

/// Runs body(argc, argv) (the benchmark's main) with the signal watcher
/// installed; an exception escaping body is printed as "<name>: <what>" and
/// gives exit 1 after the stack (and so every cleanup_guard and daemon)
/// unwound.
int guarded_main(const char* name, int (*body)(int, char**), int argc, char** argv);

/// The claudy of the build tree this benchmark runs from (<build>/claudy).
std::string build_claudy();

class bench_daemon {
public:
  /// bench: the benchmark's name ("session-bench"), for the temporary
  /// directories and messages; id: daemon id and parent prefix (unique:
  /// put the pid in it). exported: settings go into this process's
  /// environment too.
  bench_daemon(std::string bench, std::string id, bool exported = true,
         std::string claudy = build_claudy());
  ~bench_daemon();
  bench_daemon(const bench_daemon&) = delete;
  bench_daemon& operator=(const bench_daemon&) = delete;

  /// A setting for the daemon and every claudy run with this daemon's env.
  void set(const std::string& key, const std::string& value);
  std::string get(const std::string& key) const;
  /// The settings most benchmarks choose: the workers' WORKER_IMAGE and
  /// WORKER_COMMAND (hal9000/test:busybox runs as root: HAL9000_WORKER_UID
  /// and _GID 0 with it), the pool's MIN_ and MAX_WARM_WORKERS (max 0: the
  /// daemon's default), their limits WORKER_MEMORY, WORKER_CPUS and
  /// WORKER_PIDS_LIMIT ("" leaves one at the daemon's default).
  void workers(const std::string& image, const std::string& command);
  void pool(int min, int max = 0);
  void limits(const std::string& memory, const std::string& cpus = "",
              const std::string& pids = "");

  /// Its settings as NAME=VALUE, and the same quoted for `sh -c`, ending in
  /// a space: sh_prefix() + "claudy ...".
  std::vector<std::string> env() const;
  std::string sh_prefix() const;

  /// `claudy daemon start --timeout S` in this mode; its exit code. On a
  /// failure, says on stderr where the daemon's words are.
  int start(int timeout_s = 120);
  /// Runs `claudy args...` quietly with this daemon's settings; its exit code.
  int claudy(std::vector<std::string> args) const;
  /// `claudy --json ARGS` parsed (discarded on a parse error); args are ours
  /// (the shell splits them).
  nlohmann::json json(const std::string& args) const;
  /// Warm workers now (`pool status`; 0 when it does not answer).
  size_t warm() const;

  /// The daemon's pid (its lock file; a host pid in both modes: the
  /// container shares the host's pid namespace), 0 when none runs.
  pid_t pid() const;
  /// kill -9 of the daemon, then waits (10 s at most) until that pid is gone.
  /// In container mode Docker restarts the container at once (on-failure).
  bool kill9() const;

  /// A new directory under projects(): projects()/name.
  std::string project(const std::string& name) const;

  /// Removes everything it made (see above); safe to call more than once.
  void stop();

  const std::string& home() const { return home_; }
  const std::string& projects() const { return projects_; }
  const std::string& id() const { return id_; }
  const std::string& port() const { return port_; }
  const std::string& claudy_path() const { return claudy_; }
  std::string mode() const { return get("HAL9000_DAEMON_MODE"); }

private:
  void cleanup();

  std::string bench_;
  std::string id_;
  bool exported_;
  std::string claudy_;
  std::string home_;
  std::string projects_;
  std::string port_;
  std::vector<std::pair<std::string, std::string>> vars_;
  std::unique_ptr<cleanup_guard> guard_;
};

} // namespace hal9000::bench
