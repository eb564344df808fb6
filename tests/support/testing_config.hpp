#pragma once
// An actor system on CAF's test coordinator (scheduler.policy "testing"):
// every actor runs on the test's thread, time is virtual, every message type
// of the daemon registered. For caf::test_coordinator_fixture-style tests.

#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>

#include "messages/wire.hpp"

namespace hal9000::test {

struct testing_config : caf::actor_system_config {
  testing_config() {
    register_types(*this);
    set("scheduler.policy", caf::atom("testing"));
    set("logger.verbosity", caf::atom("quiet"));
  }
};

} // namespace hal9000::test
