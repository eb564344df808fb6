#pragma once
// Spawns the terminal service (interface: messages/terminal.hpp). It looks
// the session up in the store, lets a user into their own sessions only
// (root into any), and spawns one relay per open: an actor that owns an
// Engine API exec and a thread of its own for the exec's blocking stream
// (actors/docker/exec_stream.hpp), so no socket I/O runs on the scheduler.
// Every open, refusal and end is written to the audit log (who, session,
// mode, how long, exit code).

#include <chrono>
#include <string>

#include <caf/fwd.hpp>

#include "actors/docker/http_client.hpp"
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

/// The exec's argv for an attach: the session's tmux session "claude" at
/// rows x cols (stty first, so tmux starts at the client's size), with
/// COLORTERM and LANG put into the tmux session's environment for new
/// windows; read_only attaches with -r. A login shell when the session runs
/// no tmux. Exposed for tests.
std::vector<std::string> attach_command(uint16_t rows, uint16_t cols,
                                        const std::string& colorterm,
                                        const std::string& lang, bool read_only);

} // namespace hal9000
