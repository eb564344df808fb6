#pragma once
// Spawns the sandbox actor (interface: messages/sandbox.hpp): the credential
// proxy and the egress policy in the parent's network namespace.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "messages/events.hpp"
#include "messages/sandbox.hpp"
#include "messages/session_store.hpp"
#include "messages/sessions.hpp"

namespace hal9000 {

struct config;
namespace metrics {
struct daemon_metrics;
}

struct sandbox_options {
  std::string home;                 // HAL9000_HOME: keys, sandbox/, egress/log/
  uint16_t proxy_port = 8001;       // HAL9000_PROXY_PORT (0: any; tests)
  std::string upstream = "https://api.anthropic.com";
  std::string ca_file;              // HAL9000_PROXY_CA
  std::vector<std::string> allow;   // parsed HAL9000_EGRESS_ALLOW
  uint16_t egress_port = 8002;      // the filtering proxy; the reporter: +1
  /// false: no packet filter (tests of the proxy alone); the status says so.
  bool enforce_egress = true;
  size_t threads = 8;               // proxy requests served at once
  /// How often usage reaches the session files and the filtering proxy's
  /// log is read for refusals.
  std::chrono::milliseconds tick{1000};
  std::shared_ptr<metrics::daemon_metrics> metrics;  // may be null
};

/// Options from the daemon's configuration.
sandbox_options sandbox_options_from(const config& cfg);

/// Where the filtering proxy's log is on the host (bound into <prefix>-egress
/// at /run/hal9000-egress/log): HAL9000_HOME/egress/log.
std::string egress_log_dir(const std::string& home);

/// Spawns the sandbox, detached (its setns, bind and iptables calls block its
/// own thread only). It subscribes to hub for session events, reads which
/// sessions still run from store and reports usage to sessions (the one
/// writer of session records); any may be invalid (tests). It is not attached until
/// sent (attach_atom, parent pid).
sandbox_actor spawn_sandbox(caf::actor_system& sys, sandbox_options opts,
                            session_store_actor store, sessions_actor sessions,
                            event_hub_actor hub);

} // namespace hal9000
