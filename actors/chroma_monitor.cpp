// The ChromaDB monitor: a timer, a detached prober (blocking HTTP off the
// scheduler), the health_tracker's decisions, and the restarter.
#include "actors/chroma_monitor.hpp"

#include <algorithm>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/chroma_health.hpp"
#include "actors/chroma_probe.hpp"
#include "messages/error.hpp"
#include "runtime/config.hpp"
#include "runtime/names.hpp"

namespace hal9000::chroma {

namespace {

// -- the prober: owns the kept-alive HTTP client --------------------------------

struct probe_req {
  int32_t unused = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, probe_req& x) {
  return f(caf::meta::type_name("hal9000::chroma::probe_req"), x.unused);
}

using prober_actor
  = caf::typed_actor<caf::replies_to<probe_req>::with<probe_result>>;

struct prober_state {
  std::unique_ptr<heartbeat_probe> probe;
  static constexpr const char* name = "hal9000.chroma.prober";
};

prober_actor::behavior_type
prober(prober_actor::stateful_pointer<prober_state> self, options opts) {
  self->state.probe = std::make_unique<heartbeat_probe>(
    opts.url, opts.connect_timeout, opts.read_timeout);
  return {
    [=](probe_req) -> probe_result { return self->state.probe->run(); },
  };
}

// -- the monitor ------------------------------------------------------------------

// The timer carries a generation: a probe asked for by check_req re-arms the
// timer, and ticks of older generations are dropped, so one chain runs.
using monitor_impl_actor
  = monitor_actor::extend<caf::reacts_to<caf::tick_atom, uint64_t>>;

struct monitor_state {
  options opts;
  restarter_actor restarter;
  prober_actor prober;
  std::unique_ptr<health_tracker> tracker;
  std::vector<sink_actor> sinks;
  std::vector<caf::typed_response_promise<status>> waiting;  // check_req
  bool probing = false;
  uint64_t generation = 0;
  static constexpr const char* name = "hal9000.chroma.monitor";
};

using monitor_ptr = monitor_impl_actor::stateful_pointer<monitor_state>;

int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

void emit(monitor_ptr self, event_kind kind) {
  for (auto& s : self->state.sinks)
    self->send(s, event{kind, self->state.tracker->current()});
}

void arm_timer(monitor_ptr self) {
  auto& st = self->state;
  auto gen = ++st.generation;
  auto& now = st.tracker->current();
  bool failing = now.state == health::degraded && now.consecutive_failures > 0;
  auto delay = failing ? std::min(st.opts.retry_interval, st.opts.interval)
                       : st.opts.interval;
  self->delayed_send(self, delay, caf::tick_atom::value, gen);
}

void start_probe(monitor_ptr self);

void maybe_restart(monitor_ptr self) {
  auto& st = self->state;
  if (!st.restarter)
    return;
  auto attempt = st.tracker->take_restart(health_tracker::clock::now());
  if (!attempt)
    return;
  emit(self, event_kind::restarting);
  restart_req req{st.tracker->current().last_error, *attempt};
  self->request(st.restarter, st.opts.restart_timeout, std::move(req))
    .then(
      [=]() {
        self->state.tracker->on_restart_done(health_tracker::clock::now());
        emit(self, event_kind::restarted);
        start_probe(self);  // healthy again is worth knowing at once
      },
      [=](caf::error& err) {
        self->state.tracker->on_restart_failed(error_message(err),
                                               health_tracker::clock::now());
        emit(self, event_kind::restart_failed);
      });
}

void on_probe(monitor_ptr self, const probe_result& r) {
  auto& st = self->state;
  st.probing = false;
  if (st.tracker->on_probe(r, health_tracker::clock::now(), unix_ms()))
    emit(self, event_kind::state_changed);
  for (auto& rp : st.waiting)
    rp.deliver(st.tracker->current());
  st.waiting.clear();
  maybe_restart(self);
  arm_timer(self);
}

void start_probe(monitor_ptr self) {
  auto& st = self->state;
  if (st.probing)
    return;
  st.probing = true;
  // v2, then maybe v1: two requests, each bounded by connect + read.
  auto bound = 2 * (st.opts.connect_timeout + st.opts.read_timeout)
               + std::chrono::seconds(1);
  self->request(st.prober, bound, probe_req{})
    .then([=](probe_result& r) { on_probe(self, r); },
          [=](caf::error& err) {
            probe_result r;
            r.error = "heartbeat probe of " + self->state.opts.url
                      + " did not finish: " + error_message(err);
            on_probe(self, r);
          });
}

monitor_impl_actor::behavior_type
monitor(monitor_ptr self, options opts, restarter_actor restarter) {
  auto& st = self->state;
  st.tracker = std::make_unique<health_tracker>(
    health_policy{opts.failure_threshold, opts.slow, opts.restart_backoff_min,
                  opts.restart_backoff_max},
    opts.url);
  st.opts = opts;
  st.restarter = std::move(restarter);
  // Linked: the prober goes when the monitor goes (after its current probe,
  // which the timeouts bound).
  st.prober = self->spawn<caf::detached + caf::linked>(prober, opts);
  self->set_down_handler([=](caf::down_msg& dm) {
    auto& sinks = self->state.sinks;
    sinks.erase(std::remove_if(sinks.begin(), sinks.end(),
                               [&](const sink_actor& s) {
                                 return s.address() == dm.source;
                               }),
                sinks.end());
  });
  // The timer keeps this actor alive, so the owner must exit it; any exit
  // message ends it (and, through the link, the prober).
  self->set_exit_handler([=](caf::exit_msg& msg) {
    for (auto& rp : self->state.waiting)
      rp.deliver(make_error(errc::unavailable, "ChromaDB monitor stopped"));
    self->state.waiting.clear();
    self->state.sinks.clear();
    self->quit(msg.reason);
  });
  start_probe(self);
  return {
    [=](caf::tick_atom, uint64_t gen) {
      if (gen == self->state.generation)
        start_probe(self);
    },
    [=](status_atom) -> status { return self->state.tracker->current(); },
    [=](check_req) -> caf::typed_response_promise<status> {
      auto rp = self->make_response_promise<status>();
      self->state.waiting.push_back(rp);
      start_probe(self);
      return rp;
    },
    [=](subscribe_req& req) {
      if (!req.sink)
        return;
      self->monitor(req.sink);
      self->send(req.sink,
                 event{event_kind::state_changed, self->state.tracker->current()});
      self->state.sinks.push_back(std::move(req.sink));
    },
    [=](unsubscribe_req& req) {
      auto& sinks = self->state.sinks;
      sinks.erase(std::remove(sinks.begin(), sinks.end(), req.sink), sinks.end());
    },
  };
}

// -- the docker-backed restarter ---------------------------------------------------------

restarter_actor::behavior_type
docker_restarter(restarter_actor::pointer self, docker::docker_actor docker,
                 std::string container, int32_t stop_timeout_s, std::string prefix) {
  // Monitor, not link: the docker actor is shared, and a link would take it
  // down with us (even our "unreachable" exit when the last handle goes).
  self->monitor(docker);
  self->set_down_handler([=](caf::down_msg& dm) {
    if (dm.source == docker.address())
      self->quit(dm.reason);
  });
  auto call_timeout = std::chrono::seconds(stop_timeout_s + 30);
  return {
    [=](restart_req&) -> caf::typed_response_promise<void> {
      auto rp = self->make_response_promise<void>();
      // Workers live in the parent's network namespace: restarting it would
      // leave them with loopback only. Refuse, whatever the caller passed.
      if (names::is_parent(container, prefix)) {
        rp.deliver(make_error(errc::invalid_argument,
                              "refusing to restart " + container
                                + ": it owns the workers' network namespace"));
        return rp;
      }
      auto start = [=]() mutable {
        self->request(docker, call_timeout, docker::start_req{container})
          .then([=]() mutable {
                  // typed_response_promise<void> has no deliver() in 0.17.
                  static_cast<caf::response_promise&>(rp).deliver(caf::unit);
                },
                [=](caf::error& err) mutable {
                  rp.deliver(make_error(error_code(err),
                                        "cannot start " + container + ": "
                                          + error_message(err)));
                });
      };
      // A stop that fails (already stopped, or gone) still ends in a start,
      // whose error then says what is wrong.
      self->request(docker, call_timeout, docker::stop_req{container, stop_timeout_s})
        .then([=]() mutable { start(); }, [=](caf::error&) mutable { start(); });
      return rp;
    },
  };
}

} // namespace

options options_from(const hal9000::config& cfg) {
  options o;
  o.url = "http://127.0.0.1:" + std::to_string(cfg.chromadb_port);
  return o;
}

monitor_actor spawn_monitor(caf::actor_system& sys, options opts,
                            restarter_actor restarter) {
  return sys.spawn(monitor, std::move(opts), std::move(restarter));
}

void spawn_die_watch(caf::actor_system& sys, docker::docker_actor docker,
                     std::map<std::string, std::string> labels, monitor_actor monitor) {
  using sink = docker::event_sink_actor;
  sys.spawn([=](sink::pointer self) -> sink::behavior_type {
    self->link_to(monitor);
    self->request(docker, std::chrono::seconds(10), docker::subscribe_req{self, labels})
      .then([] {},
            [](caf::error&) {
              // Without events the monitor still notices at its next probe.
            });
    return {
      [=](docker::event& e) {
        if (e.action != "die")
          return;
        self->request(monitor, std::chrono::seconds(30), check_req{})
          .then([](status&) {}, [](caf::error&) {});
      },
      [](docker::engine_status&) {},
    };
  });
}

restarter_actor spawn_docker_restarter(caf::actor_system& sys,
                                       docker::docker_actor docker,
                                       std::string container,
                                       int32_t stop_timeout_s,
                                       std::string parent_prefix) {
  return sys.spawn(docker_restarter, std::move(docker), std::move(container),
                   stop_timeout_s, std::move(parent_prefix));
}

} // namespace hal9000::chroma
