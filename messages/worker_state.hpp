#pragma once
// A worker's lifecycle state, typed on the wire (CAF serializes an enum as
// its underlying integer); its name only at the edges: pool/workers/<id>.json
// "state", claudy's pool status, events ("from"), metrics labels.
//
// none is "no state yet": the `from` of a worker's first transition (its
// name is "", as that field always read). It is never a worker's own state.

#include <cstdint>
#include <string>

namespace hal9000 {

enum class worker_state : uint8_t {
  none,      // no state yet (the first transition's from); named ""
  creating,
  warm,
  claimed,
  busy,
  stopping,
  gone,
  failed,
};

/// "", "creating", "warm", "claimed", "busy", "stopping", "gone", "failed".
std::string to_string(worker_state x);

/// The state a name stands for ("" is none); false (x untouched) for any
/// other text.
bool from_string(const std::string& text, worker_state& x);

/// Whether a worker in this state serves (or served, while stopping) a
/// session: claimed, busy, stopping.
inline bool had_session(worker_state x) {
  return x == worker_state::claimed || x == worker_state::busy
         || x == worker_state::stopping;
}

} // namespace hal9000
