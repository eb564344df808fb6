#pragma once
// Who asks the daemon: carried by every control request.

#include <string>

#include <caf/meta/type_name.hpp>

namespace hal9000 {

/// Who asks: the token, and the name the client gives itself (audit only).
struct credentials {
  std::string token;
  std::string client;  // e.g. "claudy pid 1234 uid 0"
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, credentials& x) {
  return f(caf::meta::type_name("hal9000::credentials"), x.token, x.client);
}

} // namespace hal9000
