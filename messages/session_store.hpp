#pragma once
// The session store's typed interface and records. The store is the only
// code that touches these files:
//
//   HAL9000_HOME/                     layout version 1 (store_layout_version)
//   ├── hal9000d.pid                  daemon pid, flock-held (runtime/pid_lock)
//   ├── sessions/                     0700
//   │   ├── <name>.json               0600, one session_record + "version": 1
//   │   ├── .<name>.json.tmp.XXXXXX   a write in progress (removed at load)
//   │   └── corrupt/                  files that failed to load, kept for humans:
//   │       └── <name>.json.<UTC yyyymmddTHHMMSSZ>[.N]
//   ├── pool/
//   │   ├── pool-manager.pid          daemon pid while the pool runs (0644)
//   │   └── workers/                  0700
//   │       ├── <id>.json             0600, one worker_record + "version": 1
//   │       └── corrupt/              as for sessions
//   └── mounts/<worker-id>/           not the store's: a worker's slot (the
//                                     project is bound on workspace/), owned
//                                     by the worker actor (runtime/late_bind.hpp)
// At every daemon start, before the pool and the bridge start, the runtime
// reconciles these files with Docker and mounts/ (messages/reconcile.hpp):
// a session file of state "running" exists exactly for each running session
// container of this daemon once it is done.
//
// Session file (the reference's fields first; ours after):
//   {"version": 1, "name": "...", "image": "...", "parent": "hal9000-parent",
//    "netns": "hal9000-netns", "project_dir": "/abs/realpath", "created_at": "2026-01-26T12:00:00Z",
//    "resource_limits": {"enabled": true, "memory": "4g", "cpus": "2",
//                        "pids_limit": "100"},
//    "state": "running", "container_id": "...", "worker_id": "...",
//    "user_id": "...", "claimed_at": "...", "ended_at": "", "end_reason": "",
//    "end": {"kind": "exited", "code": 0, "memory_limit": "", "detail": ""},
//    "oom_kills": 0, "last_oom_at": "", "state_reason": "", "restore": "",
//    "served": "warm", "claim_latency_ms": 3.2,
//    "usage": {"requests": 3, "errors": 0, "input_tokens": 120,
//              "output_tokens": 48}}
// "state" is one of session_state's names (messages/session_state.hpp):
// "starting", "running", "network-lost" (its namespace owner went away:
// state_reason says why, restore how), "ended".
// "parent" is the parent container's name, as the reference shows; "netns"
// the container whose network namespace the session joined when that is
// another one (container mode: <prefix>-netns; absent in host mode, where the
// parent owns it). An older file whose "parent" names a <prefix>-netns and
// that has no "netns" reads as parent <prefix>-parent, netns <prefix>-netns.
// "end_reason" is the human text of "end" (messages/end_reason.hpp), written
// for people and older readers; "end" is what is read back. A file with only
// "end_reason" (an older writer) reads as end kind "other" with those words.
// Reading is defensive: unknown fields are ignored; invalid JSON, a missing
// required field (name, project_dir, created_at for sessions; id for
// workers), a field of the wrong type, a name that fails valid_name or that
// differs from the file name, or a version newer than ours moves the file to
// corrupt/ with a warning. Bump store_layout_version when the layout changes.

#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "messages/atoms.hpp"
#include "messages/end_reason.hpp"
#include "messages/resource_limits.hpp"
#include "messages/session_state.hpp"
#include "messages/worker_state.hpp"

