#pragma once
// Spawns the docker actor (interface: messages/docker.hpp).

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include <caf/error.hpp>
#include <caf/fwd.hpp>

#include "messages/docker.hpp"

namespace hal9000 {
struct config;
}

namespace hal9000::docker {

struct options {
  /// unix:///path or tcp://host:port
  std::string host = "unix:///var/run/docker.sock";
  /// With tls_verify, cert_path holds ca.pem, cert.pem and key.pem.
  bool tls_verify = false;
  std::string cert_path;
  /// Calls in flight at once (one kept-alive connection each).
  uint32_t concurrency = 4;
  /// Default timeout of one call; stop and wait add their own timeouts.
  std::chrono::milliseconds timeout{30000};
  /// Timeout of a pull or an import (they move whole images).
  std::chrono::milliseconds long_timeout{600000};
  /// First and longest pause before the event stream reconnects.
  std::chrono::milliseconds reconnect_min{100};
  std::chrono::milliseconds reconnect_max{5000};
  /// Told about every finished call: operation ("create", "inspect", ...),
  /// milliseconds including the wait for a free connection, and the error
  /// (none on success). Runs in the actor: keep it cheap (metrics).
  std::function<void(const char* op, double ms, const caf::error& err)> observe;
};

options options_from(const hal9000::config& cfg);

/// Spawns the actor and its I/O workers (detached: blocking I/O never runs on
/// the scheduler). Exiting the returned actor stops the workers too.
docker_actor spawn_docker(caf::actor_system& sys, options opts);

} // namespace hal9000::docker
