#include "actors/event_hub.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <deque>
#include <sstream>

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "messages/error.hpp"

namespace hal9000 {

// -- building events --------------------------------------------------------------

std::string event_time(std::chrono::system_clock::time_point t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch())
              .count();
  auto secs = static_cast<std::time_t>(ms / 1000);
  struct tm utc;
  ::gmtime_r(&secs, &utc);
  char buf[40];
  auto n = std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(buf + n, sizeof(buf) - n, ".%03dZ", static_cast<int>(ms % 1000));
  return buf;
}

namespace {

// The container's exit code as the engine reported it; -1 unknown.
int32_t exit_code_of(const end_reason& end) {
  switch (end.kind) {
    case end_kind::exited: return end.code;
    case end_kind::signaled: return 128 + end.code;
    case end_kind::oom_killed: return 137;
    default: return -1;
  }
}

} // namespace

std::vector<lifecycle_event>
worker_change_events(const std::string& worker_id, const std::string& container_id,
                     worker_state from, worker_state to,
                     const std::string& reason, int64_t time_ms,
                     const std::string& session, served_kind served,
                     int64_t memory_limit, const end_reason& end) {
  std::vector<lifecycle_event> out;
  if (from == to)
    return out;  // news about a running worker: the recorder says what it means
  lifecycle_event e;
  e.time = time_ms > 0 ? event_time(std::chrono::system_clock::time_point{
                           std::chrono::milliseconds{time_ms}})
                       : std::string{};
  e.worker_id = worker_id;
  e.container_id = container_id;
  e.session = session;
  e.reason = reason;
  if (from != worker_state::none)
    e.details["from"] = to_string(from);
  if (end.kind != end_kind::none && (to == worker_state::failed || to == worker_state::gone)) {
    e.end = end;
    e.reason = to_string(end);
    e.oom = end.kind == end_kind::oom_killed;
    e.exit_code = exit_code_of(end);
    e.details["end"] = to_string(end.kind);
  }
  auto ended = [&](lifecycle_event x) {
    x.kind = event_kinds::session_ended;
    out.push_back(std::move(x));
  };
  if (to == worker_state::creating) {
    e.kind = event_kinds::worker_creating;
  } else if (to == worker_state::warm) {
    e.kind = event_kinds::worker_warm;
  } else if (to == worker_state::claimed) {
    e.kind = event_kinds::worker_claimed;
  } else if (to == worker_state::busy) {
    e.kind = event_kinds::session_started;
    if (served != served_kind::none)
      e.details["served"] = to_string(served);
  } else if (to == worker_state::failed) {
    e.kind = event_kinds::worker_died;
    e.memory_limit = memory_limit;
    out.push_back(e);
    if (!session.empty() && had_session(from))
      ended(e);
    return out;
  } else if (to == worker_state::gone) {
    e.kind = event_kinds::worker_removed;
    out.push_back(e);
    if (!session.empty() && had_session(from))
      ended(e);
    return out;
  } else {
    return out;  // stopping: the gone that follows says what matters
  }
  out.push_back(std::move(e));
  return out;
}

lifecycle_event chroma_health_event(const chroma::event& e) {
  lifecycle_event out;
  out.kind = event_kinds::chromadb_health;
  if (e.current.checked_at_ms > 0)
    out.time = event_time(std::chrono::system_clock::time_point{
      std::chrono::milliseconds{e.current.checked_at_ms}});
  out.details["state"] = chroma::to_string(e.current.state);
  if (e.kind != chroma::event_kind::state_changed)
    out.details["step"] = chroma::to_string(e.kind);
  if (e.current.latency_ms >= 0) {
    std::ostringstream latency;
    latency << e.current.latency_ms;
    out.details["latency_ms"] = latency.str();
  }
  // A healthy state keeps the last error only as history: not its reason.
  if (!e.current.last_error.empty() && e.current.state != chroma::health::healthy) {
    out.details["error"] = e.current.last_error;
    out.reason = e.current.last_error;
  }
  if (e.current.restarts > 0)
    out.details["restarts"] = std::to_string(e.current.restarts);
  return out;
}

// -- metrics from events ------------------------------------------------------------

