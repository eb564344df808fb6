#pragma once
// The daemon's loopback HTTP endpoint (cpp-httplib) on its own threads:
//   GET /metrics  the registry in Prometheus text format 0.0.4
//   GET /healthz  200 "ok" while the daemon runs (503 "stopping" once
//                 set_healthy(false) was called)
//   GET /status   the JSON of `claudy --json daemon status`, from a provider
// HTTP handler threads may block (the status provider asks the bridge with a
// scoped_actor and a timeout); no CAF scheduler thread ever does.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "messages/cli_bridge.hpp"
#include "runtime/metrics.hpp"

namespace httplib {
class Server;
}

namespace hal9000 {

/// Returns the status JSON text, or an error (served as 503 with
/// {"error": message}). Runs on an HTTP thread: it may block, with a deadline.
using status_provider = std::function<caf::expected<std::string>()>;

struct metrics_server_options {
  std::string host = "127.0.0.1";
  /// HAL9000_METRICS_PORT. The caller does not start a server when the
  /// configured port is 0 (off); port 0 here binds any free port (tests).
  uint16_t port = 0;
  std::shared_ptr<const metrics::registry> registry;  // required
  status_provider status;                             // null: /status answers 404
  size_t threads = 2;                                 // HTTP worker threads
};

class metrics_server {
public:
  /// Binds and starts serving; unavailable "port ... is in use" (or the
  /// errno text) when it cannot bind, invalid_argument without a registry.
  static caf::expected<std::unique_ptr<metrics_server>> start(metrics_server_options opts);

  ~metrics_server();  // stops

  metrics_server(const metrics_server&) = delete;
  metrics_server& operator=(const metrics_server&) = delete;

  /// The bound port (the chosen one when started with 0).
  uint16_t port() const { return port_; }

  /// /healthz answers 200 while true (the default), 503 "stopping" after.
  void set_healthy(bool healthy) { healthy_ = healthy; }

  /// Stops accepting, finishes requests in flight, joins. Idempotent.
  void stop();

private:
  explicit metrics_server(metrics_server_options opts);

  metrics_server_options opts_;
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
  uint16_t port_ = 0;
  std::atomic<bool> healthy_{true};
};

/// A status provider that asks the bridge for daemon_status from the calling
/// (HTTP) thread through a scoped_actor, waits at most timeout, and renders it
/// as `claudy --json daemon status` does.
status_provider bridge_status_provider(caf::actor_system& sys, cli_bridge_actor bridge,
                                       credentials who,
                                       std::chrono::milliseconds timeout);

} // namespace hal9000
