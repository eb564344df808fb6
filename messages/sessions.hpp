#pragma once
// The sessions actor's typed interface (actors/sessions.hpp spawns it): the
// one owner of a session's lifecycle. It validates a start (path, name,
// reserved names, limits against the host), asks the session store once
// whether the name or the project already runs, claims a worker through the
// pool, records the session before it replies, looks sessions up for attach,
// stops them and ends them with a reason. The CLI bridge authenticates and
// forwards here; any CAF application may ask it directly.
//
// It is the only writer of session records (HAL9000_HOME/sessions): the
// worker recorder reports a session's worker ending (session_ended) and news
// of a running one (session_note), the start-up reconciliation reports what
// it adopted (adopt_atom) and what ended while the daemon was down
// (session_ended); this actor applies the end rules (actors/session_rules)
// and writes the store; the credential proxy (actors/sandbox.cpp) reports a
// session's usage counters here too (usage_atom).
//
// Concurrent starts of one project or one name converge: while a start is in
// flight, a second one for the same name or project waits for it and then
// gets the same session (existing = true), never an error.
//
// Errors are hal9000::errc values with a message naming what failed:
//   invalid_argument   bad path, name, reserved name or limits (nothing is
//                      claimed); limits above the host's CPUs or memory
//   conflict           the name is taken by another project's running
//                      session; a running session cannot drop its limits
//   not_found          attach to an unknown or ended session; restart of an
//                      unknown one
//   unauthenticated    stop, restart or lookup of another user's session
//                      (only its owner or root may: owner_refusal in
//                      actors/session_rules.hpp)
//   deadline_exceeded  no worker served the claim in time (nothing runs)
//   unavailable        the pool, the store or Docker is unreachable

#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "messages/atoms.hpp"
#include "messages/pool.hpp"
#include "messages/sandbox.hpp"
#include "messages/session_store.hpp"

namespace hal9000 {

/// `claudy PATH`, as the bridge forwards it: the user is the one the
/// request's token names, never what a client says of itself.
struct session_start {
  std::string user_id;     // authenticated user ("root", "uid-1000", ...)
  std::string client;      // what the client calls itself (audit only)
  std::string path;        // project path on the daemon's host (validated here)
  std::string name;        // empty: derived from the project
  bool no_limits = false;  // --no-limits
  std::string memory;      // empty: WORKER_MEMORY (Docker syntax: "8g")
  std::string cpus;        // empty: WORKER_CPUS ("1.5")
  std::string pids_limit;  // empty: WORKER_PIDS_LIMIT ("200")
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, session_start& x) {
  return f(caf::meta::type_name("hal9000::session_start"), x.user_id, x.client,
           x.path, x.name, x.no_limits, x.memory, x.cpus, x.pids_limit);
}

/// A session and how to reach it. existing: it ran before this request (a
/// start that attached, a stop of a session that had already ended).
struct session_reply {
  session_record session;
  bool existing = false;
  /// argv that attaches a terminal to it on the daemon's host.
  std::vector<std::string> attach;
  std::vector<std::string> warnings;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, session_reply& x) {
  return f(caf::meta::type_name("hal9000::session_reply"), x.session,
           x.existing, x.attach, x.warnings);
}

/// A session ended without being asked to: the worker serving it stopped or
/// failed (from the worker recorder), or, found at start-up, its container
/// stopped or disappeared while the daemon was down (from the reconciliation).
struct session_ended {
  std::string name;        // the session
  /// Non-empty: only while this worker serves the session, so a late end from
  /// a replaced worker never ends its successor under the same name. Empty:
  /// whichever (the reconciliation, which proved the container gone).
  std::string worker_id;
  /// The typed end (OOM-killed, killed by signal, network lost, stopped by
  /// user, replaced, ...). Kind none: the worker knew none; the end rules
  /// (end_of_worker in actors/session_rules.hpp) make it "other" with words.
  end_reason end;
  std::string words;       // the worker's own words ("" : none)
  bool failed = false;     // the worker failed (else it stopped)
  std::string ended_at;    // ISO-8601 UTC; "": now
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, session_ended& x) {
  return f(caf::meta::type_name("hal9000::session_ended"), x.name, x.worker_id, x.end,
           x.words, x.failed, x.ended_at);
}

using sessions_actor = caf::typed_actor<
  /// Starts (or attaches to) a session. A running session of the project
  /// under that name is returned (existing = true); with other limits they
  /// are applied to it (Docker's update) and a warning says so.
  caf::replies_to<start_atom, session_start>::with<session_reply>,
  /// (all, user) the sessions user sees, sorted by name (all = true: ended
  /// ones too): root every session, anyone else only their own.
  caf::replies_to<list_atom, bool, std::string>::with<std::vector<session_record>>,
  /// (name, user) a running session, for attach; not_found when unknown or
  /// ended, unauthenticated when another user's (only root may).
  caf::replies_to<caf::get_atom, std::string, std::string>::with<session_reply>,
  /// (name, user, client) ends a session: container removed, project
  /// unmounted, record ended with "stopped by user", audited as user. A
  /// session that had already ended is a success: its record, existing =
  /// true. not_found when unknown; unauthenticated when it is another
  /// user's (only its owner or root may stop it): nothing is stopped.
  caf::replies_to<stop_atom, std::string, std::string, std::string>::with<session_reply>,
  /// (name, user, client) `claudy restart NAME`: a new container for the
  /// session with the same name, project, user home and limits (the
  /// record's). What is left of the old one is removed first and its record
  /// ends as "replaced by claudy restart" (with why it was cut off). For a
  /// session cut off from its network (network_lost) or one that ended; a
  /// running one is replaced too. user: the authenticated user; only root
  /// restarts another user's session.
  caf::replies_to<restart_atom, std::string, std::string, std::string>::with<session_reply>,
  /// (end) ends every running session with that typed end (`claudy daemon
  /// stop --all`: stopped_with_daemon); replies the names it ended and, for
  /// each that failed, "name: why".
  caf::replies_to<shutdown_atom, end_reason>::with<std::vector<std::string>>,
  /// A session ended on its own (see session_ended): its record ends with the
  /// typed end; an ended record keeps its first end; one another worker
  /// serves is returned unchanged. Replies the record; not_found.
  caf::replies_to<session_ended>::with<session_record>,
  /// News of a running session (an OOM kill inside it, its network cut off):
  /// applied to its record (the store's rules for notes); not_found.
  caf::replies_to<session_note>::with<session_record>,
  /// (adopt, record) the start-up reconciliation adopted a running session
  /// whose record was missing (rebuilt from Docker) or out of date (container
  /// or worker id): the record is written as given. invalid_argument for a
  /// record that is not live.
  caf::replies_to<adopt_atom, session_record>::with<void>,
  /// (name, usage) the credential proxy's counters of a session replace its
  /// record's (nothing else changes); not_found.
  caf::replies_to<usage_atom, std::string, session_usage>::with<void>,
  /// (put, sandbox) the sandbox that grants placeholders to new sessions
  /// (spawned after this actor: it reports usage here).
  caf::reacts_to<caf::put_atom, sandbox_actor>,
  /// (put, pool, parent) the pool to claim from and the "parent" of every new
  /// record (the container workers join; "": Docker's bridge network). The
  /// runtime spawns this actor before the start-up reconciliation (which it
  /// records) and the pool and the parent after it; until the pool is given,
  /// starts, stops and restarts are unavailable.
  caf::reacts_to<caf::put_atom, pool_actor, std::string>>;

} // namespace hal9000