event_metrics::event_metrics(std::shared_ptr<metrics::daemon_metrics> m)
  : m_(std::move(m)) {
}

namespace {

const std::string* detail(const lifecycle_event& e, const char* key) {
  auto i = e.details.find(key);
  return i == e.details.end() || i->second.empty() ? nullptr : &i->second;
}

bool parse_number(const std::string* text, double& out) {
  if (text == nullptr)
    return false;
  char* end = nullptr;
  out = std::strtod(text->c_str(), &end);
  return end != text->c_str() && *end == '\0';
}

} // namespace

void event_metrics::apply(const lifecycle_event& e) {
  if (!m_)
    return;
  auto& m = *m_;
  m.events.with({e.kind}).inc();
  const auto& k = e.kind;
  if (k == event_kinds::worker_creating) {
    workers_[e.worker_id] = worker_state::creating;
    creating_since_[e.worker_id] = std::chrono::steady_clock::now();
  } else if (k == event_kinds::worker_warm) {
    workers_[e.worker_id] = worker_state::warm;
    double ms = 0;
    if (parse_number(detail(e, "duration_ms"), ms)) {
      m.refill_duration.with({}).observe(ms);
    } else if (auto i = creating_since_.find(e.worker_id); i != creating_since_.end()) {
      std::chrono::duration<double, std::milli> d = std::chrono::steady_clock::now() - i->second;
      m.refill_duration.with({}).observe(d.count());
    }
    creating_since_.erase(e.worker_id);
  } else if (k == event_kinds::worker_claimed) {
    workers_[e.worker_id] = worker_state::busy;
  } else if (k == event_kinds::session_started) {
    if (!e.worker_id.empty())
      workers_[e.worker_id] = worker_state::busy;
    if (!e.session.empty() && sessions_.insert(e.session).second)
      m.sessions_active.with({}).set(static_cast<double>(sessions_.size()));
    // The event's text is an edge: its name read back, the label its name.
    auto served = served_kind::none;
    if (auto text = detail(e, "served"); text != nullptr && from_string(*text, served)
                                         && served != served_kind::none)
      m.claims.with({to_string(served)}).inc();
    double ms = 0;
    if (parse_number(detail(e, "claim_latency_ms"), ms))
      m.claim_latency.with({}).observe(ms);
  } else if (k == event_kinds::session_ended) {
    if (sessions_.erase(e.session) > 0)
      m.sessions_active.with({}).set(static_cast<double>(sessions_.size()));
    if (cut_off_.erase(e.session) > 0)
      m.sessions_network_lost.with({}).set(static_cast<double>(cut_off_.size()));
  } else if (k == event_kinds::session_oom) {
    double n = 1;
    if (!parse_number(detail(e, "new_kills"), n) || n < 1)
      n = 1;
    m.oom_kills.with({}).inc(static_cast<uint64_t>(n));
    m.session_oom_kills.with({e.session}).inc(static_cast<uint64_t>(n));
  } else if (k == event_kinds::session_network_lost) {
    if (cut_off_.insert(e.session).second)
      m.sessions_network_lost.with({}).set(static_cast<double>(cut_off_.size()));
  } else if (k == event_kinds::worker_died) {
    workers_.erase(e.worker_id);
    creating_since_.erase(e.worker_id);
    ++failed_;
    const char* reason = e.oom                ? "oom"
                         : e.exit_code == 0   ? "exit_zero"
                         : e.exit_code > 0    ? "exit_nonzero"
                                              : "disappeared";
    m.worker_exits.with({reason}).inc();
    // A session's OOM kills were counted by session.oom as they happened.
    if (e.oom && e.session.empty())
      m.oom_kills.with({}).inc();
  } else if (k == event_kinds::worker_removed) {
    creating_since_.erase(e.worker_id);
    if (workers_.erase(e.worker_id) > 0)
      m.worker_exits.with({"removed"}).inc();
  } else if (k == event_kinds::pool_cleanup) {
    failed_ = 0;
  } else if (k == event_kinds::chromadb_health) {
    if (auto state = detail(e, "state")) {
      for (auto s : {"unknown", "healthy", "degraded", "down"})
        m.chromadb_health.with({s}).set(*state == s ? 1 : 0);
      m.chromadb_up.with({}).set(*state == "healthy" || *state == "degraded" ? 1 : 0);
    }
    double ms = 0;
    if (parse_number(detail(e, "latency_ms"), ms))
      m.chromadb_latency.with({}).set(ms);
  } else if (k == event_kinds::daemon_reconcile) {
    if (auto action = detail(e, "action"))
      m.reconcile_actions.with({*action}).inc();
  } else {
    return;
  }
  publish_worker_counts();
}

