#pragma once
// Spawns the sessions actor (interface: messages/sessions.hpp; its rules are
// plain code in actors/session_rules.hpp).

#include <chrono>
#include <string>

#include <caf/fwd.hpp>

#include "actors/session_rules.hpp"
#include "messages/docker.hpp"
#include "messages/events.hpp"
#include "messages/pool.hpp"
#include "messages/session_store.hpp"
#include "messages/sandbox.hpp"
#include "messages/sessions.hpp"

namespace hal9000 {

struct config;

struct sessions_options {
  session_settings settings;
  /// "parent" of every record: the parent container, <prefix>-parent (empty:
  /// workers run on Docker's bridge network).
  std::string parent;
  /// "netns" of every record: the container whose network namespace workers
  /// join when it is not the parent (<prefix>-netns in container mode).
  std::string netns;
  /// How long the pool may take to serve a claim: its claim timeout plus its
  /// worker's own deadlines (pool_claim_budget). A claim is never given up
  /// before; if it is anyway, its session is released (never left running
  /// without a record).
  std::chrono::milliseconds claim_budget{70000};
  /// How long a release may take (the worker's stop: Docker calls, unmounts).
  std::chrono::milliseconds release_budget{65000};
  /// One store request (an fsynced write).
  std::chrono::milliseconds store_timeout{10000};
  /// One Docker request (update of a running session's limits).
  std::chrono::milliseconds docker_timeout{30000};
  /// Ask the engine for its CPUs and memory at spawn (settings.host until
  /// it answers).
  bool ask_host = true;
};

/// Options from the daemon's configuration; owner: the namespace owner
/// workers join as the runtime found it ("" for none): parent and netns
/// follow from it.
sessions_options sessions_options_from(const config& cfg, std::string owner);

/// Sets o.parent and o.netns from the namespace owner workers join ("" for
/// none; o.settings.parent_prefix names the parent container).
void set_owner(sessions_options& o, std::string owner);

/// events: where a start the engine refused is published (session.ended
/// with its typed end); may be invalid. pool may be invalid: the daemon
/// spawns this actor before the pool (it records the start-up
/// reconciliation) and gives it the pool later ((put, pool, parent)).
sessions_actor spawn_sessions(caf::actor_system& sys, sessions_options opts,
                              pool_actor pool, session_store_actor store,
                              docker::docker_actor docker, sandbox_actor sandbox = {},
                              event_hub_actor events = {});

} // namespace hal9000
