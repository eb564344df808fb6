#pragma once
// The pool's observer in the daemon: writes every worker transition to the
// session store (HAL9000_HOME/pool/workers/<id>.json) and ends the session of
// a worker that stopped or failed while serving it, with the worker's reason
// ("exited with code 0", "OOM-killed", "stopped by user", ...). Each
// transition also goes to the event hub as lifecycle events (if valid).

#include <caf/fwd.hpp>

#include "messages/events.hpp"
#include "messages/session_store.hpp"
#include "messages/worker.hpp"

namespace hal9000 {

worker_observer_actor spawn_worker_recorder(caf::actor_system& sys,
                                            session_store_actor store,
                                            event_hub_actor hub);

} // namespace hal9000
