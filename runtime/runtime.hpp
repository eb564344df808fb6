#pragma once
// The whole runtime as a library: spawns the actors into a caller's actor
// system from a config built in code, returns their typed handles, and shuts
// them down cleanly. hal9000d is one caller; any CAF application can be
// another (it must register the project's types: see system_config.hpp).

#include <functional>
#include <string>

#include <caf/fwd.hpp>

#include "messages/cli_bridge.hpp"
#include "messages/docker.hpp"
#include "runtime/config.hpp"

namespace hal9000 {

struct runtime_options {
  /// Spawn the CLI bridge (publishing it is the caller's business).
  bool with_bridge = true;
  std::string token;   // the bridge's control token
  std::string listen;  // shown in status
  bool tls = false;
  /// Called by the bridge after a daemon stop request was answered.
  std::function<void(bool all)> on_stop;
};

struct runtime_handles {
  docker::docker_actor docker;
  cli_bridge_actor bridge;  // invalid without with_bridge
};

/// Spawns every actor. Fails only on a configuration it cannot use.
caf::expected<runtime_handles>
spawn_runtime(caf::actor_system& sys, const config& cfg, runtime_options opts);

/// Stops every actor and waits until each is gone (the caller's other actors
/// keep running). all: also stop sessions and the parent.
void shutdown_runtime(caf::actor_system& sys, runtime_handles& rt, bool all);

} // namespace hal9000
