#pragma once
// Spawns the CLI bridge (interface: messages/cli_bridge.hpp). It checks every
// request's token, forwards to the actor that owns the answer and replies
// through response promises; it never blocks.

#include <chrono>
#include <functional>
#include <string>

#include <caf/fwd.hpp>

#include "messages/cli_bridge.hpp"
#include "messages/docker.hpp"
#include "messages/parent.hpp"
#include "runtime/config.hpp"

namespace hal9000 {

/// The actors the bridge forwards to. Invalid handles are reported as
/// unavailable parts of the status rather than errors.
struct bridge_peers {
  docker::docker_actor docker;
  parent_actor parent;  // the parent keeper: parent state, volumes, notes
};

struct bridge_options {
  config cfg;
  std::string token;
  std::string listen;  // "host:port" as published
  bool tls = false;
  std::chrono::milliseconds peer_timeout{5000};
  /// Called after a daemon_stop reply went out (all: stop sessions too).
  std::function<void(bool all)> on_stop;
};

cli_bridge_actor spawn_cli_bridge(caf::actor_system& sys, bridge_options opts,
                                  bridge_peers peers);

} // namespace hal9000
