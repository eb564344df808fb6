#include "messages/session_state.hpp"

namespace hal9000 {

std::string to_string(session_state x) {
  switch (x) {
    case session_state::starting: return "starting";
    case session_state::running: return "running";
    case session_state::ended: return "ended";
    case session_state::network_lost: return "network-lost";
  }
  return "unknown";
}

bool from_string(const std::string& text, session_state& x) {
  for (auto s : {session_state::starting, session_state::running, session_state::ended,
                 session_state::network_lost})
    if (to_string(s) == text) {
      x = s;
      return true;
    }
  return false;
}

std::string to_string(served_kind x) {
  switch (x) {
    case served_kind::none: return "";
    case served_kind::warm: return "warm";
    case served_kind::cold: return "cold";
  }
  return "unknown";
}

bool from_string(const std::string& text, served_kind& x) {
  for (auto s : {served_kind::none, served_kind::warm, served_kind::cold})
    if (to_string(s) == text) {
      x = s;
      return true;
    }
  return false;
}

} // namespace hal9000
