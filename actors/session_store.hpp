#pragma once
// Spawns the session store (interface and file layout:
// messages/session_store.hpp).

#include <string>

#include <caf/fwd.hpp>

#include "messages/session_store.hpp"

namespace hal9000 {

/// Loads HAL9000_HOME before it answers its first request (files that fail
/// to load are moved aside; ask load_atom for the report). The actor is
/// detached: every request does blocking file I/O with fsync, which must not
/// hold a scheduler thread. Exit it with an exit message like any actor.
session_store_actor spawn_session_store(caf::actor_system& sys,
                                        std::string hal9000_home);

} // namespace hal9000