void event_metrics::publish_worker_counts() {
  double warm = 0, creating = 0, busy = 0;
  for (auto& [id, state] : workers_) {
    if (state == worker_state::warm)
      ++warm;
    else if (state == worker_state::creating)
      ++creating;
    else
      ++busy;
  }
  auto& w = m_->workers;
  w.with({to_string(worker_state::warm)}).set(warm);
  w.with({to_string(worker_state::creating)}).set(creating);
  w.with({to_string(worker_state::busy)}).set(busy);
  w.with({to_string(worker_state::failed)}).set(static_cast<double>(failed_));
}

// -- the hub ------------------------------------------------------------------------

namespace {

struct hub_state {
  size_t capacity = 0;
  std::deque<lifecycle_event> recent;
  std::vector<event_sink> sinks;
  std::unique_ptr<event_metrics> metrics;
  static inline const char* name = "hal9000.event_hub";
};

using hub_pointer = event_hub_actor::stateful_pointer<hub_state>;

void publish(hub_pointer self, lifecycle_event& e) {
  auto& st = self->state;
  if (e.time.empty())
    e.time = event_time(std::chrono::system_clock::now());
  st.metrics->apply(e);
  for (auto& sink : st.sinks)
    self->send(sink, e);
  if (st.capacity == 0)
    return;
  if (st.recent.size() == st.capacity)
    st.recent.pop_front();
  st.recent.push_back(std::move(e));
}

} // namespace

event_hub_actor spawn_event_hub(caf::actor_system& sys, event_hub_options opts) {
  auto fn = [](hub_pointer self, event_hub_options opts) -> event_hub_actor::behavior_type {
    self->state.capacity = opts.capacity;
    self->state.metrics = std::make_unique<event_metrics>(std::move(opts.metrics));
    self->set_down_handler([self](caf::down_msg& dm) {
      auto& sinks = self->state.sinks;
      sinks.erase(std::remove_if(sinks.begin(), sinks.end(),
                                 [&](const event_sink& s) { return s.address() == dm.source; }),
                  sinks.end());
    });
    return {
      [self](lifecycle_event& e) { publish(self, e); },
      [self](events_subscribe_req& req) -> caf::result<events_subscribe_reply> {
        auto& st = self->state;
        events_subscribe_reply reply;
        reply.hub = caf::actor_cast<caf::actor>(self);
        if (!req.follow) {
          reply.sinks = static_cast<uint32_t>(st.sinks.size());
          if (req.replay)
            reply.recent.assign(st.recent.begin(), st.recent.end());
          return reply;
        }
        if (!req.sink)
          return make_error(errc::invalid_argument,
                            "events --follow needs a sink to send events to");
        if (std::find(st.sinks.begin(), st.sinks.end(), req.sink) == st.sinks.end()) {
          self->monitor(req.sink);
          st.sinks.push_back(req.sink);
        }
        // Sent before any later event: one sender, one receiver, in order.
        if (req.replay) {
          for (auto& e : st.recent)
            self->send(req.sink, e);
          reply.replayed = static_cast<uint32_t>(st.recent.size());
        }
        reply.sinks = static_cast<uint32_t>(st.sinks.size());
        return reply;
      },
      [self](events_unsubscribe_req& req) {
        auto& sinks = self->state.sinks;
        auto i = std::find(sinks.begin(), sinks.end(), req.sink);
        if (i != sinks.end()) {
          self->demonitor(i->address());
          sinks.erase(i);
        }
      },
      [self](chroma::event& e) {
        auto ev = chroma_health_event(e);
        publish(self, ev);
      },
    };
  };
  return sys.spawn(fn, std::move(opts));
}

} // namespace hal9000
