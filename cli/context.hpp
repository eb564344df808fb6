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

  /// How long claudy waits for a start's (a restart's) reply: the daemon's
  /// budget from the claim timeout it shares with us, plus the link's margin
  /// (messages/deadlines.hpp).
  std::chrono::milliseconds start_wait() const;
  std::chrono::milliseconds restart_wait() const;

  /// Connected to the daemon, or the error to print.
  caf::expected<std::unique_ptr<connection>>
  connect(std::chrono::milliseconds connect_timeout) const;
};

/// Prints "claudy: <message>" on stderr and returns the mapped exit code.
int fail(const caf::error& err);

/// Flushes stdout and stderr and ends the process with rc at once, without
/// tearing down its CAF system: a one-shot command whose reply is printed has
/// nothing left to say, and the orderly shutdown (every actor and thread
/// joined, proxies released over the link) costs ~1-2 ms of a `claudy PATH
/// --detach` that users wait for. The kernel closes the link; the daemon sees
/// a client that went away, as after ^C.
[[noreturn]] void leave_now(int rc);

} // namespace hal9000::cli
