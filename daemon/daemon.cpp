#include "daemon/daemon.hpp"
#include "daemon/daemon_container.hpp"

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <optional>

#include <dirent.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <caf/actor_system.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/publish.hpp>
#include <caf/openssl/publish.hpp>
#include <caf/scoped_actor.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include "actors/docker_actor.hpp"
#include "messages/error.hpp"
#include "messages/wire.hpp"
#include "runtime/atomic_file.hpp"
#include "runtime/auth_token.hpp"
#include "runtime/config.hpp"
#include "runtime/logging.hpp"
#include "daemon/metrics_server.hpp"
#include "runtime/home_layout.hpp"
#include "runtime/pid_lock.hpp"
#include "daemon/runtime.hpp"
#include "runtime/system_config.hpp"
#include "runtime/tls.hpp"
#include "runtime/tls_certs.hpp"
#include "cli/exit_codes.hpp"

namespace hal9000::daemon {

namespace {

// `hal9000d ping`: the engine's version through the daemon's own docker actor.
int ping(const config& cfg) {
  system_config sys_cfg;
  caf::actor_system sys{sys_cfg};
  auto docker = docker::spawn_docker(sys, docker::options_from(cfg));
  int rc = 0;
  {
    caf::scoped_actor self{sys};
    self->request(docker, std::chrono::seconds(10), docker::version_req{})
      .receive(
        [&](docker::version_info& v) {
          std::cout << "Docker engine " << v.version << " (API " << v.negotiated
                    << ") at " << cfg.docker_host << ": reachable\n";
        },
        [&](caf::error& err) {
          std::cerr << "hal9000d: " << error_message(err) << "\n";
          rc = 3;
        });
    self->send_exit(docker, caf::exit_reason::user_shutdown);
  }
  return rc;
}

// HAL9000_HOME_OWNER (the daemon in its container, started by a user who is
// not root): the directories the runtime made at its start (sessions/, pool/,
// users/, sandbox/, bin/, mcp/, egress/, logs/ and what is one level inside
// them) and owned by root are handed to that user, so their own HAL9000_HOME
// is theirs to read. Not auth/ (done above), not mounts/ (slots and mount
// points), and nothing deeper under users/: a user's claude/ and secrets/
// belong to whom they are mapped to. lchown: never follows a symlink.
void hand_home_to(const std::string& home, uid_t uid, gid_t gid) {
  auto hand = [&](const std::string& path) {
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0 || st.st_uid != 0 || S_ISLNK(st.st_mode))
      return;
    if (::lchown(path.c_str(), uid, gid) != 0)
      log()->warn("cannot hand {} to uid {}: {}", path, uid, std::strerror(errno));
  };
  for (auto top : {"sessions", "pool", "users", "sandbox", "bin", "mcp", "egress", "logs"}) {
    auto dir = home + "/" + top;
    struct stat st;
    if (::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
      continue;
    hand(dir);
    if (DIR* d = ::opendir(dir.c_str())) {
      while (auto* e = ::readdir(d)) {
        std::string name = e->d_name;
        if (name != "." && name != "..")
          hand(dir + "/" + name);
      }
      ::closedir(d);
    }
  }
}

// Set by a `claudy daemon stop --all` before it raises SIGTERM.
std::atomic<bool> stop_all{false};

// `hal9000d run`: the daemon in the foreground until SIGINT/SIGTERM or a
// `claudy daemon stop`.
int run(config cfg) {
  // Signals first: every thread CAF starts inherits the mask, so only
  // sigwait below sees SIGINT/SIGTERM.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto listen = cfg.listen_host + ":" + std::to_string(cfg.port);
  // Check TLS before building the actor system: CAF terminates the process
  // on bad certificate files.
  tls_files tls;
  if (!is_loopback_host(cfg.listen_host)) {
    auto files = server_tls_files(cfg.home);
    if (!files) {
      std::cerr << "hal9000d: refusing to listen on " << listen
                << " without TLS: " << error_message(files.error())
                << "\n  create certificates with: claudy daemon certs\n";
      return 2;
    }
    tls = *files;
  }
  if (::mkdir(cfg.home.c_str(), 0700) != 0 && errno != EEXIST) {
    std::cerr << "hal9000d: cannot create " << cfg.home << ": "
              << std::strerror(errno) << "\n";
    return 1;
  }
  auto lock = pid_lock::acquire(home_layout::daemon_pid(cfg.home));
  if (!lock) {
    std::cerr << "hal9000d: " << error_message(lock.error()) << "\n";
    return 1;
  }
  std::optional<std::pair<uid_t, gid_t>> home_owner;
  auto token = ensure_token(cfg.home);
  if (!token) {
    std::cerr << "hal9000d: " << error_message(token.error()) << "\n";
    return 1;
  }
  // In its container, started by a user who is not root (cli/daemon_container):
  // that user keeps the state directory and reads the control token.
  if (auto* owner = std::getenv("HAL9000_HOME_OWNER"); owner && *owner) {
    unsigned uid = 0, gid = 0;
    if (std::sscanf(owner, "%u:%u", &uid, &gid) != 2) {
      std::cerr << "hal9000d: invalid HAL9000_HOME_OWNER='" << owner << "': expected UID:GID\n";
      return 2;
    }
    for (auto path : {cfg.home, cfg.home + "/auth", cfg.home + "/auth/token"})
      if (::chown(path.c_str(), uid, gid) != 0)
        std::cerr << "hal9000d: cannot hand " << path << " to " << owner << ": "
                  << std::strerror(errno) << "\n";
    // And what the daemon writes there from now on (session records, pool
    // state, logs): theirs, not root's, so they can read their own records.
    own_new_files_under(cfg.home, uid, gid);
    home_owner = std::make_pair(uid, gid);
  }
  init_logging(cfg.home, true);
  log()->info("hal9000d {} starting (pid {}, home {}, wire {})", HAL9000_VERSION,
              ::getpid(), cfg.home, wire_version);

  int rc = 0;
  {
    system_config sys_cfg{true, tls};
    caf::actor_system sys{sys_cfg};
    runtime_options ro;
    ro.token = *token;
    ro.listen = listen;
    ro.tls = tls.enabled();
    ro.on_stop = [](bool all) {
      log()->info("stop requested over the control endpoint (all: {})", all);
      stop_all = all;
      ::kill(::getpid(), SIGTERM);
    };
    auto rt = spawn_runtime(sys, cfg, ro);
    if (!rt) {
      log()->error("cannot start: {}", error_message(rt.error()));
      std::cerr << "hal9000d: " << error_message(rt.error()) << "\n";
      // A setting it cannot use (WORKER_CPUS beyond the host, ...) is a usage
      // error, as claudy's; anything else a failure.
      return error_code(rt.error()) == errc::invalid_argument ? cli::exit_usage
                                                              : cli::exit_failure;
    }
    if (home_owner)
      hand_home_to(cfg.home, home_owner->first, home_owner->second);
    auto port = tls.enabled()
                  ? caf::openssl::publish(rt->bridge, cfg.port, cfg.listen_host.c_str(), true)
                  : caf::io::publish(rt->bridge, cfg.port, cfg.listen_host.c_str(), true);
    if (!port) {
      auto msg = "cannot listen on " + listen + ": " + sys.render(port.error());
      log()->error("{}", msg);
      std::cerr << "hal9000d: " << msg << "\n";
      shutdown_runtime(sys, *rt, false);
      return 3;
    }
    std::unique_ptr<metrics_server> metrics;
    if (cfg.metrics_port != 0) {
      metrics_server_options mo;
      mo.port = cfg.metrics_port;
      mo.registry = std::shared_ptr<const metrics::registry>(rt->metrics, &rt->metrics->reg);
      mo.status = bridge_status_provider(sys, rt->bridge, credentials{*token, "metrics endpoint"},
                                         std::chrono::seconds(5));
      auto started = metrics_server::start(std::move(mo));
      if (!started) {
        log()->error("{}", error_message(started.error()));
        std::cerr << "hal9000d: " << error_message(started.error()) << "\n";
        sys.middleman().unpublish(rt->bridge, *port);
        shutdown_runtime(sys, *rt, false);
        return 3;
      }
      metrics = std::move(*started);
      log()->info("metrics on http://127.0.0.1:{}/metrics", cfg.metrics_port);
    }
    log()->info("ready: control endpoint on {} ({})", listen,
                tls.enabled() ? "mutual TLS" : "plain TCP, loopback");
    int sig = 0;
    sigwait(&signals, &sig);
    bool all = stop_all;
    log()->info("stopping ({})", sig == SIGINT ? "SIGINT" : "SIGTERM");
    if (metrics) {
      // Its HTTP threads use the actor system: gone before the actors are.
      metrics->set_healthy(false);
      metrics.reset();
    }
    sys.middleman().unpublish(rt->bridge, *port);
    shutdown_runtime(sys, *rt, all);
  }
  log()->info("stopped");
  shutdown_logging();
  // Last: once the lock is free, a new daemon may start on this home.
  lock->release();
  return rc;
}

} // namespace

int daemon_main(int argc, char** argv) {
  CLI::App app{"hal9000d: the hal9000 daemon"};
  app.set_version_flag("--version", std::string{"hal9000d "} + HAL9000_VERSION
                                      + " (" + wire_version + ")");
  app.require_subcommand(0, 1);
  auto* ping_cmd = app.add_subcommand(
    "ping", "Reach the Docker engine through the daemon's docker actor");
  auto* run_cmd = app.add_subcommand("run", "Run the daemon in the foreground");
  std::string listen, home;
  run_cmd->add_option("--listen", listen,
                      "ADDRESS:PORT of the control endpoint (HAL9000_LISTEN); "
                      "non-loopback needs TLS");
  run_cmd->add_option("--home", home, "State directory (HAL9000_HOME)");
  // claudy's helper for the container mode (daemon/daemon_container.hpp).
  auto* container_cmd = app.add_subcommand(
    "container", "Start or stop hal9000d's own container, <prefix>-parent (what `claudy "
    "daemon start` and `stop` run)");
  std::string container_op;
  int container_timeout = 30;
  bool container_quiet = false, container_remove = false;
  container_cmd->add_option("op", container_op, "start | stop")
    ->required()
    ->check(CLI::IsMember({"start", "stop"}));
  container_cmd->add_option("--timeout", container_timeout, "Seconds to wait")
    ->check(CLI::Range(1, 3600));
  container_cmd->add_flag("--quiet", container_quiet, "Say nothing but errors");
  container_cmd->add_flag("--remove", container_remove, "stop: remove the container too");
  // `claudy daemon certs` runs this: OpenSSL is linked here, not in claudy.
  cert_request cert_req;
  bool cert_json = false;
  auto* certs_cmd = app.add_subcommand(
    "certs", "Create the CA, the daemon's certificate and client bundles (claudy daemon certs)");
  certs_cmd->add_option("--home", home, "State directory (HAL9000_HOME)");
  certs_cmd->add_option("--server-name", cert_req.server_names,
                        "DNS name or IP the daemon is reached at (repeatable)");
  certs_cmd->add_option("--client", cert_req.clients, "A client bundle with this name (repeatable)");
  certs_cmd->add_flag("--force-server", cert_req.force_server, "Replace the daemon's certificate");
  certs_cmd->add_flag("--json", cert_json, "Print what was done as JSON");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  auto env = process_env();
  auto lookup = [&](const std::string& k) -> std::optional<std::string> {
    if (k == "HAL9000_LISTEN" && !listen.empty())
      return listen;
    if (k == "HAL9000_HOME" && !home.empty())
      return home;
    return env(k);
  };
  auto cfg = load_config(lookup);
  if (!cfg) {
    std::cerr << "hal9000d: " << error_message(cfg.error()) << "\n";
    return 2;
  }
  if (ping_cmd->parsed())
    return ping(*cfg);
  if (certs_cmd->parsed()) {
    cert_req.home = cfg->home;
    auto done = create_certs(cert_req);
    if (!done) {
      std::cerr << "claudy: " << error_message(done.error()) << "\n";
      return cli::exit_code_for(done.error());
    }
    if (cert_json)
      std::cout << nlohmann::json{{"done", *done}}.dump(2) << "\n";
    else
      for (auto& line : *done)
        std::cout << line << "\n";
    return 0;
  }
  if (run_cmd->parsed())
    return run(std::move(*cfg));
  if (container_cmd->parsed())
    return container_main(*cfg, container_op, container_timeout, container_quiet,
                          container_remove);
  std::cout << app.help();
  return 0;
}

} // namespace hal9000::daemon
