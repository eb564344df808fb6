#include "messages/chroma.hpp"

namespace hal9000::chroma {

std::string to_string(health x) {
  switch (x) {
    case health::unknown: return "unknown";
    case health::healthy: return "healthy";
    case health::degraded: return "degraded";
    case health::down: return "down";
  }
  return "invalid";
}

std::string to_string(event_kind x) {
  switch (x) {
    case event_kind::state_changed: return "state_changed";
    case event_kind::restarting: return "restarting";
    case event_kind::restarted: return "restarted";
    case event_kind::restart_failed: return "restart_failed";
  }
  return "invalid";
}

} // namespace hal9000::chroma
