#pragma once
// The ChromaDB monitor's typed interface, and the restarter it calls.
// The monitor probes GET /api/v2/heartbeat (falling back to /api/v1/heartbeat
// when v2 answers 404 or 410) on a timer; only a 200 whose JSON body carries a
// number under "nanosecond heartbeat" counts as healthy.
//
//   unknown --probe ok--> healthy --fail--> degraded --threshold fails--> down
//      |                    ^  |               |                           |
//      +------fail----------|--+-- slow ok ----+                           |
//                           +------------------- probe ok -----------------+
// While down it asks the restarter to restart the ChromaDB container, with
// exponential backoff between attempts. It never touches the parent.

#include <cstdint>
#include <string>

#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "messages/atoms.hpp"

namespace hal9000::chroma {

// -- value types ---------------------------------------------------------------

enum class health : uint8_t {
  unknown = 0,  // no probe has finished yet
  healthy,      // the last probe succeeded in time
  degraded,     // failures below the threshold, or the last probe was slow
  down,         // failure_threshold consecutive failures
};

/// "unknown", "healthy", "degraded", "down".
std::string to_string(health x);

/// A snapshot of what the monitor knows. Every field is set by the monitor.
struct status {
  health state = health::unknown;
  double latency_ms = -1;  // of the last successful probe; -1: none yet
  std::string last_error;  // of the last failed probe or restart; "" if none
  uint32_t consecutive_failures = 0;
  uint32_t restarts = 0;   // restarts the restarter reported done
  std::string url;         // base URL probed, e.g. "http://127.0.0.1:8000"
  std::string endpoint;    // path that answered last, e.g. "/api/v2/heartbeat"
  int64_t checked_at_ms = 0;  // unix ms of the last finished probe; 0: none
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, status& x) {
  return f(caf::meta::type_name("hal9000::chroma::status"), x.state,
           x.latency_ms, x.last_error, x.consecutive_failures, x.restarts,
           x.url, x.endpoint, x.checked_at_ms);
}

/// What happened, sent to subscribers with the status after it.
enum class event_kind : uint8_t {
  state_changed = 1,  // status.state differs from the previous state
  restarting,         // a restart was asked of the restarter
  restarted,          // the restarter replied: done
  restart_failed,     // the restarter replied an error (in status.last_error)
};

/// "state_changed", "restarting", "restarted", "restart_failed".
std::string to_string(event_kind x);

struct event {
  event_kind kind = event_kind::state_changed;
  status current;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, event& x) {
  return f(caf::meta::type_name("hal9000::chroma::event"), x.kind, x.current);
}

// -- the restarter -------------------------------------------------------------------

/// Asks for the ChromaDB server (the hal9000-chromadb container) to be
/// restarted. attempt counts from 1 since the server was last healthy.
struct restart_req {
  std::string reason;
  uint32_t attempt = 1;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, restart_req& x) {
  return f(caf::meta::type_name("hal9000::chroma::restart_req"), x.reason,
           x.attempt);
}

/// Implemented by whoever owns the ChromaDB container (the runtime, through
/// the docker actor; tests with their own process).
using restarter_actor = caf::typed_actor<
  /// Replies once the server was started again (it may not answer yet);
  /// an error (hal9000::errc) naming what failed otherwise.
  caf::replies_to<restart_req>::with<void>>;

// -- the monitor -------------------------------------------------------------------------

/// Receives every event (state change and restart step).
using sink_actor = caf::typed_actor<caf::reacts_to<event>>;

struct subscribe_req {
  sink_actor sink;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, subscribe_req& x) {
  return f(caf::meta::type_name("hal9000::chroma::subscribe_req"), x.sink);
}

struct unsubscribe_req {
  sink_actor sink;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, unsubscribe_req& x) {
  return f(caf::meta::type_name("hal9000::chroma::unsubscribe_req"), x.sink);
}

/// Probes now instead of waiting for the timer.
struct check_req {
  int32_t unused = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, check_req& x) {
  return f(caf::meta::type_name("hal9000::chroma::check_req"), x.unused);
}

using monitor_actor = caf::typed_actor<
  /// The current status; never fails.
  caf::replies_to<status_atom>::with<status>,
  /// Probes at once and replies the status after that probe (a probe already
  /// in flight is waited for). Never fails: a failed probe is in the status.
  caf::replies_to<check_req>::with<status>,
  /// Adds sink; it gets an event{state_changed, status} right away.
  /// Sinks are monitored and dropped when they exit.
  caf::replies_to<subscribe_req>::with<void>,
  caf::replies_to<unsubscribe_req>::with<void>>;

} // namespace hal9000::chroma

namespace hal9000 {
// The names the brief and the runtime use.
using chroma_status = chroma::status;
using chroma_monitor_actor = chroma::monitor_actor;
using chroma_restarter_actor = chroma::restarter_actor;
using chroma_sink_actor = chroma::sink_actor;
} // namespace hal9000
