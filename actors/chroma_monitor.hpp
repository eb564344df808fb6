#pragma once
// Spawns the ChromaDB monitor (interface: messages/chroma.hpp) and a restarter
// that restarts the ChromaDB container through the docker actor.

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include <caf/fwd.hpp>

#include "messages/chroma.hpp"
#include "messages/docker.hpp"
#include "runtime/names.hpp"

namespace hal9000 {
struct config;
}

namespace hal9000::chroma {

struct options {
  /// Base URL of the server, "http://127.0.0.1:<CHROMADB_PORT>".
  std::string url = "http://127.0.0.1:8000";
  /// Pause between the end of one probe and the start of the next.
  std::chrono::milliseconds interval{5000};
  /// The pause instead while probes fail but the state is not down yet, so a
  /// dead server reaches the failure threshold (and its restart) in well
  /// under a second once noticed, not in threshold x interval.
  std::chrono::milliseconds retry_interval{250};
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds read_timeout{2000};
  /// A successful heartbeat slower than this counts as degraded.
  std::chrono::milliseconds slow{1000};
  /// Consecutive failures that make the state down and ask for a restart.
  uint32_t failure_threshold = 3;
  /// Pause between restarts: doubles from min up to max, reset when healthy.
  std::chrono::milliseconds restart_backoff_min{2000};
  std::chrono::milliseconds restart_backoff_max{60000};
  /// How long the restarter may take to reply.
  std::chrono::milliseconds restart_timeout{60000};
};

/// Options for the daemon's configuration (CHROMADB_PORT on the loopback).
options options_from(const hal9000::config& cfg);

/// Spawns the monitor. It probes at once, then every interval, on a detached
/// helper (the HTTP call blocks); restarter may be invalid (no restarts).
/// It keeps itself alive with its timer: stop it with an exit message
/// (caf::anon_send_exit(m, caf::exit_reason::user_shutdown)).
monitor_actor spawn_monitor(caf::actor_system& sys, options opts,
                            restarter_actor restarter);

/// Watches Docker's events for containers with `labels` (the ChromaDB
/// container's role and daemon id) and, when one dies, asks `monitor` to
/// probe at once (check_req) instead of at its next tick: a killed ChromaDB
/// is noticed within the event's latency. Linked to the monitor: it goes
/// when the monitor goes.
void spawn_die_watch(caf::actor_system& sys, docker::docker_actor docker,
                     std::map<std::string, std::string> labels, monitor_actor monitor);

/// A restarter that stops (timeout stop_timeout_s) and starts the container
/// `container` through the docker actor, replying once it runs again. A
/// container that was not running is simply started. Exits with `docker`.
/// Refuses (invalid_argument) the parent container of parent_prefix
/// (HAL9000_PARENT_PREFIX: <prefix>-parent[-*], runtime/names.hpp).
restarter_actor spawn_docker_restarter(caf::actor_system& sys,
                                       docker::docker_actor docker,
                                       std::string container = names::chromadb_container("hal9000"),
                                       int32_t stop_timeout_s = 5,
                                       std::string parent_prefix = "hal9000");

} // namespace hal9000::chroma

namespace hal9000 {

using chroma_options = chroma::options;

/// The brief's name for chroma::spawn_monitor.
inline chroma_monitor_actor
spawn_chroma_monitor(caf::actor_system& sys, chroma_options opts,
                     chroma_restarter_actor restarter) {
  return chroma::spawn_monitor(sys, std::move(opts), std::move(restarter));
}

} // namespace hal9000
