#include "actors/worker_recorder.hpp"

#include <chrono>
#include <map>
#include <set>

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/event_hub.hpp"
#include "actors/session_rules.hpp"
#include "messages/error.hpp"
#include "runtime/limits.hpp"
#include "runtime/logging.hpp"
#include "runtime/time_format.hpp"

namespace hal9000 {

namespace {

using namespace std::chrono_literals;

struct recorder_state {
  session_store_actor store;  // worker records
  sessions_actor sessions;    // session records (ends, notes)
  event_hub_actor hub;
  std::map<std::string, worker_record> workers;
  std::map<std::string, uint32_t> oom_seen;  // session -> OOM kills published
  std::map<std::string, std::string> cut_off;  // session -> why it is network-lost
  static inline const char* name = "hal9000.worker_recorder";
};

using recorder_pointer = worker_observer_actor::stateful_pointer<recorder_state>;

std::string time_of(int64_t ms) {
  return iso8601_utc(std::chrono::system_clock::time_point{std::chrono::milliseconds{ms}});
}

void log_failure(const char* what, const std::string& id) {
  log()->warn("{} {} not recorded", what, id);
}

// Bytes of a Docker memory limit ("512m"); 0 when unknown or unlimited.
int64_t limit_bytes(const std::string& text) {
  if (text.empty())
    return 0;
  auto b = parse_memory(text);
  return b ? *b : 0;
}

// News about a running worker (from == to): an OOM kill inside its session,
// or the session's network cut off. Each is an event at once and a note on
// the session's record; the session goes on.
void news(recorder_pointer self, const worker_transition& t) {
  auto& st = self->state;
  if (t.session_name.empty())
    return;
  auto& seen = st.oom_seen[t.session_name];
  if (t.oom_kills > seen) {
    auto fresh = t.oom_kills - seen;
    seen = t.oom_kills;
    lifecycle_event e;
    e.kind = event_kinds::session_oom;
    e.time = time_of(t.time_ms);
    e.session = t.session_name;
    e.worker_id = t.worker_id;
    e.container_id = t.container_id;
    e.oom = true;
    e.memory_limit = limit_bytes(t.memory_limit);
    e.reason = "a process inside session " + t.session_name + " was OOM-killed"
               + (t.memory_limit.empty() ? std::string{}
                                         : " (memory limit " + t.memory_limit + ")")
               + "; the session goes on";
    e.details["oom_kills"] = std::to_string(t.oom_kills);
    e.details["new_kills"] = std::to_string(fresh);
    if (!t.memory_limit.empty())
      e.details["memory_limit"] = t.memory_limit;
    if (st.hub)
      self->send(st.hub, std::move(e));
    session_note n;
    n.name = t.session_name;
    n.worker_id = t.worker_id;
    n.oom_kills = t.oom_kills;
    n.last_oom_at = time_of(t.time_ms);
    self->request(st.sessions, 10s, n)
      .then([](session_record&) {},
            [name = t.session_name](caf::error& err) {
              if (error_code(err) != errc::not_found)
                log_failure("OOM kill of session", name);
            });
  }
  if (!t.network_lost.empty() && st.cut_off[t.session_name] != t.network_lost) {
    st.cut_off[t.session_name] = t.network_lost;
    auto words = network_lost_reason(t.session_name, t.network_lost);
    lifecycle_event e;
    e.kind = event_kinds::session_network_lost;
    e.time = time_of(t.time_ms);
    e.session = t.session_name;
    e.worker_id = t.worker_id;
    e.container_id = t.container_id;
    e.reason = words;
    e.details["restore"] = restore_command(t.session_name);
    if (st.hub)
      self->send(st.hub, std::move(e));
    session_note n;
    n.name = t.session_name;
    n.worker_id = t.worker_id;
    n.network_lost = true;
    n.state_reason = words;
    n.restore = restore_command(t.session_name);
    self->request(st.sessions, 10s, n)
      .then([](session_record&) {},
            [name = t.session_name](caf::error& err) {
              if (error_code(err) != errc::not_found)
                log_failure("network loss of session", name);
            });
  }
}

} // namespace

worker_observer_actor spawn_worker_recorder(caf::actor_system& sys,
                                            session_store_actor store,
                                            sessions_actor sessions,
                                            event_hub_actor hub) {
  auto fn = [](recorder_pointer self, session_store_actor store, sessions_actor sessions,
               event_hub_actor hub) -> worker_observer_actor::behavior_type {
    self->state.store = std::move(store);
    self->state.sessions = std::move(sessions);
    self->state.hub = std::move(hub);
    return {
      [=](worker_transition& t) {
        auto& st = self->state;
        if (!t.from.empty() && t.from == t.to) {
          news(self, t);
          return;
        }
        if (st.hub)
          for (auto& e : worker_change_events(t.worker_id, t.container_id, t.from, t.to,
                                              t.reason, t.time_ms, t.session_name, t.served,
                                              limit_bytes(t.memory_limit), t.end))
            self->send(st.hub, std::move(e));
        bool served = !t.session_name.empty()
                      && (t.from == "claimed" || t.from == "busy" || t.from == "stopping");
        if (t.to == "gone" || t.to == "failed") {
          st.workers.erase(t.worker_id);
          self->request(st.store, 10s, caf::delete_atom::value, workers_atom::value,
                        t.worker_id)
            .then([] {}, [id = t.worker_id](caf::error&) { log_failure("removal of worker", id); });
          if (served) {
            st.oom_seen.erase(t.session_name);
            st.cut_off.erase(t.session_name);
            // The end rules (a worker with no typed end) are the sessions
            // actor's: it writes the record.
            session_ended e;
            e.name = t.session_name;
            e.worker_id = t.worker_id;
            e.end = t.end;
            e.words = t.reason;
            e.failed = t.to == "failed";
            e.ended_at = time_of(t.time_ms);
            self->request(st.sessions, 10s, std::move(e))
              .then([](session_record&) {},
                    [name = t.session_name](caf::error& err) {
                      if (error_code(err) != errc::not_found)
                        log_failure("end of session", name);
                    });
          }
          return;
        }
        if (!t.session_name.empty() && t.oom_kills > 0)
          news(self, t);
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
  return sys.spawn(fn, std::move(store), std::move(sessions), std::move(hub));
}

} // namespace hal9000
