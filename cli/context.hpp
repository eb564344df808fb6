#pragma once
// What every claudy command gets: the global options and a way to reach the
// daemon.

#include <chrono>
#include <memory>
#include <string>

#include "cli/connection.hpp"
#include "runtime/config.hpp"

namespace hal9000::cli {

struct context {
  config cfg;              // effective local configuration (env + config.json)
  std::string host;        // --host / HAL9000_HOST ("" = local)
  std::string tls_dir;     // --tls-dir / HAL9000_TLS_DIR (client bundle)
  std::string token_file;  // --token-file / HAL9000_TOKEN_FILE
  bool json = false;
  bool quiet = false;
  std::chrono::milliseconds timeout{10000};

  /// Where to connect; usage errors (bad --host) as invalid_argument.
  caf::expected<endpoint> target() const;

  /// Connected to the daemon, or the error to print.
  caf::expected<std::unique_ptr<connection>>
  connect(std::chrono::milliseconds connect_timeout) const;
};

/// Prints "claudy: <message>" on stderr and returns the mapped exit code.
int fail(const caf::error& err);

} // namespace hal9000::cli
