// The docker actor: a front that never blocks, a few detached I/O workers
// that each own one kept-alive Engine API connection, and an event stream on
// its own thread.
//
//   callers --request--> front --request(timeout)--> io worker (detached)
//                          |  (queues when all workers are busy)   | blocking
//                          |                                       v libcurl
//   subscribers <--event-- front <--anon_send-- event_stream thread (/events)
#include "actors/docker_actor.hpp"

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "docker/engine_client.hpp"
#include "docker/event_stream.hpp"
#include "messages/error.hpp"
#include "runtime/config.hpp"

namespace hal9000::docker {

options options_from(const hal9000::config& cfg) {
  options o;
  o.host = cfg.docker_host;
  o.tls_verify = cfg.docker_tls_verify;
  o.cert_path = cfg.docker_cert_path;
  o.concurrency = cfg.docker_concurrency;
  return o;
}

namespace {

using ms = std::chrono::milliseconds;
using clock_type = std::chrono::steady_clock;

// The implementation's handle: the public interface plus what the event
// stream thread sends.
using front_actor = docker_actor::extend<caf::reacts_to<event>,
                                         caf::reacts_to<engine_status>>;

endpoint endpoint_of(const options& o) {
  return endpoint{o.host, o.tls_verify, o.cert_path};
}

// -- I/O worker: blocking calls, one at a time, on its own thread -------------

struct worker_state {
  std::unique_ptr<engine_client> engine;
  static inline const char* name = "hal9000.docker.io";
};

caf::result<void> done(caf::error err) {
  if (err)
    return err;
  return caf::unit;
}

caf::behavior io_worker(caf::stateful_actor<worker_state>* self, options opts) {
  self->state.engine = std::make_unique<engine_client>(endpoint_of(opts), opts.timeout);
  auto e = [self]() -> engine_client& { return *self->state.engine; };
  return {
    [=](ping_req) -> caf::result<std::string> { return e().ping(); },
    [=](version_req) -> caf::result<version_info> { return e().version(); },
    [=](info_req) -> caf::result<std::string> { return e().info(); },
    [=](image_inspect_req& r) -> caf::result<image_info> {
      return e().image_inspect(r.image);
    },
    [=](image_pull_req& r) -> caf::result<image_info> {
      auto sink = r.sink;
      return e().image_pull(
        r.image,
        [&](pull_progress p) {
          if (sink)
            self->send(sink, std::move(p));
        },
        opts.long_timeout);
    },
    [=](image_import_req& r) -> caf::result<image_info> {
      return e().image_import(r, opts.long_timeout);
    },
    [=](image_remove_req& r) -> caf::result<void> {
      return done(e().image_remove(r.image, r.force));
    },
    [=](create_req& r) -> caf::result<container_created> { return e().create(r.spec); },
    [=](start_req& r) -> caf::result<void> { return done(e().start(r.id)); },
    [=](stop_req& r) -> caf::result<void> { return done(e().stop(r.id, r.timeout_s)); },
    [=](kill_req& r) -> caf::result<void> { return done(e().kill(r.id, r.signal)); },
    [=](remove_req& r) -> caf::result<void> {
      return done(e().remove(r.id, r.force, r.volumes));
    },
    [=](inspect_req& r) -> caf::result<container_info> { return e().inspect(r.id); },
    [=](list_req& r) -> caf::result<std::vector<container_summary>> {
      return e().list(r.labels, r.all);
    },
    [=](rename_req& r) -> caf::result<void> { return done(e().rename(r.id, r.new_name)); },
    [=](update_req& r) -> caf::result<void> { return done(e().update(r)); },
    [=](exec_req& r) -> caf::result<exec_result> { return e().exec(r); },
    [=](wait_req& r) -> caf::result<int64_t> { return e().wait(r.id, r.timeout_s); },
    [=](logs_req& r) -> caf::result<std::string> { return e().logs(r.id, r.tail); },
    [=](volume_create_req& r) -> caf::result<volume_info> { return e().volume_create(r); },
    [=](volume_inspect_req& r) -> caf::result<volume_info> {
      return e().volume_inspect(r.name);
    },
    [=](volume_remove_req& r) -> caf::result<void> {
      return done(e().volume_remove(r.name, r.force));
    },
  };
}

// -- front: dispatch, queue, subscribers ---------------------------------------

struct job {
  std::function<void(size_t worker)> run;
  std::function<void(caf::error)> fail;
  clock_type::time_point queued;
};

struct subscriber {
  event_sink_actor sink;
  std::map<std::string, std::string> labels;
};

struct front_state {
  options opts;
  std::vector<caf::actor> workers;
  std::vector<bool> busy;
  std::deque<job> queue;
  std::map<caf::actor_addr, subscriber> subs;
  std::optional<engine_status> status;  // unknown until the stream first reports
  std::vector<caf::response_promise> waiting;  // subscribe replies held until then
  std::unique_ptr<event_stream> stream;  // destroyed (stopped) with the state
  static inline const char* name = "hal9000.docker";
};

using front_ptr = front_actor::stateful_pointer<front_state>;

// How long one call may take at the engine.
ms call_timeout(const options& o, const stop_req& r) {
  return o.timeout + std::chrono::seconds(r.timeout_s);
}
ms call_timeout(const options&, const wait_req& r) {
  return std::chrono::seconds(r.timeout_s);
}
ms call_timeout(const options& o, const image_pull_req&) { return o.long_timeout; }
ms call_timeout(const options& o, const image_import_req&) { return o.long_timeout; }
ms call_timeout(const options& o, const exec_req&) { return o.timeout * 3; }
template <class T>
ms call_timeout(const options& o, const T&) {
  return o.timeout;
}

void run_next(front_ptr self, size_t w) {
  auto& st = self->state;
  while (!st.queue.empty()) {
    auto j = std::move(st.queue.front());
    st.queue.pop_front();
    auto waited = std::chrono::duration_cast<ms>(clock_type::now() - j.queued);
    if (waited > st.opts.timeout) {
      // Its caller gave up long ago; running it now could only do harm.
      j.fail(make_error(errc::deadline_exceeded,
                        "waited " + std::to_string(waited.count())
                          + " ms for a free Docker engine connection"));
      continue;
    }
    st.busy[w] = true;
    j.run(w);
    return;
  }
}

void release(front_ptr self, size_t w) {
  self->state.busy[w] = false;
  run_next(self, w);
}

// Reports a finished call (queue wait included) to the observer, if any.
void observe(front_ptr self, const char* op, clock_type::time_point queued,
             const caf::error& err) {
  if (auto& f = self->state.opts.observe)
    f(op, std::chrono::duration<double, std::milli>(clock_type::now() - queued).count(),
      err);
}

template <class Rep, class Req>
caf::result<Rep> dispatch(front_ptr self, const char* op, Req req) {
  auto rp = self->make_response_promise();
  auto t = call_timeout(self->state.opts, req);
  job j;
  j.queued = clock_type::now();
  auto queued = j.queued;
  j.fail = [self, rp, op, queued](caf::error e) mutable {
    observe(self, op, queued, e);
    rp.deliver(std::move(e));
  };
  j.run = [self, rp, t, req, op, queued](size_t w) mutable {
    // The engine call times out first; this only guards against a stuck worker.
    auto guard = t + std::chrono::seconds(5);
    auto on_error = [self, rp, w, t, op, queued](caf::error& e) mutable {
      if (e == caf::sec::request_timeout)
        e = make_error(errc::deadline_exceeded,
                       "the Docker call did not finish within "
                         + std::to_string(t.count()) + " ms");
      observe(self, op, queued, e);
      rp.deliver(std::move(e));
      release(self, w);
    };
    auto h = self->request(self->state.workers[w], guard, std::move(req));
    if constexpr (std::is_void_v<Rep>) {
      h.then(
        [self, rp, w, op, queued]() mutable {
          observe(self, op, queued, caf::error{});
          rp.deliver(caf::unit);
          release(self, w);
        },
        on_error);
    } else {
      h.then(
        [self, rp, w, op, queued](Rep& x) mutable {
          observe(self, op, queued, caf::error{});
          rp.deliver(std::move(x));
          release(self, w);
        },
        on_error);
    }
  };
  auto& st = self->state;
  for (size_t w = 0; w < st.workers.size(); ++w)
    if (!st.busy[w]) {
      st.busy[w] = true;
      j.run(w);
      return rp;
    }
  st.queue.push_back(std::move(j));
  return rp;
}

bool matches(const std::map<std::string, std::string>& want,
             const std::map<std::string, std::string>& have) {
  for (auto& [k, v] : want) {
    auto it = have.find(k);
    if (it == have.end() || (!v.empty() && it->second != v))
      return false;
  }
  return true;
}

void ensure_stream(front_ptr self) {
  auto& st = self->state;
  if (st.stream)
    return;
  // The thread holds only a weak address, so it never keeps the actor alive.
  auto addr = caf::actor_cast<caf::actor_addr>(self);
  event_stream::callbacks cb;
  cb.on_event = [addr](event e) {
    if (auto h = caf::actor_cast<caf::actor>(addr))
      caf::anon_send(h, std::move(e));
  };
  cb.on_status = [addr](bool up, std::string reason) {
    if (auto h = caf::actor_cast<caf::actor>(addr))
      caf::anon_send(h, engine_status{up, std::move(reason)});
  };
  st.stream = std::make_unique<event_stream>(endpoint_of(st.opts), st.opts.reconnect_min,
                                             st.opts.reconnect_max, std::move(cb));
  st.stream->start();
}

front_actor::behavior_type front(front_ptr self, options opts) {
  auto& st = self->state;
  st.opts = opts;
  auto n = std::max<uint32_t>(1, opts.concurrency);
  for (uint32_t i = 0; i < n; ++i)
    st.workers.push_back(self->spawn<caf::detached + caf::linked>(io_worker, opts));
  st.busy.assign(n, false);
  self->set_down_handler([self](caf::down_msg& dm) { self->state.subs.erase(dm.source); });
  return {
    [=](ping_req& r) { return dispatch<std::string>(self, "ping", r); },
    [=](version_req& r) { return dispatch<version_info>(self, "version", r); },
    [=](info_req& r) { return dispatch<std::string>(self, "info", r); },
    [=](image_inspect_req& r) { return dispatch<image_info>(self, "image_inspect", std::move(r)); },
    [=](image_pull_req& r) { return dispatch<image_info>(self, "image_pull", std::move(r)); },
    [=](image_import_req& r) { return dispatch<image_info>(self, "image_import", std::move(r)); },
    [=](image_remove_req& r) { return dispatch<void>(self, "image_remove", std::move(r)); },
    [=](create_req& r) { return dispatch<container_created>(self, "create", std::move(r)); },
    [=](start_req& r) { return dispatch<void>(self, "start", std::move(r)); },
    [=](stop_req& r) { return dispatch<void>(self, "stop", std::move(r)); },
    [=](kill_req& r) { return dispatch<void>(self, "kill", std::move(r)); },
    [=](remove_req& r) { return dispatch<void>(self, "remove", std::move(r)); },
    [=](inspect_req& r) { return dispatch<container_info>(self, "inspect", std::move(r)); },
    [=](list_req& r) {
      return dispatch<std::vector<container_summary>>(self, "list", std::move(r));
    },
    [=](rename_req& r) { return dispatch<void>(self, "rename", std::move(r)); },
    [=](update_req& r) { return dispatch<void>(self, "update", std::move(r)); },
    [=](exec_req& r) { return dispatch<exec_result>(self, "exec", std::move(r)); },
    [=](wait_req& r) { return dispatch<int64_t>(self, "wait", std::move(r)); },
    [=](logs_req& r) { return dispatch<std::string>(self, "logs", std::move(r)); },
    [=](volume_create_req& r) { return dispatch<volume_info>(self, "volume_create", std::move(r)); },
    [=](volume_inspect_req& r) { return dispatch<volume_info>(self, "volume_inspect", std::move(r)); },
    [=](volume_remove_req& r) { return dispatch<void>(self, "volume_remove", std::move(r)); },
    [=](subscribe_req& r) -> caf::result<void> {
      if (!r.sink)
        return make_error(errc::invalid_argument, "subscribe needs a sink actor");
      auto& st = self->state;
      auto addr = r.sink.address();
      if (st.subs.count(addr) == 0)
        self->monitor(r.sink);
      st.subs[addr] = subscriber{r.sink, std::move(r.labels)};
      ensure_stream(self);
      if (st.status) {
        self->send(r.sink, *st.status);
        return caf::unit;
      }
      // Reply once the stream is connected (or known down): events after the
      // reply are then guaranteed to reach the sink.
      auto rp = self->make_response_promise();
      st.waiting.push_back(rp);
      return rp;
    },
    [=](unsubscribe_req& r) -> caf::result<void> {
      auto& st = self->state;
      if (st.subs.erase(r.sink.address()) > 0)
        self->demonitor(r.sink.address());
      return caf::unit;
    },
    [=](event& e) {
      for (auto& [addr, s] : self->state.subs)
        if (matches(s.labels, e.labels))
          self->send(s.sink, e);
    },
    [=](engine_status& s) {
      auto& st = self->state;
      st.status = s;
      for (auto& [addr, sub] : st.subs)
        self->send(sub.sink, s);
      for (auto& rp : st.waiting)
        rp.deliver(caf::unit);
      st.waiting.clear();
    },
  };
}

} // namespace

docker_actor spawn_docker(caf::actor_system& sys, options opts) {
  init_curl_once();
  return sys.spawn(front, std::move(opts));
}

} // namespace hal9000::docker
