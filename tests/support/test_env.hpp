#pragma once
// What every test shares: an actor system with the project's types, a label
// that marks the containers of this test process, and waiting on conditions.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

namespace hal9000::test {

/// Label key put on every container a test creates; the value is run_id().
constexpr const char* test_label = "hal9000.test";

/// Unique per test process: "<pid>-<random>".
const std::string& run_id();

/// {test_label: run_id()} plus extra labels.
std::map<std::string, std::string>
test_labels(std::map<std::string, std::string> extra = {});

/// Removes every container (and volume) labelled with this process's run id,
/// through the docker CLI so cleanup does not depend on the code under test.
/// Registered to run at exit and after every test suite.
void remove_test_containers();

/// Runs a shell command; returns stdout, sets *rc to its exit status.
std::string sh(const std::string& cmd, int* rc = nullptr);

/// Polls cond every millisecond up to deadline; true once it held.
bool wait_for(const std::function<bool()>& cond,
              std::chrono::milliseconds deadline);

/// An actor system config with the project's types and a small scheduler.
struct test_config : caf::actor_system_config {
  test_config();
};

/// A fresh actor system per test.
struct system_holder {
  test_config cfg;
  caf::actor_system sys{cfg};
};

} // namespace hal9000::test