namespace hal9000 {

constexpr int store_layout_version = 1;

/// What a session's model calls through the credential proxy amounted to
/// ("usage" in the session file; messages/sandbox.hpp).
struct session_usage {
  uint64_t requests = 0;       // requests answered (any status)
  uint64_t errors = 0;         // status >= 400 or the upstream unreachable
  uint64_t input_tokens = 0;   // the API's usage.input_tokens, summed
  uint64_t output_tokens = 0;  // the API's usage.output_tokens, summed
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, session_usage& x) {
  return f(caf::meta::type_name("hal9000::session_usage"), x.requests, x.errors,
           x.input_tokens, x.output_tokens);
}

/// One session. Times are ISO-8601 UTC ("2026-01-26T12:00:00Z", see
/// runtime/time_format.hpp); empty means "not yet".
struct session_record {
  std::string name;         // required, immutable; valid_name(); the file name
  std::string image;        // immutable; the worker image
  std::string parent;       // immutable; the parent container, "<prefix>-parent"
                            // ("" on Docker's bridge network)
  std::string netns;        // immutable; the namespace owner joined when it is
                            // not the parent ("<prefix>-netns" in container
                            // mode); "" = the parent itself (host mode)
  std::string project_dir;  // required, immutable; realpath, what is mounted
  std::string created_at;   // required, immutable
  resource_limits limits;   // "resource_limits" in the file; what was applied.
                            // The file holds the spelling (memory "4g"...);
                            // the store parses it at load (runtime/records_json)
  session_state state = session_state::running;  // mutable; "state" in the file
  std::string container_id; // mutable (set once the container exists)
  std::string worker_id;    // mutable
  std::string user_id;      // immutable; who asked
  std::string claimed_at;   // mutable
  std::string ended_at;     // set by end
  end_reason end;           // set by end (kind none until then)
  served_kind served = served_kind::none;  // "served" in the file: "warm" | "cold" | ""
  double claim_latency_ms = 0;
  session_usage usage;      // mutable: written by the credential proxy (usage_atom)
  uint32_t oom_kills = 0;   // OOM kills inside the session so far (any process)
  std::string last_oom_at;  // when the last one was seen
  std::string state_reason; // why the state is what it is ("network lost: ...")
  std::string restore;      // the command that restores it ("" when none is needed)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, session_record& x) {
  return f(caf::meta::type_name("hal9000::session_record"), x.name, x.image,
           x.parent, x.project_dir, x.created_at, x.limits, x.state,
           x.container_id, x.worker_id, x.user_id, x.claimed_at, x.ended_at,
           x.end, x.served, x.claim_latency_ms, x.oom_kills, x.last_oom_at,
           x.state_reason, x.restore, x.usage, x.netns);
}

/// The container whose network namespace the session joined ("" for none).
inline const std::string& namespace_owner_of(const session_record& x) {
  return x.netns.empty() ? x.parent : x.netns;
}

/// A change the daemon observed in a session that still runs: an OOM kill
/// inside it, or its network cut off. Empty fields keep what the record has.
struct session_note {
  std::string name;
  std::string worker_id;     // non-empty: only while that worker serves it
  bool network_lost = false; // true: the state becomes network_lost
  std::string state_reason;  // "" keeps it
  std::string restore;       // "" keeps it
  uint32_t oom_kills = 0;    // the count becomes at least this
  std::string last_oom_at;   // "" keeps it
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, session_note& x) {
  return f(caf::meta::type_name("hal9000::session_note"), x.name, x.worker_id, x.network_lost,
           x.state_reason, x.restore, x.oom_kills, x.last_oom_at);
}

/// One pool worker, as the pool last reported it.
struct worker_record {
  std::string id;            // required, immutable; valid_name(); the file name
  std::string container_id;  // mutable (empty while creating)
  worker_state state = worker_state::none;  // "state" in the file: its name
                             // (creating, warm, claimed, busy, stopping, failed)
  std::string created_at;
  std::string warm_since;    // when it became warm (idleness counts from here)
  std::string reason;        // why it failed, when state == failed
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, worker_record& x) {
  return f(caf::meta::type_name("hal9000::worker_record"), x.id, x.container_id,
           x.state, x.created_at, x.warm_since, x.reason);
}

/// What the store found when it loaded HAL9000_HOME at spawn.
struct store_load_report {
  uint32_t sessions = 0;            // session files loaded
  uint32_t workers = 0;             // worker files loaded
  std::vector<std::string> moved;   // "<file> -> <corrupt path>: <why>"
  std::string error;                // non-empty: the store cannot work at all
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, store_load_report& x) {
  return f(caf::meta::type_name("hal9000::store_load_report"), x.sessions,
           x.workers, x.moved, x.error);
}

/// The session store. Every write is on disk (atomic, fsynced) before the
/// reply, but one (see put). Errors: invalid_argument (bad name, before any
/// file is touched), not_found, conflict, internal, unavailable (no HOME).
using session_store_actor = caf::typed_actor<
  /// Creates or replaces a session (conflict: a live session of another project_dir has
  /// the name). Answered once durable, concurrent puts sharing one sync; but a start's
  /// complete record over its own durable "starting" one once written, synced behind the
  /// answer (actors/session_store.cpp; fake: HAL9000_FAKE_HOLD_WRITTEN_SYNC=1 never syncs it).
  caf::replies_to<caf::put_atom, session_record>::with<void>,
  /// The session; not_found.
  caf::replies_to<caf::get_atom, std::string>::with<session_record>,
  /// Every session, ended ones too, sorted by name.
  caf::replies_to<list_atom>::with<std::vector<session_record>>,
  /// "Already running?" in one query: (name, project_dir) -> every session
  /// that has not ended and is named name or runs project_dir (a realpath),
  /// sorted by name; empty when neither runs. invalid_argument for a bad name.
  caf::replies_to<caf::get_atom, std::string, std::string>::with<std::vector<session_record>>,
  /// (name, reason, ended_at; empty: now) marks the session ended and keeps
  /// its file; replies with the ended record. Ending an ended session keeps
  /// its first reason and time. not_found.
  caf::replies_to<end_atom, std::string, end_reason, std::string>::with<session_record>,
  /// The same with a worker id: only while that worker serves the session
  /// (an ended one, or one served by another worker since, is returned
  /// unchanged), so a late end from a replaced worker never ends its
  /// successor under the same name.
  caf::replies_to<end_atom, std::string, end_reason, std::string, std::string>::with<session_record>,
  /// Applies a note to a session that has not ended (an ended one, or one
  /// another worker serves than note.worker_id, is returned unchanged);
  /// replies the record. not_found.
  caf::replies_to<session_note>::with<session_record>,
  /// (name, usage) replaces the session's usage counters, nothing else;
  /// not_found.
  caf::replies_to<usage_atom, std::string, session_usage>::with<void>,
  /// Creates or replaces a worker record.
  caf::replies_to<caf::put_atom, worker_record>::with<void>,
  /// Removes a worker record (missing: fine).
  caf::replies_to<caf::delete_atom, workers_atom, std::string>::with<void>,
  /// Every worker record, sorted by id.
  caf::replies_to<list_atom, workers_atom>::with<std::vector<worker_record>>,
  /// (running) true: writes our pid to pool/pool-manager.pid (0644,
  /// atomically); false: removes it (only if it holds our pid).
  caf::replies_to<caf::put_atom, pid_atom, bool>::with<void>,
  /// What the load at spawn found (and moved aside).
  caf::replies_to<load_atom>::with<store_load_report>,
  /// The store's own: makes the session records put since the last sync
  /// durable (one batch) and answers those puts. Sent by the store to
  /// itself; from anyone else it only syncs early.
  caf::reacts_to<sync_atom>>;

} // namespace hal9000
