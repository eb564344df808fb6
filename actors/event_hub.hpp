#pragma once
// The event hub (interface: messages/events.hpp): keeps the last events for
// replay, fans each new one out to its sinks (monitored, dropped when they go
// down, wherever they live) and derives metrics from events (event_metrics).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "messages/chroma.hpp"
#include "messages/events.hpp"
#include "messages/session_state.hpp"
#include "messages/worker_state.hpp"
#include "runtime/metrics.hpp"

namespace hal9000 {

struct event_hub_options {
  size_t capacity = 256;  // events kept for replay; 0: none
  /// Updated from events (see event_metrics); null: no metrics.
  std::shared_ptr<metrics::daemon_metrics> metrics;
};

event_hub_actor spawn_event_hub(caf::actor_system& sys, event_hub_options opts);

// -- building events --------------------------------------------------------------

/// "2026-01-26T12:00:00.123Z".
std::string event_time(std::chrono::system_clock::time_point t);

/// The events a worker's state change means (the fields of
/// worker_transition, so this header does not depend on the pool's):
///   creating -> worker.creating, warm -> worker.warm, claimed -> worker.claimed,
///   busy -> session.started, failed -> worker.died (+ session.ended when it
///   served a session), gone -> worker.removed (+ session.ended when it came
///   from busy/claimed/stopping with a session), stopping -> nothing.
/// end (typed, when the container ended) sets end, oom (kind oom_killed),
/// exit_code (exited: its code; signaled: 128+S) and the reason's words on
/// died and ended events; memory_limit (bytes, 0 unknown) goes on them too.
/// from == to (news about a running worker) means no event here.
std::vector<lifecycle_event>
worker_change_events(const std::string& worker_id, const std::string& container_id,
                     worker_state from, worker_state to,
                     const std::string& reason, int64_t time_ms,
                     const std::string& session, served_kind served,
                     int64_t memory_limit = 0, const end_reason& end = {});

/// A ChromaDB monitor event as a chromadb.health event.
lifecycle_event chroma_health_event(const chroma::event& e);

// -- metrics from events ------------------------------------------------------------

/// What the hub derives from events, as a plain class (the hub calls apply
/// for each event; tests call it directly). Not thread-safe: one owner.
///   hal9000_events_total{kind}        every event
///   hal9000_workers{state}            from worker.* and session.started (per worker);
///                                     failed = worker.died since the last pool.cleanup
///   hal9000_refill_duration_ms        worker.creating -> worker.warm of the same worker
///                                     (details["duration_ms"] wins when present)
///   hal9000_claims_total{served}, hal9000_claim_latency_ms
///                                     session.started details served, claim_latency_ms
///   hal9000_sessions_active           sessions started and not ended
///   hal9000_worker_exits_total{reason} worker.died: oom|exit_nonzero|exit_zero|disappeared;
///                                     worker.removed of a live worker: removed
///   hal9000_oom_kills_total           session.oom (details new_kills) and
///                                     worker.died with oom of a worker with no session
///   hal9000_session_oom_kills_total{session}  session.oom (details new_kills)
///   hal9000_sessions_network_lost     sessions cut off (session.network_lost) and not ended
///   hal9000_chromadb_*                chromadb.health details state, latency_ms
///   hal9000_reconcile_actions_total{action} daemon.reconcile details action
class event_metrics {
public:
  explicit event_metrics(std::shared_ptr<metrics::daemon_metrics> m);
  void apply(const lifecycle_event& e);

private:
  void publish_worker_counts();

  std::shared_ptr<metrics::daemon_metrics> m_;
  std::map<std::string, worker_state> workers_;  // id -> warm|creating|busy
  std::map<std::string, std::chrono::steady_clock::time_point> creating_since_;
  std::set<std::string> sessions_;
  std::set<std::string> cut_off_;
  uint64_t failed_ = 0;
};

} // namespace hal9000
