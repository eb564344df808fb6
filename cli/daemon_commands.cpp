// claudy daemon start [--host-process] | stop | status | restart | run
#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/commands.hpp"
#include "cli/context.hpp"
#include "cli/exit_codes.hpp"
#include "cli/output.hpp"
#include "cli/start_wait.hpp"
#include "messages/error.hpp"
#include "runtime/home_layout.hpp"
#include "runtime/pid_lock.hpp"
#include "runtime/tls_certs.hpp"  // cert_request

namespace hal9000::cli {

namespace {

using namespace std::chrono_literals;

// hal9000d next to claudy, else on PATH.
std::string daemon_binary() {
  char buf[4096];
  auto n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n > 0) {
    std::string self{buf, static_cast<size_t>(n)};
    auto candidate = self.substr(0, self.rfind('/') + 1) + "hal9000d";
    if (::access(candidate.c_str(), X_OK) == 0)
      return candidate;
  }
  return "hal9000d";
}

// The last lines of path written after byte offset from (what this start's
// daemon wrote, never an earlier run's), each indented by two spaces.
std::string log_tail(const std::string& path, size_t lines, std::streamoff from) {
  std::ifstream in{path};
  in.seekg(from);
  if (!in)  // shorter than before (truncated meanwhile): all of it
    in.clear(), in.seekg(0);
  std::vector<std::string> all;
  for (std::string line; std::getline(in, line);)
    all.push_back(line);
  std::string out;
  for (size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i)
    out += "  " + all[i] + "\n";
  return out;
}

// Alive and not a zombie (a daemon started by an exited claudy is reaped by
// whoever adopted it, maybe never).
bool process_running(pid_t pid) {
  std::ifstream stat{"/proc/" + std::to_string(pid) + "/stat"};
  std::string pid_field, comm, state;
  if (!(stat >> pid_field >> comm >> state))
    return false;
  return state != "Z" && state != "X";
}

// The status as a table, or JSON with --json. A start that found the daemon
// running also says which of the settings it was given that daemon does not
// run with (they were not applied), and how to apply them.
void show_status(const context& ctx, const daemon_status& st, bool already) {
  std::vector<setting_difference> diffs;
  if (already)
    diffs = given_differences(st, daemon_env(ctx.cfg), [](const std::string& name) {
      auto* v = std::getenv(name.c_str());
      return v ? std::optional<std::string>{v} : std::nullopt;
    });
  if (ctx.json) {
    auto j = to_json(st);
    if (already) {
      j["already_running"] = true;
      auto na = nlohmann::json::array();
      for (auto& d : diffs)
        na.push_back({{"name", d.name}, {"given", d.wanted}, {"running", d.running}});
      j["not_applied"] = na;
    }
    std::cout << j.dump(2) << "\n";
  } else {
    if (already)
      std::cout << "hal9000d is already running (pid " << st.pid << ")\n";
    print_status(std::cout, st);
  }
  if (!diffs.empty())
    std::cerr << "claudy: " << given_differences_text(diffs) << "\n";
}

int print_status_of(connection& conn, const context& ctx, bool already) {
  auto who = conn.who();
  if (!who)
    return fail(who.error());
  auto st = conn.call<daemon_status>(daemon_status_req{*who}, ctx.timeout);
  if (!st)
    return fail(st.error());
  show_status(ctx, *st, already);
  return exit_ok;
}

// Once hal9000d answers: polls its status until ChromaDB is healthy and the
// first warm workers are there (start_wait.hpp), or until the deadline. On a
// terminal a live line says what it waits for; --quiet, --json and other
// output get only the final status.
int wait_until_ready(connection& conn, const context& ctx,
                     std::chrono::steady_clock::time_point until, bool already) {
  auto who = conn.who();
  if (!who)
    return fail(who.error());
  bool live = !ctx.quiet && !ctx.json && ::isatty(STDERR_FILENO);
  auto began = std::chrono::steady_clock::now();
  auto clear_line = [&] {
    if (live)
      std::cerr << "\r\033[K" << std::flush;
  };
  for (;;) {
    auto st = conn.call<daemon_status>(daemon_status_req{*who}, ctx.timeout);
    if (!st) {
      clear_line();
      return fail(st.error());
    }
    auto r = readiness_of(*st);
    auto now = std::chrono::steady_clock::now();
    if (r.ready || !r.problem.empty() || now >= until) {
      clear_line();
      show_status(ctx, *st, already);
      if (!r.problem.empty()) {
        std::cerr << "claudy: " << r.problem << "\n";
        return exit_failure;
      }
      if (!r.ready) {
        std::cerr << "claudy: hal9000d runs, but is not ready after "
                  << std::chrono::duration_cast<std::chrono::seconds>(now - began).count()
                  << " s: still waiting for " << r.waiting
                  << " (see `claudy daemon status`)\n";
        return exit_failure;
      }
      return exit_ok;
    }
    if (live) {
      auto tenths = std::chrono::duration_cast<std::chrono::milliseconds>(now - began)
                      .count() / 100;
      std::cerr << "\r\033[Kwaiting for " << r.waiting << " ... " << tenths / 10 << "."
                << tenths % 10 << "s" << std::flush;
    }
    // A status round trip costs about a millisecond; 200 ms keeps the line
    // live without loading the daemon.
    std::this_thread::sleep_for(200ms);
  }
}

int status(const context& ctx) {
  auto conn = ctx.connect(2s);
  if (!conn)
    return fail(conn.error());
  return print_status_of(**conn, ctx, false);
}

// Runs `hal9000d container ARGS...` (daemon/daemon_container.hpp: the few
// Docker calls of the container mode, so claudy never talks to the engine)
// with this claudy's whole configuration in its environment (daemon_env), its
// stderr on ours; its exit code (claudy's codes), or 3 when it cannot run.
int run_container_helper(const context& ctx, std::vector<std::string> args) {
  auto binary = daemon_binary();
  args.insert(args.begin(), {binary, "container"});
  auto env = daemon_env(ctx.cfg);
  auto pid = ::fork();
  if (pid < 0)
    return fail(make_error(errc::internal, std::string{"fork: "} + std::strerror(errno)));
  if (pid == 0) {
    for (auto& [k, v] : env)
      ::setenv(k.c_str(), v.c_str(), 1);
    int devnull = ::open("/dev/null", O_RDWR);
    if (devnull >= 0) {
      ::dup2(devnull, 0);
      ::dup2(devnull, 1);  // it speaks on stderr only
    }
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execvp(argv[0], argv.data());
    std::cerr << "claudy: cannot run " << binary << ": " << std::strerror(errno) << "\n";
    ::_exit(exit_unavailable);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : exit_failure;
}

// Container mode: hal9000d inside <prefix>-parent. `hal9000d container start`
// creates (or keeps) the container and waits until its control port accepts
// a connection, or says why the container ended (its log's tail) and removes
// it, so Docker does not restart a daemon that cannot start; then we wait
// until the daemon is ready.
int start_in_container(const context& ctx, std::chrono::steady_clock::time_point until,
                       std::chrono::milliseconds deadline) {
  std::vector<std::string> args{"start", "--timeout",
                                std::to_string(std::max<int64_t>(1, deadline.count() / 1000))};
  if (ctx.quiet || ctx.json)
    args.push_back("--quiet");
  if (auto rc = run_container_helper(ctx, args); rc != exit_ok)
    return rc;
  for (;;) {
    auto conn = ctx.connect(1s);
    if (conn)
      return wait_until_ready(**conn, ctx, until, false);
    if (std::chrono::steady_clock::now() >= until)
      return fail(conn.error());
    // The port answered; the handshake may need a moment more.
    std::this_thread::sleep_for(20ms);
  }
}

// Launches hal9000d (in its container, or `hal9000d run` as a host process in
// its own session with output to its log), waits until the control endpoint
// answers or the daemon dies, then until it is ready (wait_until_ready), all
// within one deadline.
int start(const context& ctx, std::chrono::milliseconds deadline, bool host_process) {
  if (!ctx.host.empty()) {
    std::cerr << "claudy: daemon start runs on the daemon's host; --host is for "
                 "the other commands\n";
    return exit_usage;
  }
  auto until = std::chrono::steady_clock::now() + deadline;
  if (auto conn = ctx.connect(1s))
    return wait_until_ready(**conn, ctx, until, true);
  if (!host_process && default_start_mode(ctx.cfg) == daemon_mode_container)
    return start_in_container(ctx, until, deadline);
  auto& home = ctx.cfg.home;
  ::mkdir(home.c_str(), 0700);
  auto logs = home + "/logs";
  ::mkdir(logs.c_str(), 0700);
  auto out_path = logs + "/hal9000d.out";
  // Where this start's output begins: the file is appended to across runs.
  std::streamoff out_from = 0;
  if (struct stat st {}; ::stat(out_path.c_str(), &st) == 0)
    out_from = st.st_size;
  auto binary = daemon_binary();
  auto pid = ::fork();
  if (pid < 0)
    return fail(make_error(errc::internal, std::string{"fork: "} + std::strerror(errno)));
  if (pid == 0) {
    ::setsid();
    ::setenv("HAL9000_DAEMON_MODE", daemon_mode_host, 1);
    int devnull = ::open("/dev/null", O_RDONLY);
    int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (devnull >= 0)
      ::dup2(devnull, 0);
    if (out >= 0) {
      ::dup2(out, 1);
      ::dup2(out, 2);
    }
    ::execlp(binary.c_str(), binary.c_str(), "run", static_cast<char*>(nullptr));
    std::fprintf(stderr, "cannot run %s: %s\n", binary.c_str(), std::strerror(errno));
    ::_exit(127);
  }
  if (!ctx.quiet && !ctx.json)
    std::cerr << "starting hal9000d (pid " << pid << ", log " << out_path << ")\n";
  caf::error last;
  for (;;) {
    int wstatus = 0;
    if (::waitpid(pid, &wstatus, WNOHANG) == pid) {
      std::cerr << "claudy: hal9000d exited during start ("
                << (WIFEXITED(wstatus) ? "code " + std::to_string(WEXITSTATUS(wstatus))
                                       : "signal " + std::to_string(WTERMSIG(wstatus)))
                << "); it wrote (" << out_path << "):\n"
                << log_tail(out_path, 20, out_from);
      // Code 2: it refused its configuration (its words are above).
      return WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == exit_usage ? exit_usage
                                                                       : exit_unavailable;
    }
    auto conn = ctx.connect(1s);
    if (conn)
      return wait_until_ready(**conn, ctx, until, false);
    last = conn.error();
    if (std::chrono::steady_clock::now() >= until)
      break;
    // Polls the port with a deadline; the daemon gives no other signal.
    std::this_thread::sleep_for(20ms);
  }
  std::cerr << "claudy: hal9000d did not answer within " << deadline.count() / 1000
            << " s (" << error_message(last) << "); it wrote (" << out_path
            << "):\n" << log_tail(out_path, 20, out_from);
  return exit_unavailable;
}

// *was_host (when given) says whether the daemon that stopped ran as a host
// process, so that restart keeps its mode.
int stop(const context& ctx, bool all, bool* was_host = nullptr) {
  auto conn = ctx.connect(2s);
  if (!conn) {
    if (error_code(conn.error()) == errc::unavailable) {
      if (!ctx.quiet)
        std::cout << "hal9000d is not running\n";
      return exit_ok;
    }
    return fail(conn.error());
  }
  auto who = (*conn)->who();
  if (!who)
    return fail(who.error());
  // Where it runs (its container, by the daemon's own word), known before
  // it stops answering.
  std::string container;
  if (ctx.host.empty())
    if (auto st = (*conn)->call<daemon_status>(daemon_status_req{*who}, ctx.timeout))
      container = st->container;
  bool in_container = !container.empty();
  if (was_host)
    *was_host = !in_container;
  // A host daemon's pid; a daemon in its container is waited on through
  // Docker below (the container's end is what `docker rm` or a start needs).
  auto pid = ctx.host.empty() && !in_container ? lock_holder(home_layout::daemon_pid(ctx.cfg.home))
                                               : caf::expected<pid_t>{caf::error{}};
  auto reply = (*conn)->call<daemon_stop_reply>(daemon_stop_req{*who, all}, 60s);
  if (!reply)
    return fail(reply.error());
  // Done only once the daemon's process is gone (locally we can see it).
  if (pid) {
    auto until = std::chrono::steady_clock::now() + 30s;
    while (process_running(*pid)) {
      if (std::chrono::steady_clock::now() >= until)
        return fail(make_error(errc::deadline_exceeded,
                               "hal9000d acknowledged the stop but still runs after 30 s"));
      std::this_thread::sleep_for(10ms);
    }
  }
  // In container mode, also until Docker says its container stopped (so a
  // `docker rm -f` or start right after sees it so); --all removes it.
  if (in_container) {
    std::vector<std::string> args{"stop", "--timeout", "30"};
    if (all)
      args.push_back("--remove");
    if (auto rc = run_container_helper(ctx, args); rc != exit_ok)
      return rc;
    if (all)
      reply->done.push_back("removed " + container);
  }
  if (ctx.json) {
    std::cout << nlohmann::json{{"stopped", true}, {"done", reply->done}}.dump(2) << "\n";
  } else {
    std::cout << "hal9000d stopped\n";
    for (auto& line : reply->done)
      std::cout << "  " << line << "\n";
  }
  return exit_ok;
}

// Runs `hal9000d certs` (it creates the files with OpenSSL, which claudy
// does not load: see runtime/tls_library.hpp); its output and exit code are
// this command's.
int certs(const context& ctx, const cert_request& req) {
  auto binary = daemon_binary();
  std::vector<std::string> args{binary, "certs", "--home", ctx.cfg.home};
  for (auto& n : req.server_names) {
    args.push_back("--server-name");
    args.push_back(n);
  }
  for (auto& c : req.clients) {
    args.push_back("--client");
    args.push_back(c);
  }
  if (req.force_server)
    args.push_back("--force-server");
  if (ctx.json)
    args.push_back("--json");
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  std::cout.flush();
  ::execvp(binary.c_str(), argv.data());
  std::cerr << "claudy: cannot run " << binary << ": " << std::strerror(errno) << "\n";
  return exit_failure;
}

int run_foreground() {
  auto binary = daemon_binary();
  ::setenv("HAL9000_DAEMON_MODE", daemon_mode_host, 1);  // a process on this host
  ::execlp(binary.c_str(), binary.c_str(), "run", static_cast<char*>(nullptr));
  std::cerr << "claudy: cannot run " << binary << ": " << std::strerror(errno) << "\n";
  return exit_failure;
}

} // namespace

void add_daemon_commands(CLI::App& app, context& ctx, int& rc) {
  auto* daemon = app.add_subcommand("daemon", "Start, stop and inspect hal9000d");
  daemon->require_subcommand(1);

  static int start_timeout_s = 30;
  static bool host_process = false;
  auto* start_cmd = daemon->add_subcommand(
    "start", "Start hal9000d in the background (inside the parent container, or as a "
    "host process) and wait until it answers, ChromaDB is healthy and the first warm "
    "workers are up");
  start_cmd->add_option("--timeout", start_timeout_s, "Seconds to wait (default 30)")
    ->check(CLI::Range(1, 3600));
  start_cmd->add_flag("--host-process", host_process,
                      "Run hal9000d as a process on this host, not in <prefix>-parent "
                      "(also HAL9000_DAEMON_MODE=host)");
  start_cmd->callback([&] {
    rc = start(ctx, std::chrono::seconds(start_timeout_s), host_process);
  });

  static bool stop_all = false;
  auto* stop_cmd = daemon->add_subcommand(
    "stop", "Stop hal9000d cleanly (sessions and the parent keep running)");
  stop_cmd->add_flag("--all", stop_all, "Also stop every session and the parent");
  stop_cmd->callback([&] { rc = stop(ctx, stop_all); });

  daemon->add_subcommand("status", "Show the daemon's health")
    ->callback([&] { rc = status(ctx); });

  daemon->add_subcommand("restart", "Stop, then start hal9000d")->callback([&] {
    bool was_host = false;  // keeps the mode of the daemon it restarts
    rc = stop(ctx, false, &was_host);
    if (rc == exit_ok)
      rc = start(ctx, std::chrono::seconds(start_timeout_s), was_host);
  });

  static cert_request cert_req;
  auto* certs_cmd = daemon->add_subcommand(
    "certs", "Create the CA, the daemon's certificate and client bundles for remote control");
  certs_cmd->add_option("--server-name", cert_req.server_names,
                        "DNS name or IP the daemon is reached at (repeatable; "
                        "default localhost 127.0.0.1)");
  certs_cmd->add_option("--client", cert_req.clients,
                        "Create a client bundle with this name (repeatable)");
  certs_cmd->add_flag("--force-server", cert_req.force_server,
                      "Replace the daemon's certificate (the CA is kept)");
  certs_cmd->callback([&] { rc = certs(ctx, cert_req); });

  daemon->add_subcommand("run", "Run hal9000d in the foreground (systemd, debugging)")
    ->callback([&] { rc = run_foreground(); });
}

} // namespace hal9000::cli
