#pragma once
// A fake Docker engine actor for deterministic actor tests on CAF's test
// coordinator (fault injection the real engine cannot give on demand): it
// answers the calls a worker or the pool makes and records them. Single-
// threaded use only (the test coordinator runs every actor on the test's
// thread). Real-engine tests use the docker actor itself.

#include <memory>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/fwd.hpp>

#include "messages/docker.hpp"

namespace hal9000::test {

struct fake_engine {
  // what was asked
  std::vector<std::string> created;   // container names
  std::vector<std::string> removed;   // container ids
  std::vector<std::string> renamed;   // new names
  int updates = 0;
  int lists = 0;
  // what it answers
  caf::error fail_create;             // set: create_req fails with it
  std::vector<docker::container_summary> containers;  // list_req's answer
};

/// Spawns the fake: create "c-<name>", start/rename/update/remove ok (remove
/// also drops the container from `containers`), list returns `containers`,
/// subscribe ok; every other call is an internal error.
docker::docker_actor spawn_fake_engine(caf::actor_system& sys,
                                       std::shared_ptr<fake_engine> engine);

} // namespace hal9000::test
