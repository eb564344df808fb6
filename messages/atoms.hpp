#pragma once
// Every project atom in one place: atoms are at most 10 characters of
// [A-Za-z0-9_], and other characters silently collide, so we keep them unique
// here. CAF's predefined ones (get_atom, put_atom, ok_atom, ...) are reused.

#include <caf/atom.hpp>

namespace hal9000 {

using version_atom = caf::atom_constant<caf::atom("version")>;
using info_atom = caf::atom_constant<caf::atom("info")>;
using status_atom = caf::atom_constant<caf::atom("status")>;
using start_atom = caf::atom_constant<caf::atom("start")>;
using stop_atom = caf::atom_constant<caf::atom("stop")>;
using claim_atom = caf::atom_constant<caf::atom("claim")>;
using release_atom = caf::atom_constant<caf::atom("release")>;
using scale_atom = caf::atom_constant<caf::atom("scale")>;
using cleanup_atom = caf::atom_constant<caf::atom("cleanup")>;
using warm_atom = caf::atom_constant<caf::atom("warm")>;
using list_atom = caf::atom_constant<caf::atom("list")>;
using end_atom = caf::atom_constant<caf::atom("end")>;
using load_atom = caf::atom_constant<caf::atom("load")>;
using shutdown_atom = caf::atom_constant<caf::atom("shutdown")>;
using events_atom = caf::atom_constant<caf::atom("events")>;
using health_atom = caf::atom_constant<caf::atom("health")>;
using reconcile_atom = caf::atom_constant<caf::atom("reconcile")>;
// sessions: (adopt_atom, record) records a session the start-up
// reconciliation adopted (messages/sessions.hpp)
using adopt_atom = caf::atom_constant<caf::atom("adopt")>;
// parent keeper: make the volumes, the parent and ChromaDB exist and run
using ensure_atom = caf::atom_constant<caf::atom("ensure")>;
// session store: (list_atom, workers_atom), (delete_atom, workers_atom, id)
using workers_atom = caf::atom_constant<caf::atom("workers")>;
// session store: its own message that makes a batch of session writes durable
using sync_atom = caf::atom_constant<caf::atom("sync")>;
// sandbox: (attach_atom, parent pid) enters the parent's namespace; the
// session store's (usage_atom, name, session_usage) updates a session's usage
using attach_atom = caf::atom_constant<caf::atom("attach")>;
using usage_atom = caf::atom_constant<caf::atom("usage")>;
using restart_atom = caf::atom_constant<caf::atom("restart")>;
/// A session's network namespace owner went away (worker, pool).
using netlost_atom = caf::atom_constant<caf::atom("netlost")>;

// -- pool scaler's private timers (never in a public interface) ---------------
using pool_tick_atom = caf::atom_constant<caf::atom("pool_tick")>;
using expire_atom = caf::atom_constant<caf::atom("expire")>;
using idle_atom = caf::atom_constant<caf::atom("idle")>;
using refill_atom = caf::atom_constant<caf::atom("refill")>;
using pid_atom = caf::atom_constant<caf::atom("pid")>;
using settle_atom = caf::atom_constant<caf::atom("settle")>;
using decide_atom = caf::atom_constant<caf::atom("decide")>;

} // namespace hal9000
