#pragma once
// A session's lifecycle state and how it was served: typed on the wire (CAF
// serializes an enum as its underlying integer), names only at the edges
// (the session file's "state" and "served" fields, claudy's output).
//
//   starting ──claim served──► running ──stop / container gone──► ended
//       │                         │ namespace owner gone              ▲
//       │                         ▼                                   │
//       │                    network_lost ──stop / restart / gone─────┤
//       └──────────claim failed or undone─────────────────────────────┘
// network_lost: the parent container whose network namespace the session
// joined stopped, restarted or was removed; the container runs on with
// loopback only (a kernel fact) until `claudy restart NAME` replaces it.

#include <cstdint>
#include <string>

namespace hal9000 {

enum class session_state : uint8_t {
  starting,  // a claim is in flight for it
  running,   // its container runs the session command
  ended,     // its container is gone; the record stays with the end reason
  network_lost,  // it runs, cut off from its network (state_reason says why)
};

/// "starting", "running", "ended", "network-lost".
std::string to_string(session_state x);

/// The state a name stands for; false (x untouched) for any other text.
bool from_string(const std::string& text, session_state& x);

/// How a session's claim was served. Typed on the wire; its name only at the
/// edges: the session file's "served", claudy's output, the session.started
/// event's details and the hal9000_claims_total{served} label. The text is
/// what it always was: "warm", "cold", and "" for none (no claim served yet:
/// a worker before its claim, a session that never started).
/// (Named served_kind, not served: the fields that hold it are called served.)
enum class served_kind : uint8_t {
  none,  // not served (yet); named ""
  warm,  // a warm worker's slot: the project bound late (rslave propagation)
  cold,  // a container created for the claim, the project a plain bind
};

/// "", "warm", "cold".
std::string to_string(served_kind x);

/// The kind a name stands for ("" is none); false (x untouched) for any
/// other text.
bool from_string(const std::string& text, served_kind& x);

/// True until the session has ended.
inline bool is_live(session_state x) {
  return x != session_state::ended;
}

} // namespace hal9000
