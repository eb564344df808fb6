#pragma once
// Mutual TLS for remote control. Layout under HAL9000_HOME/tls/:
//   ca.pem ca.key                 the daemon's private CA (key 0600)
//   server.pem server.key         the daemon's certificate (key 0600)
//   clients/<name>/cert.pem key.pem ca.pem token
//                                 one bundle per client, copied to its host
// CAF terminates the process on bad certificate files, so every file is
// checked here before an actor system is built.

#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "runtime/system_config.hpp"

namespace hal9000 {

/// The daemon's files, checked: present, readable, the key matches the
/// certificate, the certificate is signed by the CA. not_found when tls/
/// has no server certificate.
caf::expected<tls_files> server_tls_files(const std::string& home);

/// A client bundle directory (cert.pem, key.pem, ca.pem), checked likewise.
caf::expected<tls_files> client_tls_files(const std::string& dir);

/// Checks a set of files as above; the message names the file and the fault.
caf::error check_tls_files(const tls_files& files);

} // namespace hal9000
