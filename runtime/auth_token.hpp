#pragma once
// The control token: 256 random bits, hex-encoded, in HAL9000_HOME/auth/token
// (mode 0600, directory 0700). Created at the daemon's first start.

#include <string>

#include <caf/expected.hpp>

namespace hal9000 {

std::string token_path(const std::string& home);

/// A new random token (256 bits, hex): root's, a local user's, a TLS bundle's.
caf::expected<std::string> random_token();

/// Reads the token, creating it (and auth/) when missing.
caf::expected<std::string> ensure_token(const std::string& home);

/// Reads an existing token file; not_found or unauthenticated when unreadable.
caf::expected<std::string> read_token(const std::string& path);

/// Compares in constant time.
bool token_equals(const std::string& a, const std::string& b);

} // namespace hal9000
