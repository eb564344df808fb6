#pragma once
// Spawns the terminal service (interface: messages/terminal.hpp). It looks
// the session up in the store, lets a user into their own sessions only
// (root into any), and spawns one relay per open: an actor that owns an
// Engine API exec and a thread of its own for the exec's blocking stream
// (docker/exec_stream.hpp), so no socket I/O runs on the scheduler.
// Every open, refusal and end is written to the audit log (who, session,
// mode, how long, exit code).

#include <chrono>
#include <string>

#include <caf/fwd.hpp>

#include "docker/http_client.hpp"
#include "messages/session_store.hpp"
#include "messages/terminal.hpp"

namespace hal9000 {

struct terminals_options {
  docker::endpoint engine;
  /// Where attach and exec start in the container.
  std::string working_dir = "/workspace";
  /// Creating and starting one exec (the engine answers in tens of ms).
  std::chrono::milliseconds open_timeout{15000};
  std::chrono::milliseconds store_timeout{5000};
};

terminals_actor spawn_terminals(caf::actor_system& sys, terminals_options opts,
                                session_store_actor store);

/// The shell script an attach runs on a terminal inside the container
/// (script(1)): notes "<pid> <tty>" in $HAL9000_PIDFILE, sets the size to
/// $HAL9000_ROWS x $HAL9000_COLS, puts $COLORTERM and $LANG into the tmux
/// session's environment (for new windows) when given, and attaches to the
/// tmux session "claude" (-r: read-only); a login shell when the session
/// runs no tmux. Exposed for tests.
std::string attach_script(bool colorterm, bool lang, bool read_only);

} // namespace hal9000
