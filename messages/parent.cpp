#include "messages/parent.hpp"

namespace hal9000 {

std::string to_string(container_state x) {
  switch (x) {
    case container_state::unknown: return "unknown";
    case container_state::running: return "running";
    case container_state::stopped: return "stopped";
    case container_state::missing: return "missing";
    case container_state::different_config: return "different-config";
  }
  return "invalid";
}

std::string to_string(volume_state x) {
  switch (x) {
    case volume_state::unknown: return "unknown";
    case volume_state::exists: return "exists";
    case volume_state::created: return "created";
    case volume_state::missing: return "missing";
  }
  return "invalid";
}

} // namespace hal9000
