#pragma once
// The engine's side of the container mode: hal9000d inside <prefix>-parent
// (actors/parent_spec.hpp daemon_spec). `claudy daemon start` and `stop` run
// `hal9000d container start|stop` (container_main below) for the few Docker
// calls that create, watch and remove that container, so claudy itself never
// talks to the engine; everything else goes through the daemon.

#include <chrono>
#include <memory>
#include <string>

#include <caf/expected.hpp>

#include "runtime/config.hpp"

namespace hal9000::daemon {

/// A docker actor in an actor system of claudy's own.
class engine {
public:
  explicit engine(const config& cfg);
  ~engine();
  engine(const engine&) = delete;
  engine& operator=(const engine&) = delete;

  struct impl;
  impl& get() { return *impl_; }

private:
  std::unique_ptr<impl> impl_;
};

/// What the daemon's container is doing, for start's wait loop.
struct daemon_container_state {
  bool exists = false;
  bool running = false;
  bool restarting = false;
  int64_t exit_code = 0;
  std::string id;
  std::string role;  // label hal9000.role
  std::string started_at;  // State.StartedAt: changes with every (re)start
};

/// Makes <prefix>-parent run hal9000d with the configuration of now: created
/// when missing, recreated when stopped (a stopped one holds nothing: its
/// configuration may be old), left alone when running. Prepares the host
/// first: HAL9000_HOME, logs/ and mounts/ exist, and mounts/ is made an
/// rshared mount point when claudy is root (so the daemon's late-bound mounts
/// reach the workers), and the host mount holding each allowed root is made
/// shared when it is private (so the roots are bound rslave and a mount made
/// inside a project after the start reaches the daemon). `said` receives what was done, in words. Errors:
/// conflict (a container by that name that is not ours or not a daemon's),
/// not_found (PARENT_IMAGE missing, with the recipe to build it),
/// unavailable (no engine).
caf::expected<std::string> launch_daemon_container(engine& e, const config& cfg,
                                                   std::string& said);

/// The container's state now (exists=false when there is none).
caf::expected<daemon_container_state> daemon_container(engine& e, const config& cfg);

/// The last `lines` lines of its log (docker logs).
std::string daemon_container_logs(engine& e, const config& cfg, int lines);

/// Waits until the container called name is not running (or gone), up to
/// deadline.
bool wait_daemon_container_stopped(engine& e, const std::string& name,
                                   std::chrono::milliseconds deadline);

/// Removes the container called name (forced) when it is a daemon's (label
/// hal9000.role=daemon; conflict otherwise); fine when it is not there.
caf::error remove_daemon_container(engine& e, const std::string& name);

/// `hal9000d container start [--timeout S] [--quiet]`: launch_daemon_container,
/// then wait until the control port (HAL9000_LISTEN) accepts a connection
/// (exit 0) or the container ends or the timeout passes (its log's last lines
/// on stderr, the container removed so Docker does not restart a daemon that
/// cannot start; exit 3; exit 2 with its words when hal9000d refused its
/// configuration, e.g. WORKER_CPUS beyond the host). `hal9000d container stop [--remove] [--timeout S]`:
/// waits until <prefix>-parent no longer runs, then (--remove) removes it when
/// it is a daemon's. Errors have claudy's exit codes (README). The
/// configuration comes from the environment (claudy passes daemon_env).
int container_main(const config& cfg, const std::string& op, int timeout_s, bool quiet,
                   bool remove);

} // namespace hal9000::daemon
