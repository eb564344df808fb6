#pragma once
// Spawns the start-up reconciliation (interface and rules:
// messages/reconcile.hpp). The runtime runs it once after the store loaded
// and before the pool and the bridge start, so no new worker or slot exists
// while it judges what is left of the earlier run.

#include <chrono>
#include <map>
#include <string>

#include <caf/fwd.hpp>

#include "messages/docker.hpp"
#include "messages/events.hpp"
#include "messages/reconcile.hpp"
#include "messages/session_store.hpp"
#include "messages/sessions.hpp"

namespace hal9000 {

struct reconcile_options {
  std::string home;                  // HAL9000_HOME (slots under mounts/)
  std::string host_home;             // HAL9000_HOME as the engine sees it ("" = home)
  std::string daemon_id = "default"; // label hal9000.daemon
  std::map<std::string, std::string> extra_labels;  // as the pool's
  /// A rebuilt record's "parent" and "netns" when its container joined a
  /// namespace (as sessions_options_from gives them; "" = none).
  std::string parent;
  std::string netns;
  std::chrono::milliseconds docker_timeout{30000};  // one Docker call
};

/// A detached one-shot actor (it reads /proc/self/mountinfo, unmounts and
/// removes directories on its own thread; Docker and the store are asked by
/// request). It reads sessions from store and reports the ones it adopts or
/// finds ended to sessions, the one writer of session records (adopt_atom,
/// session_ended); worker records it deletes in store. Each action is
/// published to hub (if valid) as a daemon.reconcile event.
reconciler_actor spawn_reconciler(caf::actor_system& sys, reconcile_options opts,
                                  docker::docker_actor docker,
                                  session_store_actor store, sessions_actor sessions,
                                  event_hub_actor hub);

} // namespace hal9000
