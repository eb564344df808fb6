#pragma once
// Spawns the CLI bridge (interface: messages/cli_bridge.hpp). It checks every
// request's token, forwards to the actor that owns the answer and replies
// through response promises; it never blocks.

#include <chrono>
#include <functional>
#include <string>

#include <caf/fwd.hpp>

#include "messages/chroma.hpp"
#include "messages/cli_bridge.hpp"
#include "messages/docker.hpp"
#include "messages/events.hpp"
#include "messages/pool.hpp"
#include "messages/session_store.hpp"
#include "messages/sessions.hpp"
#include "messages/parent.hpp"
#include "messages/terminal.hpp"
#include "runtime/config.hpp"
#include "runtime/user_tokens.hpp"

namespace hal9000 {

/// The actors the bridge forwards to. An invalid handle makes its part of
/// the status "unknown" and its commands unavailable.
struct bridge_peers {
  docker::docker_actor docker;
  pool_actor pool;
  session_store_actor store;  // status (running sessions) and doctor lookups
  chroma_monitor_actor chroma;
  event_hub_actor events;
  parent_actor parent;  // the parent keeper: parent state, volumes, notes
  sessions_actor sessions;  // every session command (start, list, attach, stop)
  terminals_actor terminals;  // attach, exec, logs (actors/terminals.hpp)
  sandbox_actor sandbox;  // credential proxy + egress policy; may be invalid
};

struct bridge_options {
  config cfg;
  std::string token;   // root's (auth/token); used when tokens is null
  /// Every token the daemon knows and whose it is (runtime/user_tokens.hpp);
  /// null: only token, as root.
  user_tokens_ptr tokens;
  /// The shared volumes the runtime made itself (no parent keeper); with a
  /// keeper, its status says.
  std::vector<volume_report> volumes;
  std::string listen;  // "host:port" as published
  bool tls = false;
  std::chrono::milliseconds peer_timeout{5000};
  /// How long a terminal open may take (terminal_open_budget of the
  /// terminal service the runtime spawned).
  std::chrono::milliseconds terminal_budget{30000};
  /// Shown in every status (e.g. which worker image was chosen and why).
  std::vector<std::string> notes;
  /// Called after a daemon_stop reply went out (all: stop sessions too).
  std::function<void(bool all)> on_stop;
};

cli_bridge_actor spawn_cli_bridge(caf::actor_system& sys, bridge_options opts,
                                  bridge_peers peers);

} // namespace hal9000
