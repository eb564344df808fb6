#include "runtime/blocking.hpp"

#include <caf/scheduler/test_coordinator.hpp>

namespace hal9000 {

bool on_test_coordinator(caf::actor_system& sys) {
  return dynamic_cast<caf::scheduler::test_coordinator*>(&sys.scheduler()) != nullptr;
}

} // namespace hal9000
