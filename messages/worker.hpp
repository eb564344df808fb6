#pragma once
// A worker: one container that serves at most one session. The value types a
// claim carries (shared with messages/pool.hpp), the transitions a worker
// reports, and the worker actor's own interface (used by the pool scaler).
//
// Errors are hal9000::errc values with a message naming the worker:
//   invalid_argument   a claim field is malformed (name, command, limits)
//   conflict           the worker is not warm (already claimed, stopping...)
//   unavailable        the Docker engine refused or is unreachable
//   deadline_exceeded  the session command did not acknowledge its start
//   internal           mount(2) or the control FIFO failed (errno text)

#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "messages/atoms.hpp"
#include "messages/docker.hpp"
#include "messages/end_reason.hpp"
#include "messages/resource_limits.hpp"
#include "messages/session_state.hpp"
#include "messages/worker_state.hpp"

namespace hal9000 {

// -- value types ---------------------------------------------------------------

/// What a session asks for.
struct claim_request {
  std::string session_name;  // required; Docker's name rule; the container's new name
  std::string project_dir;   // required; an already validated realpath on the daemon's host
  bool has_limits = false;   // false: the pool's default limits
  resource_limits limits;    // only read when has_limits; parsed (numbers)
  std::string user_id;       // optional; the authenticated user (runtime/users.hpp):
                             // their Claude home and secrets are bound in.
                             // Never taken from what a client says of itself
  std::string command;       // optional; empty: the configured WORKER_COMMAND
  /// Whose files the session writes: the project is id-mapped so that this
  /// host uid/gid is the worker image's (runtime/idmap.hpp). Decided by the
  /// daemon from the token (uid-N: N; tls-X: HAL9000_TLS_USERS); -1: the
  /// project directory's owner (root's requests, tests). A uid >= 0 also
  /// means the project is opened as that user, so it gets nothing that user
  /// cannot reach on the host.
  int64_t uid = -1;
  int64_t gid = -1;
  /// "NAME=value" exported before the command runs (the sandbox's grant:
  /// ANTHROPIC_BASE_URL, the placeholder, HTTPS_PROXY...). Names are
  /// [A-Za-z_][A-Za-z0-9_]*, values free of quotes, whitespace and `$\`.
  std::vector<std::string> env;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, claim_request& x) {
  return f(caf::meta::type_name("hal9000::claim_request"), x.session_name,
           x.project_dir, x.has_limits, x.limits, x.user_id, x.command, x.uid,
           x.gid, x.env);
}

/// A served claim: the session's command runs in container_id with the
/// project at /workspace.
struct claim_reply {
  std::string session_name;
  std::string container_id;
  std::string worker_id;
  served_kind served = served_kind::none;  // warm or cold
  int64_t latency_us = 0;      // pool received the claim -> command started
  resource_limits limits;      // the limits the container runs with
  std::string image;
  std::vector<std::string> warnings;  // e.g. why a claim went cold
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, claim_reply& x) {
  return f(caf::meta::type_name("hal9000::claim_reply"), x.session_name,
           x.container_id, x.worker_id, x.served, x.latency_us, x.limits,
           x.image, x.warnings);
}

/// A session container of an earlier run that the daemon takes back at start
/// (runtime reconciliation): its worker actor starts in busy, owns the
/// container and the slot, and ends the session like any other.
struct adopted_session {
  std::string session_name;  // the container's name
  std::string project_dir;   // what is mounted at /workspace
  std::string container_id;
  std::string worker_id;     // label hal9000.worker: names the slot
  served_kind served = served_kind::warm;  // warm (slot bind) or cold (plain bind)
  std::string image;
  resource_limits limits;    // what the container runs with
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, adopted_session& x) {
  return f(caf::meta::type_name("hal9000::adopted_session"), x.session_name,
           x.project_dir, x.container_id, x.worker_id, x.served, x.image,
           x.limits);
}

/// One change of a worker's state, sent to the pool and the observer (the
/// session store) in the order it happened. from == to: no change of state
/// but news about the container (an OOM kill inside it, its network lost,
/// a failed rename).
struct worker_transition {
  std::string worker_id;
  std::string container_id;  // empty while creating
  worker_state from = worker_state::none;  // none for the first one
  worker_state to = worker_state::none;
  std::string reason;        // why (always set for failed: "exited with code 137", ...)
  int64_t time_ms = 0;       // unix epoch milliseconds
  std::string session_name;  // set from claimed on
  std::string project_dir;   // set from claimed on
  served_kind served = served_kind::none;  // warm or cold, set from claimed on
  /// Why the container ended (failed, or stopping/gone of a served session):
  /// kind none while it runs. A session's end, typed (messages/end_reason.hpp).
  end_reason end;
  uint32_t oom_kills = 0;    // OOM kills in the container's cgroup so far
  resource_limits limits;    // what it runs with (the memory limit: OOM words, events)
  std::string network_lost;  // why its network namespace is gone ("" while fine)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, worker_transition& x) {
  return f(caf::meta::type_name("hal9000::worker_transition"), x.worker_id,
           x.container_id, x.from, x.to, x.reason, x.time_ms, x.session_name,
           x.project_dir, x.served, x.end, x.oom_kills, x.limits,
           x.network_lost);
}

/// A worker as `pool status` shows it.
struct worker_status {
  std::string id;
  worker_state state = worker_state::none;
  std::string container_id;
  std::string container_name;
  std::string session_name;  // empty unless claimed or busy
  served_kind served = served_kind::none;  // none before a claim
  double age_s = 0;          // since the worker was spawned
  double state_age_s = 0;    // since it entered its current state
  std::string reason;        // last failure or stop reason
  uint32_t oom_kills = 0;    // OOM kills inside it so far
  std::string network_lost;  // why its network is gone ("" while fine)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, worker_status& x) {
  return f(caf::meta::type_name("hal9000::worker_status"), x.id, x.state,
           x.container_id, x.container_name, x.session_name, x.served, x.age_s,
           x.state_age_s, x.reason, x.oom_kills, x.network_lost);
}

// -- interfaces ------------------------------------------------------------------

/// Receives every worker transition (the runtime connects the session store).
using worker_observer_actor
  = caf::typed_actor<caf::reacts_to<worker_transition>>;

using worker_actor = caf::typed_actor<
  /// Serves the claim (warm -> claimed -> busy): mounts the project, applies
  /// differing limits, renames the container, starts the command; replies once
  /// the command acknowledged its start. conflict unless warm; on any other
  /// error the worker fails and removes itself.
  caf::replies_to<claim_atom, claim_request>::with<claim_reply>,
  /// Stops the worker for the given reason (any state -> stopping -> gone):
  /// removes the container, unmounts the project, empties the slot; replies
  /// the final status once gone.
  caf::replies_to<stop_atom, std::string>::with<worker_status>,
  /// The same for a session ended on purpose, with its typed end (stopped by
  /// user, stopped with the daemon, replaced): the gone transition carries it.
  caf::replies_to<stop_atom, end_reason>::with<worker_status>,
  /// The network namespace it joined is gone (the parent was stopped,
  /// restarted or removed): a session keeps running but is cut off; it says
  /// so in its transitions (network_lost) until it ends. A warm worker stops.
  caf::reacts_to<netlost_atom, std::string>,
  /// Its current state.
  caf::replies_to<status_atom>::with<worker_status>,
  /// A Docker event for its container (die, oom, destroy), routed by the pool.
  /// An oom event while it serves a session is news at once (a transition
  /// with oom_kills raised); the session goes on. Its end is OOM-killed only
  /// when the main process died by SIGKILL within oom_window of an OOM kill
  /// (actors/session_rules.hpp).
  caf::reacts_to<docker::event>>;

} // namespace hal9000
