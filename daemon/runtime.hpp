#pragma once
// The whole runtime as a library: spawns the actors into a caller's actor
// system from a config built in code, returns their typed handles, and shuts
// them down cleanly. hal9000d is one caller; any CAF application can be
// another (its actor_system_config must call hal9000::register_types).

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "messages/chroma.hpp"
#include "messages/cli_bridge.hpp"
#include "messages/docker.hpp"
#include "messages/events.hpp"
#include "messages/parent.hpp"
#include "messages/pool.hpp"
#include "messages/reconcile.hpp"
#include "messages/sandbox.hpp"
#include "messages/session_store.hpp"
#include "messages/sessions.hpp"
#include "messages/terminal.hpp"
#include "messages/worker.hpp"
#include "runtime/config.hpp"
#include "runtime/metrics.hpp"

namespace hal9000 {

struct runtime_options {
  /// Spawn the CLI bridge (publishing it is the caller's business).
  bool with_bridge = true;
  /// Watch ChromaDB on 127.0.0.1:CHROMADB_PORT.
  bool with_chroma_monitor = true;
  std::string token;   // the bridge's control token
  std::string listen;  // shown in status
  bool tls = false;
  /// Called by the bridge after a daemon stop request was answered.
  std::function<void(bool all)> on_stop;
  /// Extra labels on every container the pool makes (tests, multi-tenant).
  std::map<std::string, std::string> extra_labels;
};

struct runtime_handles {
  docker::docker_actor docker;
  session_store_actor store;
  worker_observer_actor recorder;
  parent_actor parent;  // invalid when the config does not manage a parent
  pool_actor pool;
  sessions_actor sessions;  // every session's lifecycle (messages/sessions.hpp)
  /// How long ending every session may take (sessions end in parallel, each
  /// within the pool's release budget).
  std::chrono::milliseconds end_all_budget{75000};
  chroma_monitor_actor chroma;
  event_hub_actor events;
  sandbox_actor sandbox;    // credential proxy + egress policy (messages/sandbox.hpp)
  cli_bridge_actor bridge;  // invalid without with_bridge
  terminals_actor terminals;  // attach, exec, logs; with the bridge
  std::shared_ptr<metrics::daemon_metrics> metrics;
  std::vector<std::string> notes;  // what the user should know (image choice, ...)
  std::string home;  // HAL9000_HOME (its mounts/ is unmounted at a stop with all)
  /// What the start-up reconciliation did (sessions adopted, ended, removed).
  reconcile_report reconciled;
};

/// Spawns every actor. Blocks the calling thread for the start-up checks
/// (image presence) and the reconciliation of what an earlier run left
/// (messages/reconcile.hpp), which finishes before the pool and the bridge
/// exist: call it from main or another non-actor thread. Fails only on a
/// configuration it cannot use.
caf::expected<runtime_handles>
spawn_runtime(caf::actor_system& sys, const config& cfg, runtime_options opts);

/// Points the sandbox (credential proxy, egress filter) at the running parent
/// container parent_name: inspects it for its pid, then (attach_atom, pid).
/// Call it whenever the parent was (re)created; spawn_runtime does after the
/// keeper's ensure. Blocks the calling thread (not an actor's).
caf::expected<sandbox_status> attach_sandbox(caf::actor_system& sys, const runtime_handles& rt,
                                             const std::string& parent_name);

/// Stops every actor and waits until each is gone (the caller's other actors
/// keep running). The pool's warm workers are removed; sessions keep running
/// unless all is set.
void shutdown_runtime(caf::actor_system& sys, runtime_handles& rt, bool all);

} // namespace hal9000
