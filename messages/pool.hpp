#pragma once
// The warm pool's typed interface (actors/pool_scaler.hpp spawns it).
//
// Errors are hal9000::errc values with a message naming what failed:
//   invalid_argument   bad session name, command, limits or scale count
//   not_found          release of an unknown session or worker
//   conflict           `warm` while warm + creating is already MAX
//   deadline_exceeded  a claim not served within the claim timeout
//   unavailable        the Docker engine is unreachable
//   internal           mount(2) / FIFO failures, with errno text

#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "messages/atoms.hpp"
#include "messages/parent.hpp"
#include "messages/worker.hpp"

namespace hal9000 {

/// `pool status`.
struct pool_status {
  bool running = false;      // refilling (pool start / ENABLE_POOL_MANAGER)
  uint32_t warm = 0;
  uint32_t creating = 0;     // warm-pool creations in flight
  uint32_t claimed = 0;      // being handed to a session right now
  uint32_t busy = 0;         // serving a session
  uint32_t failed = 0;       // failures since the last cleanup
  uint32_t queued = 0;       // claims waiting for a worker
  uint32_t min = 0;          // current target (MIN_WARM_WORKERS or `scale N`)
  uint32_t max = 0;
  uint32_t max_creating = 0;
  uint32_t idle_timeout_s = 0;
  uint32_t check_interval_s = 0;
  uint32_t claim_timeout_s = 0;
  resource_limits limits;    // the workers' default limits
  std::string image;
  std::string network_mode;
  bool late_bind = false;       // warm claims possible
  std::string late_bind_reason; // why not, when late_bind is false
  bool idmap = false;           // sessions act as their user (id-mapped mounts)
  std::string idmap_reason;     // why not, and the fallback taken
  std::vector<worker_status> workers;
  std::vector<std::string> warnings;  // e.g. the event stream is down
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, pool_status& x) {
  return f(caf::meta::type_name("hal9000::pool_status"), x.running, x.warm,
           x.creating, x.claimed, x.busy, x.failed, x.queued, x.min, x.max,
           x.max_creating, x.idle_timeout_s, x.check_interval_s,
           x.claim_timeout_s, x.limits, x.image, x.network_mode, x.late_bind,
           x.late_bind_reason, x.idmap, x.idmap_reason, x.workers, x.warnings);
}

/// Reply to `pool scale N`.
struct scale_reply {
  int32_t requested = 0;
  uint32_t target = 0;       // min(requested, MAX)
  uint32_t started = 0;      // creations started now
  std::vector<std::string> removed;  // warm workers removed (scale down)
  std::vector<std::string> warnings; // e.g. "capped at MAX_WARM_WORKERS (5)"
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, scale_reply& x) {
  return f(caf::meta::type_name("hal9000::scale_reply"), x.requested,
           x.target, x.started, x.removed, x.warnings);
}

/// Reply to `pool cleanup`.
struct cleanup_reply {
  std::vector<std::string> removed;  // idle warm workers above MIN
  uint32_t failed_cleared = 0;       // failure records dropped
  std::vector<std::string> warnings;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cleanup_reply& x) {
  return f(caf::meta::type_name("hal9000::cleanup_reply"), x.removed,
           x.failed_cleared, x.warnings);
}

using pool_actor = caf::typed_actor<
  /// Serves a session with a warm worker (or a cold create, whichever is
  /// ready first) within the claim timeout. invalid_argument for a bad name,
  /// command or limits; deadline_exceeded when nothing served it in time;
  /// unavailable/internal when the worker failed while being claimed.
  caf::replies_to<claim_atom, claim_request>::with<claim_reply>,
  /// Ends a session or removes a worker, named by session name or worker id,
  /// for a reason; replies the worker's final status once its container is
  /// removed and its slot unmounted and emptied. A session of an earlier run
  /// (not held by this pool) is found by its labels and name and released
  /// the same way. not_found if no such session or worker.
  caf::replies_to<release_atom, std::string, std::string>::with<worker_status>,
  /// The same for a session ended on purpose, with its typed end (stopped by
  /// user, stopped with the daemon, replaced by a restart).
  caf::replies_to<release_atom, std::string, end_reason>::with<worker_status>,
  /// The namespace owner went away (up=false): sessions are marked cut off,
  /// warm and creating workers are removed and refilling pauses; it is back
  /// (up=true): refilling resumes, so new workers join the new namespace.
  caf::reacts_to<parent_change>,
  /// The pool's state and each worker.
  caf::replies_to<status_atom>::with<pool_status>,
  /// Starts refilling to MIN; replies the status.
  caf::replies_to<start_atom>::with<pool_status>,
  /// Stops refilling and removes warm and creating workers; busy sessions are
  /// untouched. Replies the status once those workers are gone (each removal
  /// bounded by the Docker timeout; failures listed in warnings).
  caf::replies_to<stop_atom>::with<pool_status>,
  /// Sets the warm target to N (capped at MAX with a warning; negative:
  /// invalid_argument); creates or removes warm workers to reach it.
  caf::replies_to<scale_atom, int32_t>::with<scale_reply>,
  /// Removes idle warm workers above MIN and drops failure records; never a
  /// claimed or busy worker.
  caf::replies_to<cleanup_atom>::with<cleanup_reply>,
  /// Starts one warm worker now; replies its id. conflict at MAX.
  caf::replies_to<warm_atom>::with<std::string>>;

} // namespace hal9000
