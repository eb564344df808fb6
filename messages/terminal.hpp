#pragma once
// Terminals relayed by the daemon: `claudy attach`, `claudy exec` and
// `claudy logs`. The daemon opens an Engine API exec in the session's
// container (with a TTY for attach) and relays its hijacked stream over the
// control connection: output goes from the relay to the client's
// terminal_sink, input and resizes from the client to the relay
// (terminal_actor). Every message carries the open's random key, so a relay
// only obeys the client it was opened for.
//
//   claudy ──terminal_open_req(sink)──► cli_bridge ──(user)──► terminals
//          ◄──terminal_open_reply(relay, key)───────────────── spawns a relay
//   sink   ◄── term_output / term_ack / term_closed ─────────── relay's I/O thread
//   sink   ◄── term_beat (every second) ──────────────────────── relay
//   claudy ──── term_input / term_resize / term_consumed / term_detach ──► relay
//
// Flow control both ways, so neither side buffers without bound: the relay
// stops reading the exec while more than window bytes of output are not yet
// acknowledged by term_consumed; claudy stops reading its stdin while more
// than window bytes of input are not yet acknowledged by term_ack.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "messages/credentials.hpp"

namespace hal9000 {

/// Bytes in flight in either direction before the sender waits.
constexpr uint64_t terminal_window = 4u << 20;

/// A piece of the exec's output. stream: 1 stdout (everything with a TTY),
/// 2 stderr. offset: bytes of output sent before this one (both streams).
struct term_output {
  uint8_t stream = 1;
  uint64_t offset = 0;
  std::string data;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, term_output& x) {
  return f(caf::meta::type_name("hal9000::term_output"), x.stream, x.offset, x.data);
}

/// Input bytes written to the exec so far (cumulative).
struct term_ack {
  uint64_t written = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, term_ack& x) {
  return f(caf::meta::type_name("hal9000::term_ack"), x.written);
}

/// The exec ended: its exit code (-1 unknown), why in words when it did not
/// simply exit ("the Docker engine closed the stream", ...), and how many
/// output bytes were sent in all (the client waits for all of them).
struct term_closed {
  int64_t exit_code = -1;
  std::string reason;
  uint64_t total = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, term_closed& x) {
  return f(caf::meta::type_name("hal9000::term_closed"), x.exit_code, x.reason, x.total);
}

/// The relay is alive: sent to the sink every term_beat_interval while the
/// exec runs, so a client notices a connection that went silent (a link
/// dropped without a FIN or RST never ends the TCP stream) within
/// term_beat_deadline and leaves (exit 3) instead of waiting forever.
using term_beat_atom = caf::atom_constant<caf::atom("trmbeat")>;
constexpr std::chrono::milliseconds term_beat_interval{1000};
constexpr std::chrono::milliseconds term_beat_deadline{5000};

/// The client side: where a relay sends output. Messages from one relay
/// arrive in order: term_closed comes after the last term_output.
using terminal_sink = caf::typed_actor<caf::reacts_to<term_output>,
                                       caf::reacts_to<term_ack>,
                                       caf::reacts_to<term_closed>,
                                       caf::reacts_to<term_beat_atom>>;

/// Keystrokes or stdin bytes; eof closes the exec's stdin (exec without a
/// TTY). Dropped by a read-only relay.
struct term_input {
  std::string key;
  std::string data;
  bool eof = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, term_input& x) {
  return f(caf::meta::type_name("hal9000::term_input"), x.key, x.data, x.eof);
}

/// The client's window changed (SIGWINCH): the session-side pty takes the
/// size (stty on it, so its foreground gets SIGWINCH).
struct term_resize {
  std::string key;
  uint16_t rows = 0;
  uint16_t cols = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, term_resize& x) {
  return f(caf::meta::type_name("hal9000::term_resize"), x.key, x.rows, x.cols);
}

/// Output bytes the client has written out (cumulative).
struct term_consumed {
  std::string key;
  uint64_t bytes = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, term_consumed& x) {
  return f(caf::meta::type_name("hal9000::term_consumed"), x.key, x.bytes);
}

/// The client leaves: the exec's stream is closed (the session runs on).
struct term_detach {
  std::string key;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, term_detach& x) {
  return f(caf::meta::type_name("hal9000::term_detach"), x.key);
}

/// One relayed exec. It monitors its sink: a client that goes away (killed,
/// connection lost) closes the exec's stream, never the session.
using terminal_actor = caf::typed_actor<caf::reacts_to<term_input>,
                                        caf::reacts_to<term_resize>,
                                        caf::reacts_to<term_consumed>,
                                        caf::reacts_to<term_detach>>;

/// What a client opens.
///   mode "attach": the session's tmux session "claude" (a shell when the
///     session runs no tmux) on a pty of rows x cols made in the container
///     (the engine's own TTY exec holds back Ctrl-P as the start of its
///     detach keys), with the client's TERM, COLORTERM and LANG; read_only
///     watches (tmux attach -r, input and resizes dropped).
///   mode "exec": cmd (not empty) in the session's working directory; with
///     tty, on such a pty; without, stdout and stderr apart.
///   mode "logs": what the session's tmux pane shows, with its recent
///     history (tmux capture-pane), as output; then closed.
struct terminal_open_req {
  credentials who;
  std::string name;  // the session
  std::string mode = "attach";
  std::vector<std::string> cmd;
  bool tty = true;
  bool read_only = false;
  std::string term;
  std::string colorterm;
  std::string lang;
  uint16_t rows = 0;
  uint16_t cols = 0;
  terminal_sink sink;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, terminal_open_req& x) {
  return f(caf::meta::type_name("hal9000::terminal_open_req"), x.who, x.name, x.mode,
           x.cmd, x.tty, x.read_only, x.term, x.colorterm, x.lang, x.rows, x.cols, x.sink);
}

/// The exec runs and its output is on its way to the sink.
struct terminal_open_reply {
  terminal_actor relay;
  std::string key;        // goes into every message to the relay
  std::string container;  // the session's container id
  std::string user;       // whom the daemon took the client for
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, terminal_open_reply& x) {
  return f(caf::meta::type_name("hal9000::terminal_open_reply"), x.relay, x.key,
           x.container, x.user);
}

/// The bridge's authenticated request: the user its token names ("root",
/// "uid-<n>", "tls-<name>") comes from the bridge, never from the client.
struct terminal_authed_req {
  std::string user;
  terminal_open_req req;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, terminal_authed_req& x) {
  return f(caf::meta::type_name("hal9000::terminal_authed_req"), x.user, x.req);
}

/// The daemon's terminal service (actors/terminals.hpp). Errors: not_found
/// (no such session, or it ended), unauthenticated (another user's session;
/// audited), invalid_argument (bad mode, empty cmd, a newline in TERM...),
/// unavailable (the engine refused or is gone).
using terminals_actor
  = caf::typed_actor<caf::replies_to<terminal_authed_req>::with<terminal_open_reply>>;

} // namespace hal9000
