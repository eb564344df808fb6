#include "messages/worker_state.hpp"

namespace hal9000 {

std::string to_string(worker_state x) {
  switch (x) {
    case worker_state::none: return "";
    case worker_state::creating: return "creating";
    case worker_state::warm: return "warm";
    case worker_state::claimed: return "claimed";
    case worker_state::busy: return "busy";
    case worker_state::stopping: return "stopping";
    case worker_state::gone: return "gone";
    case worker_state::failed: return "failed";
  }
  return "unknown";
}

bool from_string(const std::string& text, worker_state& x) {
  for (auto s : {worker_state::none, worker_state::creating, worker_state::warm,
                 worker_state::claimed, worker_state::busy, worker_state::stopping,
                 worker_state::gone, worker_state::failed})
    if (to_string(s) == text) {
      x = s;
      return true;
    }
  return false;
}

} // namespace hal9000
