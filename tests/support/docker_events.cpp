#include "docker_events.hpp"

#include <caf/typed_event_based_actor.hpp>

#include "test_env.hpp"

namespace hal9000::test {

std::optional<docker::event>
event_log::wait_event(const std::function<bool(const docker::event&)>& pred,
                      std::chrono::milliseconds deadline) {
  std::optional<docker::event> found;
  wait_for(
    [&] {
      std::lock_guard<std::mutex> guard{mtx};
      for (auto& e : events)
        if (pred(e)) {
          found = e;
          return true;
        }
      return false;
    },
    deadline);
  return found;
}

bool event_log::wait_status(bool up, size_t from, std::chrono::milliseconds deadline) {
  return wait_for(
    [&] {
      std::lock_guard<std::mutex> guard{mtx};
      for (size_t i = from; i < statuses.size(); ++i)
        if (statuses[i].up == up)
          return true;
      return false;
    },
    deadline);
}

size_t event_log::status_count() {
  std::lock_guard<std::mutex> guard{mtx};
  return statuses.size();
}

docker::event_sink_actor spawn_event_recorder(caf::actor_system& sys,
                                              std::shared_ptr<event_log> log) {
  return sys.spawn([log](docker::event_sink_actor::pointer)
                     -> docker::event_sink_actor::behavior_type {
    return {
      [log](docker::event& e) {
        std::lock_guard<std::mutex> guard{log->mtx};
        log->events.push_back(std::move(e));
      },
      [log](docker::engine_status& s) {
        std::lock_guard<std::mutex> guard{log->mtx};
        log->statuses.push_back(std::move(s));
      },
    };
  });
}

} // namespace hal9000::test
