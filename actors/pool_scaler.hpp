#pragma once
// Spawns the pool scaler (interface: messages/pool.hpp): the warm pool's
// workers, its claim queue, refill and the safety-net reconciliation.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "actors/worker.hpp"
#include "messages/docker.hpp"
#include "messages/pool.hpp"

namespace hal9000 {

struct config;

struct pool_options {
  std::string home;                  // HAL9000_HOME
  /// HAL9000_HOST_HOME: HAL9000_HOME as the engine sees it ("" = home).
  std::string host_home;
  /// hal9000d runs inside its parent container (HAL9000_DAEMON_MODE).
  bool in_container = false;
  std::string daemon_id = "default"; // label hal9000.daemon
  std::string image;                 // WORKER_IMAGE (as resolved by the runtime)
  resource_limits limits;            // WORKER_MEMORY / WORKER_CPUS / WORKER_PIDS_LIMIT
  std::string command;               // WORKER_COMMAND; empty: Claude Code in tmux
  bool enabled = false;              // ENABLE_POOL_MANAGER: refill from the start
  uint32_t min_warm = 2;             // MIN_WARM_WORKERS
  uint32_t max_warm = 5;             // MAX_WARM_WORKERS
  uint32_t max_creating = 2;         // HAL9000_MAX_CREATING
  /// Refills wait this long after a claim was given to a worker or answered
  /// (0: at once): creating a container keeps dockerd and containerd busy
  /// (tens of ms of CPU) just when the claimed worker's handshake and rename,
  /// the session's record and its client's reply need the CPU. The daemon's
  /// (pool_options_from): 50 ms.
  std::chrono::milliseconds refill_quiet{0};
  std::chrono::milliseconds idle_timeout{300000};   // IDLE_TIMEOUT
  std::chrono::milliseconds check_interval{30000};  // CHECK_INTERVAL
  std::chrono::milliseconds claim_timeout{30000};   // HAL9000_CLAIM_TIMEOUT
  std::chrono::milliseconds ack_timeout{5000};      // session command start
  std::chrono::milliseconds docker_timeout{30000};  // one Docker call
  std::string docker_host = "unix:///var/run/docker.sock";  // to judge late binding
  std::vector<std::string> allowed_roots;  // HAL9000_ALLOWED_ROOTS (empty: defaults)
  std::string network_mode = "bridge";  // "container:hal9000-parent" once it exists
  std::vector<std::string> cap_add;     // what the image needs on top of cap-drop ALL
  std::map<std::string, std::string> extra_labels;  // tests: test_labels()
  /// Named volumes in every worker (the runtime: Memory Bank and plugins).
  std::vector<docker::mount_spec> volumes;
  /// ~/.claude in the image (HAL9000_CLAUDE_HOME); empty: no per-user state.
  std::string claude_home;
  uint32_t user_uid = 1000;  // HAL9000_WORKER_UID: projects and homes are id-mapped to it
  uint32_t user_gid = 1000;  // HAL9000_WORKER_GID
  /// Whether id-mapped mounts work (spawn_pool probes HAL9000_HOME/mounts and
  /// overwrites both; idmap_reason says why not). Tests may set them.
  bool idmap = true;
  std::string idmap_reason;
  bool force_cold = false;     // no late binding (HAL9000_FORCE_COLD=true, tests)
  bool cold_fallback = true;   // queued claims may start a cold create
  /// false (the default): a claim replies once the project is mounted and the
  /// command acknowledged; the rename to the session's name, dockerd's slowest
  /// step here (4-20 ms), finishes just after. Nothing is lost if the daemon
  /// dies in between: the session's record (written before the reply) names
  /// the container and worker, and the start-up reconciliation adopts and
  /// renames it. true: reply only once renamed (benchmarks compare both).
  bool rename_before_reply = false;
  /// Sessions of an earlier run to own from the start (the runtime's
  /// reconciliation found them running): each gets a worker in busy, so its
  /// Docker events, release and end work like any other session's.
  std::vector<adopted_session> adopt;
  /// Called (on the pool's thread; must not block) whenever refilling starts
  /// or stops: the runtime keeps pool/pool-manager.pid with it.
  std::function<void(bool running)> on_running;
  /// The workers' host-side steps (slot, mounts, handshake, cleanup) and the
  /// pool's own slot cleanups; null: the real ones (actors/worker.hpp).
  std::shared_ptr<const worker_host_steps> host;
};

/// Options from the daemon's configuration.
pool_options pool_options_from(const config& cfg);

// -- one timeout budget: a caller waits for its callee's deadline ----------------

/// The longest a claim may take to be answered: queued up to claim_timeout,
/// then its worker's own deadlines (each step a Docker call or the ack
/// wait, run in parallel), plus a margin. Callers wait at least this long.
std::chrono::milliseconds pool_claim_budget(const pool_options& opts);

/// The longest a release (a worker's stop: Docker stop and remove, unmounts)
/// may take to be answered.
std::chrono::milliseconds pool_release_budget(const pool_options& opts);

/// The longest `stop` (every warm worker removed) may take to be answered.
std::chrono::milliseconds pool_stop_budget(const pool_options& opts);

/// Checks counts (MIN <= MAX <= 100, max_creating >= 1), limits and paths;
/// invalid_argument naming the setting.
caf::error validate(const pool_options& opts);

/// Makes a worker; the pool passes its own handle as the worker's pool
/// observer. Tests substitute stand-in workers.
using worker_factory
  = std::function<worker_actor(caf::actor_system&, const worker_options&,
                               worker_observer_actor pool)>;

/// Spawns the pool: writes the entrypoint script, judges late binding (and
/// makes HAL9000_HOME/mounts rshared), subscribes to the workers' Docker
/// events, and starts refilling when opts.enabled. observer may be invalid.
/// Invalid options make every request fail with the validation error.
pool_actor spawn_pool(caf::actor_system& sys, pool_options opts,
                      docker::docker_actor docker,
                      worker_observer_actor observer);

/// The same with a worker factory and no Docker (docker may be invalid: no
/// event subscription, no reconciliation), for deterministic tests. late_bind
/// says whether warm claims are possible (no mount checks are made).
pool_actor spawn_pool_with(caf::actor_system& sys, pool_options opts,
                           docker::docker_actor docker,
                           worker_observer_actor observer,
                           worker_factory factory, bool late_bind,
                           std::string late_bind_reason);

} // namespace hal9000
