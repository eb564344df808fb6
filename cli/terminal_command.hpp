#pragma once
// claudy attach [--read-only] NAME; claudy exec [-t] NAME -- CMD ARGS...;
// claudy logs NAME. The terminal is relayed by the daemon over the control
// connection (messages/terminal.hpp): no docker CLI, no Docker socket here.
//
// attach: stdin must be a terminal (exit 2 otherwise); it is put in raw
// mode and every byte goes to the session as typed (Ctrl-P, Ctrl-C, Ctrl-Z,
// escapes, UTF-8, bracketed paste). TERM, COLORTERM, LANG and the window
// size go along; SIGWINCH resizes the session's terminal. Detach with tmux's
// own C-b d (with --read-only, C-b d is caught here since the session takes
// no input). The terminal is restored on every exit; a lost daemon ends with
// exit 3 and says so.

#include <string>

namespace CLI {
class App;
}

namespace hal9000::cli {

struct context;

/// Attaches this terminal to the session; the exit code to return.
int run_attach(const context& ctx, const std::string& name, bool read_only);

/// Adds exec and logs (attach is a session command: cli/session_commands.cpp).
void add_terminal_commands(CLI::App& app, context& ctx, int& rc);

} // namespace hal9000::cli
