#pragma once
// Lifecycle events: what happened to workers, sessions, ChromaDB and the pool,
// as one wire type. Any actor publishes to the event hub (fire-and-forget:
// send a lifecycle_event to the hub); sinks, local or in another process
// (`claudy events --follow`), subscribe and get each event as it happens.
//
// Errors (hal9000::errc): invalid_argument for a follow subscription without
// a sink; the bridge answers unauthenticated before the hub sees a request.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "messages/chroma.hpp"
#include "messages/credentials.hpp"
#include "messages/end_reason.hpp"

namespace hal9000 {

// -- event kinds -------------------------------------------------------------------
// Publishers use these names; the hub derives metrics from the ones marked (m).

namespace event_kinds {
constexpr const char* worker_creating = "worker.creating";  // (m) creation started
constexpr const char* worker_warm = "worker.warm";          // (m) ready to be claimed
constexpr const char* worker_claimed = "worker.claimed";    // (m) taken for a session
/// (m) the container died on its own: end, exit_code, oom, memory_limit;
/// reason says how ("OOM-killed (memory limit 4g)", "exited with code 1",
/// "killed by signal 15", "removed from outside", "image missing: ...").
constexpr const char* worker_died = "worker.died";
/// (m) removed on purpose (session over, scale down, cleanup, daemon stop).
constexpr const char* worker_removed = "worker.removed";
/// A replacement was started for worker_id; details["replacement"] = its id.
constexpr const char* worker_replaced = "worker.replaced";
/// (m) session, worker_id, container_id; details: served (warm|cold),
/// claim_latency_ms, project.
constexpr const char* session_started = "session.started";
/// (m) session; end (typed, messages/end_reason.hpp) and reason (its words:
/// "exited with code 0", "killed by signal 9", "OOM-killed (memory limit
/// 512m)", "stopped by user", ...); exit_code, oom and memory_limit when the
/// container died. A start the engine refused ends too (image missing,
/// create failed), with no worker.
constexpr const char* session_ended = "session.ended";
/// (m) details: state (unknown|healthy|degraded|down), latency_ms, error.
constexpr const char* chromadb_health = "chromadb.health";
/// details: requested, target, started, removed.
constexpr const char* pool_scale = "pool.scale";
/// (m) details: removed, failed_cleared. Resets the failed-workers gauge.
constexpr const char* pool_cleanup = "pool.cleanup";
/// (m) details: action (adopted, returned, removed_orphan, ...). One event per
/// action of the start-up reconciliation.
constexpr const char* daemon_reconcile = "daemon.reconcile";
/// (m) the kernel OOM-killed a process inside a session that goes on:
/// session, oom=true, memory_limit (bytes); details: oom_kills (the
/// session's count so far), new_kills, memory_limit (Docker syntax).
constexpr const char* session_oom = "session.oom";
/// (m) a session's network namespace owner went away: the session runs on
/// with loopback only. reason says why; details: restore (the command).
constexpr const char* session_network_lost = "session.network_lost";
/// The parent (namespace owner) stopped, restarted or was removed from
/// outside: reason says which; details: parent, container_id, action.
constexpr const char* parent_lost = "parent.lost";
/// The parent runs again (recreated or started) with the daemon's
/// configuration; details: parent, sessions_cut_off, chromadb.
constexpr const char* parent_restored = "parent.restored";
/// The Docker engine's event stream went down (details: reason) or came
/// back (details: reason "reconnected"); what was found then follows as
/// worker.* / session.* events.
constexpr const char* engine_down = "engine.down";
constexpr const char* engine_up = "engine.up";
} // namespace event_kinds

// -- the event ---------------------------------------------------------------------

/// One thing that happened. Only kind is required; the other fields are set
/// when they apply ("" / -1 / 0 otherwise).
struct lifecycle_event {
  std::string time;          // ISO-8601 UTC with ms ("2026-01-26T12:00:00.123Z");
                             // the hub stamps it when the publisher left it empty
  std::string kind;          // an event_kinds name
  std::string worker_id;
  std::string session;
  std::string container_id;
  std::string reason;        // human words: why
  int32_t exit_code = -1;    // the container's exit code; -1: none or unknown
  bool oom = false;          // killed by the kernel's OOM killer
  int64_t memory_limit = 0;  // bytes; 0: unknown or unlimited
  std::map<std::string, std::string> details;
  /// worker.died and session.ended: why, typed (reason is its words).
  end_reason end;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, lifecycle_event& x) {
  return f(caf::meta::type_name("hal9000::lifecycle_event"), x.time, x.kind,
           x.worker_id, x.session, x.container_id, x.reason, x.exit_code, x.oom,
           x.memory_limit, x.details, x.end);
}

/// Receives events, one message each, in the order the hub got them.
using event_sink = caf::typed_actor<caf::reacts_to<lifecycle_event>>;

// -- requests ----------------------------------------------------------------------

/// `claudy events`: the bridge checks who, then delegates to the hub.
///   follow=false: the reply carries the recent events (when replay); sink is
///                 not used and may be invalid.
///   follow=true:  the hub sends the recent events (when replay) and then every
///                 new one to sink, in order, until sink goes down or
///                 unsubscribes; the reply says how many were replayed.
struct events_subscribe_req {
  credentials who;
  event_sink sink;
  bool follow = false;
  bool replay = true;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, events_subscribe_req& x) {
  return f(caf::meta::type_name("hal9000::events_subscribe_req"), x.who, x.sink,
           x.follow, x.replay);
}

struct events_subscribe_reply {
  std::vector<lifecycle_event> recent;  // follow=false only, oldest first
  uint32_t replayed = 0;                // follow=true: events sent to the sink before any new one
  caf::actor hub;                       // the hub; a follower monitors it to notice the daemon going away
  uint32_t sinks = 0;                   // followers subscribed now (this one included)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, events_subscribe_reply& x) {
  return f(caf::meta::type_name("hal9000::events_subscribe_reply"), x.recent,
           x.replayed, x.hub, x.sinks);
}

struct events_unsubscribe_req {
  event_sink sink;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, events_unsubscribe_req& x) {
  return f(caf::meta::type_name("hal9000::events_unsubscribe_req"), x.sink);
}

// -- the hub ------------------------------------------------------------------------

using event_hub_actor = caf::typed_actor<
  /// Publishes (fire-and-forget): stamps the time when empty, keeps it for
  /// replay, updates the metrics, sends it to every sink.
  caf::reacts_to<lifecycle_event>,
  /// See events_subscribe_req. invalid_argument: follow without a sink.
  /// credentials are not checked here (the bridge does).
  caf::replies_to<events_subscribe_req>::with<events_subscribe_reply>,
  /// Drops the sink; unknown sinks are ignored.
  caf::replies_to<events_unsubscribe_req>::with<void>,
  /// A ChromaDB monitor event (the hub is a chroma::sink_actor): state
  /// changes become chromadb.health events; restart steps become
  /// chromadb.health events with details["step"].
  caf::reacts_to<chroma::event>>;

} // namespace hal9000
