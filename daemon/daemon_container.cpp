#include "daemon/daemon_container.hpp"

#include <cerrno>
#include <cstring>
#include <iostream>
#include <set>
#include <thread>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include "actors/docker_actor.hpp"
#include "actors/parent_spec.hpp"
#include "cli/exit_codes.hpp"
#include "messages/error.hpp"
#include "runtime/names.hpp"
#include "runtime/late_bind.hpp"
#include "runtime/system_config.hpp"

namespace hal9000::daemon {

namespace {

using namespace std::chrono_literals;
constexpr auto call_timeout = 30s;

} // namespace

struct engine::impl {
  system_config sys_cfg;
  caf::actor_system sys{sys_cfg};
  docker::docker_actor docker;
  caf::scoped_actor self{sys};

  explicit impl(const config& cfg) : docker(docker::spawn_docker(sys, docker::options_from(cfg))) {}
  ~impl() { self->send_exit(docker, caf::exit_reason::user_shutdown); }

  /// One request, answered or failed within the timeout.
  template <class Reply, class Req>
  caf::expected<Reply> call(Req req, std::chrono::milliseconds timeout = call_timeout) {
    caf::expected<Reply> out{caf::error{}};
    self->request(docker, timeout, std::move(req))
      .receive([&](Reply& r) { out = std::move(r); }, [&](caf::error& err) { out = err; });
    return out;
  }

