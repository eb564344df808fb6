#pragma once
// `claudy daemon certs`: a private CA, the daemon's server certificate and
// client bundles, created with OpenSSL under HAL9000_HOME/tls/ (layout in
// runtime/tls.hpp). Keys are 0600. Existing files are kept unless forced.

#include <string>
#include <vector>

#include <caf/expected.hpp>

namespace hal9000 {

struct cert_request {
  std::string home;
  /// DNS names and IP addresses the server certificate is valid for.
  std::vector<std::string> server_names{"localhost", "127.0.0.1"};
  /// One bundle per name under tls/clients/<name>/.
  std::vector<std::string> clients;
  /// Replace the server certificate (the CA is never replaced).
  bool force_server = false;
};

/// Returns one line per file created or kept, for the user.
caf::expected<std::vector<std::string>> create_certs(const cert_request& req);

} // namespace hal9000
