#pragma once
// Test helpers for the docker actor: a sink actor that records events and
// engine status changes where the test thread can wait on them, and blocking
// calls with a timeout.

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/scoped_actor.hpp>

#include "messages/docker.hpp"
#include "messages/error.hpp"

namespace hal9000::test {

/// What a recorder saw, shared with the test thread.
struct event_log {
  std::mutex mtx;
  std::vector<docker::event> events;
  std::vector<docker::engine_status> statuses;

  /// The first recorded event satisfying pred, waiting up to deadline.
  std::optional<docker::event>
  wait_event(const std::function<bool(const docker::event&)>& pred,
             std::chrono::milliseconds deadline);
  /// True once a status with this `up` was recorded after index `from`.
  bool wait_status(bool up, size_t from, std::chrono::milliseconds deadline);
  size_t status_count();
};

/// A sink recording into log.
docker::event_sink_actor spawn_event_recorder(caf::actor_system& sys,
                                              std::shared_ptr<event_log> log);

/// Sends req to the docker actor and waits for the reply (or the error).
template <class T, class Req>
caf::expected<T> ask(caf::scoped_actor& self, const docker::docker_actor& d, Req req,
                     std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  caf::expected<T> out{make_error(errc::internal, "no reply")};
  self->request(d, timeout, std::move(req))
    .receive([&](T& x) { out = std::move(x); }, [&](caf::error& e) { out = std::move(e); });
  return out;
}

/// The same for calls that reply nothing: an empty error on success.
template <class Req>
caf::error ask_void(caf::scoped_actor& self, const docker::docker_actor& d, Req req,
                    std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  caf::error out = make_error(errc::internal, "no reply");
  self->request(d, timeout, std::move(req))
    .receive([&]() { out = caf::error{}; }, [&](caf::error& e) { out = std::move(e); });
  return out;
}

} // namespace hal9000::test
