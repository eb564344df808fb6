#include "messages/error.hpp"

#include <caf/message.hpp>
#include <caf/sec.hpp>

namespace hal9000 {

std::string to_string(errc x) {
  switch (x) {
    case errc::not_found: return "not_found";
    case errc::already_exists: return "already_exists";
    case errc::conflict: return "conflict";
    case errc::unavailable: return "unavailable";
    case errc::invalid_argument: return "invalid_argument";
    case errc::deadline_exceeded: return "deadline_exceeded";
    case errc::unauthenticated: return "unauthenticated";
    case errc::internal: return "internal";
  }
  return "unknown";
}

std::string error_message(const caf::error& err) {
  if (!err)
    return "";
  const auto& ctx = err.context();
  if (err.category() == caf::atom("hal9000") && ctx.size() == 1
      && ctx.match_element<std::string>(0))
    return ctx.get_as<std::string>(0);
  if (err.category() == caf::atom("system"))
    return caf::to_string(static_cast<caf::sec>(err.code()))
           + (ctx.empty() ? "" : ": " + caf::to_string(ctx));
  return caf::to_string(err);
}

errc error_code(const caf::error& err) {
  if (err.category() == caf::atom("hal9000") && err.code() >= 1
      && err.code() <= static_cast<uint8_t>(errc::internal))
    return static_cast<errc>(err.code());
  if (err.category() == caf::atom("system")) {
    switch (static_cast<caf::sec>(err.code())) {
      case caf::sec::request_timeout:
        return errc::deadline_exceeded;
      case caf::sec::request_receiver_down:
      case caf::sec::no_actor_published_at_port:
      case caf::sec::cannot_connect_to_node:
      case caf::sec::disconnect_during_handshake:
      case caf::sec::remote_linking_failed:
        return errc::unavailable;
      default:
        break;
    }
  }
  return errc::internal;
}

} // namespace hal9000
