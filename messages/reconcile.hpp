#pragma once
// The start-up reconciliation's typed interface (actors/session_reconciler.hpp
// spawns it): Docker (by label) against the session store and the slots under
// HAL9000_HOME/mounts, once, before the pool and the bridge start.
//
// What it does, and the action each step reports (details["action"] of a
// daemon.reconcile event, label of hal9000_reconcile_actions_total):
//   adopted            a running session container with a live record: kept,
//                      with its slot mount, handed to the pool to own; one
//                      that still has its warm name (claimed and recorded,
//                      the daemon stopped before the rename that follows the
//                      reply) is matched by container id and worker label,
//                      and renamed to its session
//   adopted_rebuilt    a running session container (renamed, labelled for
//                      this daemon) with no live record: a crash lost it; the
//                      record is rebuilt from Docker and the session adopted
//   ended_exited       a stopped session container: its record ended with its
//                      typed end (end_from_stopped: "exited with code N",
//                      "killed by signal S", "OOM-killed" only with exit code
//                      137), the container removed
//   removed_exited     the same without a live record
//   ended_disappeared  a live record whose container is gone: ended with
//                      reason "container disappeared"
//   removed_leftover   a hal9000-warm-* / hal9000-cold-* container of the
//                      earlier run that no live record names (never
//                      acknowledged: provably not a session)
//   unmounted_stale    a mount under mounts/ of a worker that has no container
//   removed_slot       an empty slot of a worker that has no container
//   deleted_worker_record  pool/workers/<id>.json of a worker that is gone
// A session is never ended or removed unless Docker says its container is
// gone or stopped; when Docker or the store cannot be read, nothing changes.

#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "messages/atoms.hpp"
#include "messages/worker.hpp"

namespace hal9000 {

struct reconcile_action {
  std::string action;  // one of the names above
  std::string session;
  std::string worker_id;
  std::string container_id;
  std::string detail;  // human words: why, or what failed
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, reconcile_action& x) {
  return f(caf::meta::type_name("hal9000::reconcile_action"), x.action,
           x.session, x.worker_id, x.container_id, x.detail);
}

struct reconcile_report {
  std::vector<reconcile_action> actions;
  std::vector<adopted_session> adopted;  // for the pool to own
  std::vector<std::string> errors;       // steps that failed (nothing was guessed)
  double duration_ms = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, reconcile_report& x) {
  return f(caf::meta::type_name("hal9000::reconcile_report"), x.actions,
           x.adopted, x.errors, x.duration_ms);
}

/// A one-shot actor: answers one reconcile_atom with the report (errors of
/// single steps are in report.errors, never a failed reply), then exits.
using reconciler_actor
  = caf::typed_actor<caf::replies_to<reconcile_atom>::with<reconcile_report>>;

} // namespace hal9000