  template <class Req>
  caf::error call_void(Req req, std::chrono::milliseconds timeout = call_timeout) {
    caf::error out;
    self->request(docker, timeout, std::move(req))
      .receive([&]() {}, [&](caf::error& err) { out = err; });
    return out;
  }
};

engine::engine(const config& cfg) : impl_(std::make_unique<impl>(cfg)) {}
engine::~engine() = default;

namespace {

caf::error with_context(const caf::error& err, const std::string& what) {
  return make_error(error_code(err), what + ": " + error_message(err));
}

bool is_dir(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// The host half of late binding and the mounts of the daemon's container.
caf::expected<daemon_host> prepare_host(const config& cfg, std::string& said) {
  daemon_host h;
  h.home = cfg.home;
  if (::geteuid() != 0)
    h.owner = std::to_string(::geteuid()) + ":" + std::to_string(::getegid());
  for (auto dir : {cfg.home, cfg.home + "/logs"})
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
      return make_error(errc::internal, "cannot create " + dir + ": " + std::strerror(errno));
  auto mounts = late_bind::mounts_dir(cfg.home);
  if (::mkdir(mounts.c_str(), 0711) != 0 && errno != EEXIST)
    return make_error(errc::internal, "cannot create " + mounts + ": " + std::strerror(errno));
  if (cfg.docker_host.rfind("unix://", 0) == 0) {
    h.docker_socket = cfg.docker_host.substr(7);
    if (::geteuid() == 0) {
      // What a host daemon does at its start, done here: the container's
      // bind of mounts/ can then be rshared, a peer of this mount.
      if (auto err = late_bind::ensure_rshared(mounts))
        said += "note: " + error_message(err) + ": claims will be cold\n";
      else
        h.mounts_shared = true;
    } else {
      auto info = late_bind::inspect_mount(mounts);
      h.mounts_shared = info.mounted ? info.shared : late_bind::propagates(mounts);
      if (!h.mounts_shared)
        said += "note: " + mounts + " is not a shared mount and claudy is not root: "
                "claims will be cold and projects bound as they are (to change that, as "
                "root: `mount --bind " + mounts + " " + mounts + " && mount --make-rshared "
                + mounts + "`, then start again)\n";
    }
  }
  // Each root is bound rslave when its host mount propagates, so a mount
  // made under it after this start (a tmpfs or a disk inside a project)
  // reaches the daemon, which binds the project from there into sessions.
  // Docker refuses rslave from a private mount: as root, the mount holding
  // the root (usually /, private on hosts without systemd) is made shared
  // first, alone, as systemd does at boot. Not root: bound as it is, and
  // only what was mounted before this start is seen.
  for (auto& root : cfg.allowed_roots) {
    if (!is_dir(root))
      continue;
    if (::geteuid() == 0 && !late_bind::propagates(root)) {
      auto made = late_bind::ensure_propagates(root);
      if (!made)
        said += "note: " + error_message(made.error()) + ": mounts made under " + root
                + " after this start will be missing in sessions until a restart\n";
      else if (!made->empty())
        said += "made the mount at " + *made + " shared (as systemd does) so that mounts "
                "made under " + root + " later reach the daemon\n";
    }
    bool slave = late_bind::propagates(root);
    if (!slave && ::geteuid() != 0)
      said += "note: the mount holding " + root + " is private and claudy is not root: "
              "mounts made under it after this start will be missing in sessions until "
              "`claudy daemon restart` (as root, `mount --make-shared` on that mount once "
              "fixes it)\n";
    h.roots.emplace_back(root, slave);
  }
  return h;
}

} // namespace

namespace {

caf::expected<daemon_container_state> container_state_of(engine& e, const std::string& name) {
  auto info = e.get().call<docker::container_info>(docker::inspect_req{name});
  daemon_container_state out;
  if (!info) {
    if (error_code(info.error()) == errc::not_found)
      return out;
    return with_context(info.error(), "cannot inspect " + name);
  }
  out.exists = true;
  out.running = info->running;
  out.restarting = info->state == "restarting";
  out.exit_code = info->exit_code;
  out.id = info->id;
  out.role = info->labels.count(names::label_role) ? info->labels.at(names::label_role) : "";
  out.started_at = info->started_at;
  return out;
}

} // namespace

caf::expected<daemon_container_state> daemon_container(engine& e, const config& cfg) {
  return container_state_of(e, daemon_container_name(cfg.parent_prefix));
}

caf::expected<std::string> launch_daemon_container(engine& e, const config& cfg,
                                                   std::string& said) {
  auto& en = e.get();
  auto name = daemon_container_name(cfg.parent_prefix);
  auto info = en.call<docker::container_info>(docker::inspect_req{name});
  if (info) {
    if (auto why = daemon_container_problem(cfg, *info); !why.empty())
      return make_error(errc::conflict, why);
    if (info->running || info->state == "restarting")
      return info->id;  // starting (or restarted by Docker): wait for it
    // Stopped: its configuration may be old; it holds no namespace.
    if (auto err = en.call_void(docker::remove_req{info->id, true, false}))
      return with_context(err, "cannot remove the stopped " + name);
    said += "removed the stopped " + name + " (recreated with the configuration of now)\n";
  } else if (error_code(info.error()) != errc::not_found) {
    return with_context(info.error(), "cannot inspect " + name);
  }
  auto host = prepare_host(cfg, said);
  if (!host)
    return host.error();
  if (auto img = en.call<docker::image_info>(docker::image_inspect_req{cfg.parent_image}); !img) {
    if (error_code(img.error()) != errc::not_found)
      return with_context(img.error(), "cannot inspect image " + cfg.parent_image);
    return make_error(errc::not_found,
                      missing_image_message(cfg.parent_image, config{}.parent_image,
                                            "PARENT_IMAGE", "parent", "")
                        + " (it carries hal9000d; or run it on the host with "
                          "`claudy daemon start --host-process`)");
  }
  auto spec = daemon_spec(cfg, *host);
  auto created = en.call<docker::container_created>(docker::create_req{spec});
  if (!created)
    return with_context(created.error(), "cannot create " + name);
  if (auto err = en.call_void(docker::start_req{created->id})) {
    en.call_void(docker::remove_req{created->id, true, false});
    return with_context(err, "cannot start " + name);
  }
  said += "started hal9000d in " + name + " (" + cfg.parent_image + "; log: docker logs "
          + name + ")\n";
  return created->id;
}

std::string daemon_container_logs(engine& e, const config& cfg, int lines) {
  auto name = daemon_container_name(cfg.parent_prefix);
  auto text = e.get().call<std::string>(docker::logs_req{name, lines});
  if (!text)
    return "  (no log: " + error_message(text.error()) + ")\n";
  std::string out;
  size_t pos = 0;
  while (pos < text->size()) {
    auto nl = text->find('\n', pos);
    auto line = text->substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    out += "  " + line + "\n";
    if (nl == std::string::npos)
      break;
    pos = nl + 1;
  }
  return out;
}

bool wait_daemon_container_stopped(engine& e, const std::string& name,
                                   std::chrono::milliseconds deadline) {
  auto until = std::chrono::steady_clock::now() + deadline;
  for (;;) {
    auto st = container_state_of(e, name);
    if (st && (!st->exists || (!st->running && !st->restarting)))
      return true;
    if (std::chrono::steady_clock::now() >= until)
      return false;
    // Docker marks the container exited a few ms after its process ends.
    std::this_thread::sleep_for(10ms);
  }
}

caf::error remove_daemon_container(engine& e, const std::string& name) {
  auto st = container_state_of(e, name);
  if (!st)
    return st.error();
  if (!st->exists)
    return caf::none;
  if (st->role != "daemon")
    return make_error(errc::conflict, "not removing " + name + ": it is no daemon's container "
                                      "(label hal9000.role=" + st->role + ")");
  auto err = e.get().call_void(docker::remove_req{st->id, true, false});
  if (err && error_code(err) != errc::not_found)
    return with_context(err, "cannot remove " + name);
  return caf::none;
}

namespace {

// Whether host:port accepts a TCP connection now (the control endpoint is
// up; claudy then authenticates and waits until it is ready).
bool port_answers(const std::string& host, uint16_t port) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  auto h = host == "0.0.0.0" ? std::string{"127.0.0.1"} : host == "::" ? std::string{"::1"} : host;
  if (::getaddrinfo(h.c_str(), std::to_string(port).c_str(), &hints, &res) != 0 || !res)
    return false;
  bool ok = false;
  for (auto* a = res; a && !ok; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0)
      continue;
    ok = ::connect(fd, a->ai_addr, a->ai_addrlen) == 0;
    ::close(fd);
  }
  ::freeaddrinfo(res);
  return ok;
}

int start_and_wait(const config& cfg, int timeout_s, bool quiet) {
  auto name = daemon_container_name(cfg.parent_prefix);
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  engine eng{cfg};
  std::string said;
  auto id = launch_daemon_container(eng, cfg, said);
  if (!quiet && !said.empty())
    std::cerr << said;
  if (!id) {
    std::cerr << "claudy: " << error_message(id.error()) << "\n";
    return cli::exit_code_for(id.error());
  }
  // Docker restarts the daemon when it fails (on-failure): one restart is a
  // daemon killed or crashed before this start (kill -9; it comes back and
  // reconciles), a third start without the port answering is a daemon that
  // cannot start (a bad setting): removed, or Docker would restart it forever.
  std::set<std::string> starts;
  for (;;) {
    if (port_answers(cfg.listen_host, cfg.port))
      return cli::exit_ok;
    auto st = daemon_container(eng, cfg);
    if (st && st->exists && !st->started_at.empty()
        && st->started_at != "0001-01-01T00:00:00Z")
      starts.insert(st->started_at);
    // Exit code 2: hal9000d refused its configuration (WORKER_CPUS beyond
    // the host, ...). It would say so again at every restart: its words, exit 2.
    // (Docker says Running while it waits to restart it; ExitCode is the
    // last exit's until the process runs again.)
    bool refused = st && st->exists && (st->restarting || !st->running)
                   && st->exit_code == cli::exit_usage;
    bool ended = st
                 && (!st->exists || starts.size() >= 3
                     || (!st->running && !st->restarting && st->exit_code == 0));
    if (refused) {
      auto logs = daemon_container_logs(eng, cfg, 20);
      std::cerr << "claudy: hal9000d in " << name << " refused its configuration (code "
                << st->exit_code << "); last lines of `docker logs " << name << "`:\n" << logs;
      if (auto err = remove_daemon_container(eng, name))
        std::cerr << "claudy: " << error_message(err) << "\n";
      // Nothing was started: the shared mounts/ point made for it goes too.
      if (::geteuid() == 0)
        if (auto err = late_bind::unmount_all_under(late_bind::mounts_dir(cfg.home)))
          std::cerr << "claudy: " << error_message(err) << "\n";
      return cli::exit_usage;
    }
    if (ended || std::chrono::steady_clock::now() >= until) {
      auto logs = daemon_container_logs(eng, cfg, 20);
      if (ended) {
        std::cerr << "claudy: hal9000d ended during start in " << name;
        if (st->exists)
          std::cerr << " (code " << st->exit_code << ")";
      } else {
        std::cerr << "claudy: hal9000d in " << name << " did not answer on " << cfg.listen_host
                  << ":" << cfg.port << " within " << timeout_s << " s";
      }
      std::cerr << "; last lines of `docker logs " << name << "`:\n" << logs;
      if (auto err = remove_daemon_container(eng, name))
        std::cerr << "claudy: " << error_message(err) << "\n";
      return cli::exit_unavailable;
    }
    // Polls the port with a deadline; the daemon gives no other signal.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

int stop_and_wait(const config& cfg, int timeout_s, bool remove) {
  auto name = daemon_container_name(cfg.parent_prefix);
  engine eng{cfg};
  if (!wait_daemon_container_stopped(eng, name, std::chrono::seconds(timeout_s))) {
    std::cerr << "claudy: " << name << " still runs " << timeout_s
              << " s after hal9000d stopped\n";
    return cli::exit_failure;
  }
  if (remove) {
    if (auto err = remove_daemon_container(eng, name)) {
      std::cerr << "claudy: " << error_message(err) << "\n";
      return cli::exit_code_for(err);
    }
    // The host's half of late binding (made by launch_daemon_container):
    // HAL9000_HOME/mounts, and anything left under it, is unmounted here, as a
    // host daemon's `stop --all` does, so the directory can be removed.
    if (::geteuid() == 0)
      if (auto err = late_bind::unmount_all_under(late_bind::mounts_dir(cfg.home)))
        std::cerr << "claudy: " << error_message(err) << "\n";
  }
  return cli::exit_ok;
}

} // namespace

int container_main(const config& cfg, const std::string& op, int timeout_s, bool quiet,
                   bool remove) {
  if (op == "start")
    return start_and_wait(cfg, timeout_s, quiet);
  if (op == "stop")
    return stop_and_wait(cfg, timeout_s, remove);
  std::cerr << "hal9000d container: expected start or stop, got '" << op << "'\n";
  return cli::exit_usage;
}

} // namespace hal9000::daemon
