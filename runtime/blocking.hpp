#pragma once
// The one way to run blocking work (mount(2), rmdir(2), realpath and NSS on
// user paths, the control FIFO handshake, files written with fsync) off CAF's
// scheduler: a one-shot helper actor runs one job and answers with its result.
//
//   self->request(spawn_blocking(self->system(), job), timeout, start_atom::value)
//     .then([](T& result) {...}, [](caf::error& err) {...});
//
// or, the same in one call: run_blocking(self, timeout, job).then(...).
//
// job is a callable returning caf::expected<T> (T not void); its error is the
// request's error. The helper answers start_atom once and exits.
//
// Where it runs: on a real scheduler the helper is detached (its own thread),
// so the job never blocks a scheduler thread. On CAF's test coordinator
// (scheduler.policy = "testing") it is an ordinary scheduled actor, so a test
// drives it deterministically with sched.run(); such tests inject jobs that
// do not block (actors/worker.hpp: worker_host_steps).

#include <type_traits>
#include <utility>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/result.hpp>
#include <caf/spawn_options.hpp>

#include "messages/atoms.hpp"

namespace hal9000 {

/// True when sys runs on CAF's test coordinator (scheduler.policy=testing).
bool on_test_coordinator(caf::actor_system& sys);

/// Spawns the one-shot helper that runs job on start_atom (see above).
template <class Job>
caf::actor spawn_blocking(caf::actor_system& sys, Job job) {
  using expected_t = std::decay_t<decltype(job())>;
  using value_t = typename expected_t::value_type;
  auto fun = [job = std::move(job)](caf::event_based_actor* self) mutable -> caf::behavior {
    return {
      [self, job = std::move(job)](start_atom) mutable -> caf::result<value_t> {
        self->quit();
        auto r = job();
        if (!r)
          return std::move(r.error());
        return std::move(*r);
      },
    };
  };
  if (on_test_coordinator(sys))
    return sys.spawn(std::move(fun));
  return sys.spawn<caf::detached>(std::move(fun));
}

/// Runs job on a fresh helper: returns self's response handle (then/await)
/// for a result of type T, or the job's error, or request_timeout after
/// timeout (the job itself then still runs to its end on its own thread).
template <class Self, class Job>
auto run_blocking(Self* self, caf::timespan timeout, Job job) {
  return self->request(spawn_blocking(self->system(), std::move(job)), timeout,
                       start_atom::value);
}

} // namespace hal9000
