#pragma once
// The pool's observer in the daemon: writes every worker transition to the
// session store (HAL9000_HOME/pool/workers/<id>.json: worker records only)
// and tells the sessions actor, the one writer of session records, when a
// worker that served a session stopped or failed (session_ended with the
// worker's typed end: "exited with code 0", "OOM-killed", "stopped by user",
// ...) and what happened to a session that runs on (session_note: an OOM
// kill inside it, its network cut off). Each transition also goes to the
// event hub as lifecycle events (if valid).

#include <caf/fwd.hpp>

#include "messages/events.hpp"
#include "messages/session_store.hpp"
#include "messages/sessions.hpp"
#include "messages/worker.hpp"

namespace hal9000 {

worker_observer_actor spawn_worker_recorder(caf::actor_system& sys,
                                            session_store_actor store,
                                            sessions_actor sessions,
                                            event_hub_actor hub);

} // namespace hal9000
