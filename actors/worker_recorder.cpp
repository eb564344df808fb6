#include "actors/worker_recorder.hpp"

#include <chrono>
#include <map>

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/event_hub.hpp"
#include "messages/error.hpp"
#include "runtime/logging.hpp"
#include "runtime/time_format.hpp"

namespace hal9000 {

namespace {

using namespace std::chrono_literals;

struct recorder_state {
  session_store_actor store;
  event_hub_actor hub;
  std::map<std::string, worker_record> workers;
  static inline const char* name = "hal9000.worker_recorder";
};

using recorder_pointer = worker_observer_actor::stateful_pointer<recorder_state>;

std::string time_of(int64_t ms) {
  return iso8601_utc(std::chrono::system_clock::time_point{std::chrono::milliseconds{ms}});
}

void log_failure(const char* what, const std::string& id) {
  log()->warn("{} {} not recorded", what, id);
}

} // namespace

worker_observer_actor spawn_worker_recorder(caf::actor_system& sys,
                                            session_store_actor store,
                                            event_hub_actor hub) {
  auto fn = [](recorder_pointer self, session_store_actor store,
               event_hub_actor hub) -> worker_observer_actor::behavior_type {
    self->state.store = std::move(store);
    self->state.hub = std::move(hub);
    return {
      [=](worker_transition& t) {
        auto& st = self->state;
        if (st.hub)
          for (auto& e : worker_change_events(t.worker_id, t.container_id, t.from, t.to,
                                              t.reason, t.time_ms, t.session_name, t.served))
            self->send(st.hub, std::move(e));
        bool served = !t.session_name.empty()
                      && (t.from == "claimed" || t.from == "busy" || t.from == "stopping");
        if (t.to == "gone" || t.to == "failed") {
          st.workers.erase(t.worker_id);
          self->request(st.store, 10s, caf::delete_atom::value, workers_atom::value,
                        t.worker_id)
            .then([] {}, [id = t.worker_id](caf::error&) { log_failure("removal of worker", id); });
          if (served) {
            auto reason = t.reason.empty() ? std::string{"worker " + t.to} : t.reason;
            self->request(st.store, 10s, end_atom::value, t.session_name, reason,
                          time_of(t.time_ms))
              .then([](session_record&) {},
                    [name = t.session_name](caf::error& err) {
                      if (error_code(err) != errc::not_found)
                        log_failure("end of session", name);
                    });
          }
          return;
        }
        auto& rec = st.workers[t.worker_id];
        if (rec.id.empty()) {
          rec.id = t.worker_id;
          rec.created_at = time_of(t.time_ms);
        }
        rec.container_id = t.container_id;
        rec.state = t.to;
        rec.reason = t.reason;
        if (t.to == "warm")
          rec.warm_since = time_of(t.time_ms);
        self->request(st.store, 10s, caf::put_atom::value, rec)
          .then([] {}, [id = t.worker_id](caf::error&) { log_failure("worker", id); });
      },
    };
  };
  return sys.spawn(fn, std::move(store), std::move(hub));
}

} // namespace hal9000
