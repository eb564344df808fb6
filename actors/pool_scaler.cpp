// The pool scaler: thin CAF glue around pool_logic. Everything that happens
// (a claim, a worker's transition, a Docker event, a timer) updates the logic
// and calls dispatch(), which carries out what the logic decides: serve
// claims, remove orphaned cold workers, refill, start cold creates.

#include "actors/pool_scaler.hpp"

#include <algorithm>
#include <cstdlib>
#include <deque>
#include <optional>
#include <random>

#include <unistd.h>

#include <caf/all.hpp>

#include "actors/pool_logic.hpp"
#include "messages/error.hpp"
#include "messages/deadlines.hpp"
#include "runtime/blocking.hpp"
#include "runtime/config.hpp"
#include "runtime/idmap.hpp"
#include "runtime/late_bind.hpp"
#include "runtime/limits.hpp"
#include "runtime/names.hpp"
#include "runtime/validate.hpp"

namespace hal9000 {

namespace {

// -- one timeout budget: the pool waits for its worker's own deadline ----------

constexpr std::chrono::milliseconds budget_margin = deadlines::step_margin;

worker_options deadlines_of(const pool_options& o) {
  worker_options w;
  w.docker_timeout = o.docker_timeout;
  w.ack_timeout = o.ack_timeout;
  return w;
}

/// How long the pool waits for a worker's claim reply (serve()).
std::chrono::milliseconds worker_claim_budget(const pool_options& o) {
  return worker_claim_deadline(deadlines_of(o)) + budget_margin;
}

/// How long the pool waits for a worker's stop reply.
std::chrono::milliseconds worker_stop_budget(const pool_options& o) {
  return worker_stop_deadline(deadlines_of(o)) + budget_margin;
}

using std::chrono::steady_clock;

using pool_impl_actor = pool_actor::extend<
  caf::reacts_to<worker_transition>,
  caf::reacts_to<docker::event>,
  caf::reacts_to<docker::engine_status>,
  caf::reacts_to<pool_tick_atom>,
  caf::reacts_to<expire_atom, uint64_t>,
  caf::reacts_to<idle_atom>,
  caf::reacts_to<refill_atom>>;

constexpr size_t max_failure_records = 50;

// On an event the safety net made up for a worker: how its end was found.
constexpr const char* found_label = "hal9000.found";

struct pending_claim {
  claim_request req;
  caf::typed_response_promise<claim_reply> rp;
  steady_clock::time_point received;  // wall time, for latency_us
  bool cold_only = false;
  std::vector<std::string> warnings;
  std::string worker;  // the worker serving it; empty while queued
  bool checked = false;  // its path checked (off the scheduler); queued since
};

struct pool_data {
  pool_options opts;
  pool_logic logic{pool_settings{}};
  docker::docker_actor docker;
  worker_observer_actor observer;
  worker_factory factory;
  bool late_bind = false;
  std::string late_bind_reason;
  caf::error invalid;  // options failed validation: every request fails
  std::map<std::string, worker_actor> workers;
  std::map<std::string, worker_status> info;    // last reported, by worker id
  std::map<std::string, std::string> by_container;  // container id -> worker id
  std::map<uint64_t, pending_claim> claims;
  uint64_t next_claim = 1;
  std::deque<worker_status> failures;  // since the last cleanup
  std::vector<std::string> warnings;
  bool events_up = true;
  bool refill_wake_armed = false;
  // When a claim was last given to a worker or answered (none yet: empty).
  std::optional<caf::actor_clock::time_point> last_claim;
  std::string parent_lost;       // why the namespace owner is gone ("" while fine)
  int64_t engine_back_ns = 0;    // when the event stream came back after a loss
  bool resume_after_parent = false;  // refilling paused for the parent
  std::mt19937_64 rng{std::random_device{}()};
  static constexpr const char* name = "hal9000.pool";
};

using self_ptr = pool_impl_actor::stateful_pointer<pool_data>;

std::string seconds_text(std::chrono::milliseconds d) {
  auto ms = d.count();
  return ms % 1000 == 0 ? std::to_string(ms / 1000) + " s" : std::to_string(ms) + " ms";
}

std::string new_worker_id(self_ptr self) {
  static const char hex[] = "0123456789abcdef";
  std::string id;
  auto x = self->state.rng();
  for (int i = 0; i < 12; ++i, x >>= 4)
    id += hex[x & 0xf];
  return id;
}

// Typed limits from another actor (or an embedding application): checked
// for range, never parsed again.
caf::error check_limits(const resource_limits& l, const std::string& what) {
  if (auto err = validate_limits(l))
    return make_error(errc::invalid_argument, what + ": " + error_message(err));
  return caf::none;
}

// The project path of a claim, checked again because it is about to be
// mounted into a container: a realpath under an allowed root, not the state
// directory. Blocking (realpath and stat on a user's path): run off the
// scheduler (run_blocking). The mount itself opens the path and checks that
// what it opened is still this realpath (runtime/session_mounts.cpp), so a
// symlink swapped in after this check cannot lead elsewhere.
caf::expected<std::string> check_project_path(const std::string& project_dir,
                                              const std::vector<std::string>& allowed_roots,
                                              const std::string& home,
                                              const std::string& host_home) {
  auto real = validate_project_path(project_dir, allowed_roots, home);
  if (!real)
    return std::move(real.error());
  // In its container the daemon also sees the state directory at its host
  // path (under an allowed root): never a project either.
  if (!host_home.empty())
    if (auto again = validate_project_path(project_dir, allowed_roots, host_home); !again)
      return std::move(again.error());
  if (*real != project_dir)
    return make_error(errc::invalid_argument,
                      "project path " + project_dir + " is not a realpath (it is " + *real
                        + ")");
  return real;
}

// Everything of a claim that needs no file system (the path: check_project_path).
caf::error check_claim(self_ptr self, const claim_request& req) {
  auto& st = self->state;
  if (auto err = valid_name(req.session_name))
    return err;
  if (!req.user_id.empty())  // a path component under HAL9000_HOME/users
    if (auto err = valid_name(req.user_id))
      return err;
  if (req.command.find('\n') != std::string::npos || req.command.size() > 3500)
    return make_error(errc::invalid_argument,
                      "session command must be one line of at most 3500 bytes");
  if (req.has_limits)
    if (auto err = check_limits(req.limits, "limits of session " + req.session_name))
      return err;
  for (auto& [id, w] : st.info)
    if (w.session_name == req.session_name)
      return make_error(errc::already_exists,
                        "session " + req.session_name + " exists (worker " + id + ")");
  for (auto& [id, c] : st.claims)
    if (c.req.session_name == req.session_name)
      return make_error(errc::already_exists,
                        "session " + req.session_name + " is already being claimed");
  return caf::none;
}

worker_options worker_opts(self_ptr self, const std::string& id) {
  auto& o = self->state.opts;
  worker_options w;
  w.id = id;
  w.home = o.home;
  w.host_home = o.host_home;
  w.daemon_id = o.daemon_id;
  w.image = o.image;
  w.limits = o.limits;
  w.network_mode = o.network_mode;
  w.cap_add = o.cap_add;
  w.extra_labels = o.extra_labels;
  w.default_command = o.command.empty() ? late_bind::default_session_command : o.command;
  w.volumes = o.volumes;
  w.claude_home = o.claude_home;
  w.user_uid = o.user_uid;
  w.user_gid = o.user_gid;
  w.idmap = o.idmap;
  w.local_control = o.docker_host.rfind("unix://", 0) == 0 && o.slots_reach_engine;
  w.rename_before_reply = o.rename_before_reply;
  w.ack_timeout = o.ack_timeout;
  w.docker_timeout = o.docker_timeout;
  w.host = o.host;
  return w;
}

void spawn_one(self_ptr self, worker_options w, uint64_t claim) {
  auto& st = self->state;
  auto id = w.id;
  st.logic.add_worker(id, w.cold, claim, self->clock().now());
  worker_status info;
  info.id = id;
  info.state = worker_state::creating;
  st.info[id] = info;
  st.workers[id] = st.factory(self->system(), w,
                              caf::actor_cast<worker_observer_actor>(self));
  self->monitor(st.workers[id]);  // supervision: worker_died
}

// A running session of an earlier run: a worker that starts in busy.
void adopt_one(self_ptr self, const adopted_session& a) {
  auto& st = self->state;
  if (!is_valid_name(a.worker_id) || st.workers.count(a.worker_id)) {
    st.warnings.push_back("cannot adopt session " + a.session_name + ": worker id '"
                          + a.worker_id + "' is invalid or taken");
    return;
  }
  auto w = worker_opts(self, a.worker_id);
  w.cold = a.served == served_kind::cold;
  w.adopted = true;
  w.adopt = a;
  auto now = self->clock().now();
  st.logic.add_worker(a.worker_id, false, 0, now);
  st.logic.set_state(a.worker_id, worker_state::busy, now);
  worker_status info;
  info.id = a.worker_id;
  info.state = worker_state::busy;
  info.container_id = a.container_id;
  info.container_name = a.session_name;
  info.session_name = a.session_name;
  info.served = a.served;
  st.info[a.worker_id] = info;
  st.by_container[a.container_id] = a.worker_id;
  st.workers[a.worker_id] = st.factory(self->system(), w,
                                       caf::actor_cast<worker_observer_actor>(self));
  self->monitor(st.workers[a.worker_id]);  // supervision: worker_died
}

void spawn_warm(self_ptr self) {
  spawn_one(self, worker_opts(self, new_worker_id(self)), 0);
}

void spawn_cold(self_ptr self, uint64_t claim) {
  auto w = worker_opts(self, new_worker_id(self));
  w.cold = true;
  w.cold_claim = self->state.claims.at(claim).req;
  if (w.cold_claim.command.empty())
    w.cold_claim.command = w.default_command;
  spawn_one(self, std::move(w), claim);
}

// Stops a worker; done (if any) runs once it is gone or failed to stop.
void stop_worker(self_ptr self, const std::string& id, std::string reason,
                 std::function<void()> done = {}) {
  auto& st = self->state;
  auto i = st.workers.find(id);
  if (i == st.workers.end()) {
    if (done)
      done();
    return;
  }
  st.logic.set_state(id, worker_state::stopping, self->clock().now());
  self->request(i->second, worker_stop_budget(st.opts), stop_atom::value, std::move(reason))
    .then(
      [done](worker_status&) {
        if (done)
          done();
      },
      [self, id, done](caf::error& err) {
        // Stuck or gone: it already counts as stopping, so refill goes on.
        self->state.warnings.push_back("worker " + id + " did not stop: "
                                       + error_message(err));
        if (done)
          done();
      });
}

void deliver_claim(self_ptr self, uint64_t id, caf::expected<claim_reply> r) {
  auto& st = self->state;
  auto i = st.claims.find(id);
  if (i == st.claims.end())
    return;
  if (r) {
    r->latency_us = std::chrono::duration_cast<std::chrono::microseconds>(
                      steady_clock::now() - i->second.received)
                      .count();
    r->warnings.insert(r->warnings.begin(), i->second.warnings.begin(),
                       i->second.warnings.end());
    i->second.rp.deliver(std::move(*r));
  } else {
    i->second.rp.deliver(r.error());
  }
  st.claims.erase(i);
  st.last_claim = self->clock().now();
}

void dispatch(self_ptr self);

// A cold worker made for one claim failed before it could serve it (image
// missing, create refused): that claim fails now with the engine's words
// rather than waiting for the claim timeout.
void fail_cold_claim(self_ptr self, const worker_transition& t) {
  auto& st = self->state;
  auto rec = st.logic.find(t.worker_id);
  if (!rec || !rec->cold || rec->claim == 0 || t.from != worker_state::creating)
    return;
  if (t.end.kind != end_kind::image_missing && t.end.kind != end_kind::create_failed)
    return;
  auto cid = rec->claim;
  if (!st.logic.drop_claim(cid))
    return;
  auto code = t.end.kind == end_kind::image_missing ? errc::not_found : errc::unavailable;
  deliver_claim(self, cid, make_error(code, t.end.detail));
}

void serve(self_ptr self, pool_logic::assignment a) {
  auto& st = self->state;
  auto& pc = st.claims.at(a.claim);
  auto w = st.workers.at(a.worker);
  auto timeout = worker_claim_budget(st.opts);
  auto cid = a.claim;
  pc.worker = a.worker;
  st.last_claim = self->clock().now();
  self->request(w, timeout, claim_atom::value, pc.req)
    .then([self, cid](claim_reply& r) { deliver_claim(self, cid, std::move(r)); },
          [self, cid, wid = a.worker](caf::error& err) {
            auto& st = self->state;
            auto i = st.claims.find(cid);
            // Served or requeued by worker_died meanwhile: not ours to answer.
            if (i == st.claims.end() || i->second.worker != wid)
              return;
            i->second.worker.clear();
            // conflict: the worker left warm before it saw our claim (we
            // stopped it); receiver down: its actor died (worker_died
            // removes what it had started). Queue it again.
            bool again = error_code(err) == errc::conflict
                         || err == caf::sec::request_receiver_down;
            if (again) {
              st.logic.requeue_front(cid, i->second.cold_only);
              return dispatch(self);
            }
            deliver_claim(self, cid, std::move(err));
          });
}

// Supervision: a worker actor ended without reporting "gone" (it crashed, or
// was killed). It counts as failed, its container and slot are removed (what
// Docker has of it is the truth, not what the actor last said), and refill
// replaces it. A session it served ends through the observer.
void reconcile(self_ptr self, std::string found = "found stopped by the periodic check");

void worker_died(self_ptr self, const std::string& id, const caf::error& reason) {
  auto& st = self->state;
  auto info = st.info[id];
  auto from = info.state;
  auto cid = info.container_id;
  auto why = "worker actor died: " + self->system().render(reason);
  info.state = worker_state::failed;
  info.reason = why;
  st.failures.push_back(info);
  if (st.failures.size() > max_failure_records)
    st.failures.pop_front();
  st.workers.erase(id);
  st.info.erase(id);
  st.by_container.erase(cid);
  st.logic.forget(id);
  // A claim in its hands never gets an answer from it: queue it again (the
  // container it may have renamed is removed below).
  for (auto& [claim, pc] : st.claims)
    if (pc.worker == id) {
      pc.worker.clear();
      st.logic.requeue_front(claim, pc.cold_only);
    }
  if (st.observer) {
    worker_transition t;
    t.worker_id = id;
    t.container_id = cid;
    t.from = from;
    t.to = worker_state::failed;
    t.reason = why;
    t.time_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::system_clock::now().time_since_epoch()).count();
    t.session_name = info.session_name;
    t.served = info.served;
    self->send(st.observer, std::move(t));
  }
  auto clean_slot = [self, id] {
    if (!is_valid_name(id))
      return;
    auto cleaner = spawn_slot_cleanup(self->system(), self->state.opts.home, id, true,
                                      self->state.opts.host);
    self->request(cleaner, self->state.opts.docker_timeout, start_atom::value)
      .then([](std::string&) {}, [](caf::error&) {});
  };
  if (!st.docker)  // deterministic tests: no containers, no slots
    return;
  if (!cid.empty()) {
    self->request(st.docker, st.opts.docker_timeout, docker::remove_req{cid, true, false})
      .then([clean_slot] { clean_slot(); },
            [self, clean_slot, cid](caf::error& err) {
              if (error_code(err) != errc::not_found)
                self->state.warnings.push_back("cannot remove container " + cid
                                               + " of a dead worker: " + error_message(err));
              clean_slot();
            });
    return;
  }
  // It died before reporting a container (creating): Docker may hold one
  // under its labels all the same. Ask Docker now rather than at the next
  // periodic check: an unknown pool container is removed, with its slot.
  clean_slot();
  reconcile(self);
}

void dispatch(self_ptr self) {
  auto& st = self->state;
  auto now = self->clock().now();
  for (auto& a : st.logic.assign(now))
    serve(self, a);
  for (auto& id : st.logic.orphaned_cold())
    stop_worker(self, id, "its claim was served elsewhere or expired");
  // Refills keep quiet for refill_quiet after claims (pool_options); the
  // wake below runs them then. Never while claims wait: deferring the warm
  // refill under a burst would send the waiting claims down the cold path.
  // refill_quiet 0 never defers (serve() above stamps last_claim after now).
  bool quiet = st.opts.refill_quiet.count() > 0 && st.last_claim
               && st.logic.queue_size() == 0;
  auto quiet_until = quiet ? *st.last_claim + st.opts.refill_quiet : now;
  if (quiet && quiet_until > now && st.logic.refill(now) > 0) {
    if (!st.refill_wake_armed) {
      st.refill_wake_armed = true;
      self->delayed_send(self, quiet_until - now, refill_atom::value);
    }
  } else {
    for (auto n = st.logic.refill(now); n > 0; --n)
      spawn_warm(self);
  }
  for (auto cid : st.logic.cold_creates())
    spawn_cold(self, cid);
  if (auto until = st.logic.backoff_until();
      until && st.logic.running() && !st.refill_wake_armed && *until > now) {
    st.refill_wake_armed = true;
    self->delayed_send(self, *until - now, refill_atom::value);
  }
}

pool_status status_of(self_ptr self) {
  auto& st = self->state;
  auto& l = st.logic;
  pool_status s;
  s.running = l.running();
  s.warm = l.pool_count(worker_state::warm);
  s.creating = l.pool_count(worker_state::creating);
  s.failed = static_cast<uint32_t>(st.failures.size());
  s.queued = static_cast<uint32_t>(l.queue_size());
  s.min = l.target();
  s.max = l.settings().max;
  s.max_creating = l.settings().max_creating;
  auto secs = [](std::chrono::milliseconds d) {
    return static_cast<uint32_t>((d.count() + 999) / 1000);
  };
  s.idle_timeout_s = secs(st.opts.idle_timeout);
  s.check_interval_s = secs(st.opts.check_interval);
  s.claim_timeout_s = secs(st.opts.claim_timeout);
  s.limits = st.opts.limits;
  s.image = st.opts.image;
  s.network_mode = st.opts.network_mode;
  s.late_bind = st.late_bind;
  s.late_bind_reason = st.late_bind_reason;
  s.idmap = st.opts.idmap && st.opts.docker_host.rfind("unix://", 0) == 0;
  s.idmap_reason = s.idmap ? "" : st.opts.idmap_reason.empty() ? "the Docker engine is remote"
                                                              : st.opts.idmap_reason;
  auto now = self->clock().now();
  auto to_s = [](auto d) { return std::chrono::duration<double>(d).count(); };
  for (auto& [id, rec] : l.workers()) {
    auto w = st.info[id];
    w.state = rec.state;
    w.age_s = to_s(now - rec.spawned);
    w.state_age_s = to_s(now - rec.since);
    s.claimed += rec.state == worker_state::claimed ? 1 : 0;
    s.busy += rec.state == worker_state::busy ? 1 : 0;
    s.workers.push_back(std::move(w));
  }
  for (auto& f : st.failures)
    if (!l.find(f.id))  // still tearing down: listed above
      s.workers.push_back(f);
  s.warnings = st.warnings;
  if (!st.events_up)
    s.warnings.push_back("Docker event stream down: changes are noticed by the "
                         "periodic check only");
  if (!st.parent_lost.empty())
    s.warnings.push_back("refilling paused until the network namespace owner is back: "
                         + st.parent_lost);
  return s;
}

// -- the safety net -------------------------------------------------------------

std::map<std::string, std::string> worker_filter(const pool_options& o) {
  auto labels = o.extra_labels;
  labels[names::label_role] = "worker";
  labels[names::label_daemon] = o.daemon_id;
  return labels;
}

// found: how a worker's end was found, for its end's detail
// ("found stopped by the periodic check").
void reconcile(self_ptr self, std::string found) {
  auto& st = self->state;
  if (!st.docker)
    return;
  self->request(st.docker, st.opts.docker_timeout, docker::list_req{worker_filter(st.opts), true})
    .then(
      [self, found](std::vector<docker::container_summary>& list) {
        auto& st = self->state;
        std::map<std::string, const docker::container_summary*> seen;
        for (auto& c : list) {
          auto w = c.labels.find(names::label_worker);
          auto wid = w == c.labels.end() ? std::string{} : w->second;
          if (st.workers.count(wid)) {
            seen[wid] = &c;
            continue;
          }
          // Unknown, never renamed: it never served a session; provably ours
          // to remove (a warm or cold worker of a previous pool).
          if (c.name.rfind(names::warm_prefix, 0) == 0 || c.name.rfind(names::cold_prefix, 0) == 0)
            self->request(st.docker, st.opts.docker_timeout, docker::remove_req{c.id, true, false})
              .then(
                [self, wid] {
                  // Its slot too (never a mounted one: remove_slot refuses a
                  // mount point and never recurses).
                  if (!is_valid_name(wid))
                    return;
                  auto cleaner = spawn_slot_cleanup(self->system(), self->state.opts.home,
                                                    wid, false, self->state.opts.host);
                  self->request(cleaner, self->state.opts.docker_timeout, start_atom::value)
                    .then([](std::string&) {}, [](caf::error&) {});
                },
                [self, name = c.name](caf::error& err) {
                  self->state.warnings.push_back("cannot remove orphan " + name + ": "
                                                 + error_message(err));
                });
        }
        // Known workers whose container vanished or stopped without an event.
        for (auto& [id, rec] : st.logic.workers()) {
          if (rec.state != worker_state::warm && rec.state != worker_state::busy)
            continue;
          auto cid = st.info[id].container_id;
          auto i = seen.find(id);
          docker::event e;
          e.id = cid;
          e.labels[names::label_worker] = id;
          e.labels[found_label] = found;
          if (i == seen.end())
            e.action = "destroy";
          else if (i->second->state != "running")
            e.action = "die";
          else
            continue;
          if (e.action == "destroy") {
            self->send(st.workers.at(id), std::move(e));
            continue;
          }
          // The events were missed: the engine still knows how it ended.
          auto w = st.workers.at(id);
          self->request(st.docker, st.opts.docker_timeout, docker::inspect_req{cid})
            .then(
              [self, w, e](docker::container_info& info) mutable {
                e.exit_code = info.exit_code;
                // OOMKilled sticks for the container's life: it names the
                // main process only together with a SIGKILL's 137.
                if (info.oom_killed && info.exit_code == 137) {
                  auto oom = e;
                  oom.action = "oom";
                  self->send(w, std::move(oom));
                }
                self->send(w, std::move(e));
              },
              [self, w, e](caf::error&) mutable { self->send(w, std::move(e)); });
        }
      },
      [self](caf::error& err) {
        self->state.warnings.push_back("periodic check failed: " + error_message(err));
        if (self->state.warnings.size() > 20)
          self->state.warnings.erase(self->state.warnings.begin());
      });
}

// A session this pool does not hold (the daemon restarted under it): found by
// our labels and its name, removed, and its slot unmounted and emptied.
caf::result<worker_status> release_unknown(self_ptr self, const std::string& name) {
  auto& st = self->state;
  if (!st.docker)
    return make_error(errc::not_found, "no session or worker named " + name);
  auto rp = self->make_response_promise<worker_status>();
  auto timeout = st.opts.docker_timeout;
  self->request(st.docker, timeout, docker::list_req{worker_filter(st.opts), true})
    .then(
      [self, rp, name, timeout](std::vector<docker::container_summary>& list) mutable {
        auto i = std::find_if(list.begin(), list.end(), [&](const docker::container_summary& c) {
          auto w = c.labels.find(names::label_worker);
          return c.name == name || (w != c.labels.end() && w->second == name);
        });
        if (i == list.end()) {
          rp.deliver(make_error(errc::not_found, "no session or worker named " + name));
          return;
        }
        worker_status ws;
        auto w = i->labels.find(names::label_worker);
        ws.id = w == i->labels.end() ? "" : w->second;
        ws.container_id = i->id;
        ws.container_name = i->name;
        ws.session_name = i->name;
        self->request(self->state.docker, timeout, docker::remove_req{i->id, true, false})
          .then(
            [self, rp, ws, timeout]() mutable {
              auto done = ws;
              done.state = worker_state::gone;
              done.reason = "released (a session of an earlier run)";
              if (ws.id.empty() || !is_valid_name(ws.id)) {
                rp.deliver(std::move(done));
                return;
              }
              auto cleaner = spawn_slot_cleanup(self->system(), self->state.opts.home, ws.id,
                                                true, self->state.opts.host);
              self->request(cleaner, timeout, start_atom::value)
                .then(
                  [rp, done](std::string& problems) mutable {
                    if (!problems.empty())
                      done.reason += "; " + problems;
                    rp.deliver(std::move(done));
                  },
                  [rp, done](caf::error& err) mutable {
                    done.reason += "; cleaning the slot: " + error_message(err);
                    rp.deliver(std::move(done));
                  });
            },
            [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
      },
      [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
  return rp;
}

// Starts or stops refilling (stop: the warm and creating workers to remove)
// and tells on_running when that changes.
std::vector<std::string> set_running(self_ptr self, bool running) {
  auto& st = self->state;
  bool was = st.logic.running();
  std::vector<std::string> victims;
  if (running)
    st.logic.start();
  else
    victims = st.logic.stop();
  if (was != running && st.opts.on_running)
    st.opts.on_running(running);
  return victims;
}

void remove_idle(self_ptr self) {
  auto& st = self->state;
  for (auto& id : st.logic.idle_victims(self->clock().now()))
    stop_worker(self, id, "idle for " + seconds_text(st.opts.idle_timeout) + " above MIN");
}

// -- the actor -------------------------------------------------------------------

pool_impl_actor::behavior_type
pool_fun(self_ptr self, pool_options opts, docker::docker_actor docker,
         worker_observer_actor observer, worker_factory factory, bool late_bind,
         std::string late_bind_reason) {
  auto& st = self->state;
  st.invalid = validate(opts);
  pool_settings s;
  s.min = opts.min_warm;
  s.max = opts.max_warm;
  s.max_creating = opts.max_creating;
  s.idle_timeout = opts.idle_timeout;
  s.late_bind = late_bind;
  s.cold_fallback = opts.cold_fallback;
  st.logic = pool_logic{s};
  st.opts = std::move(opts);
  st.docker = std::move(docker);
  st.observer = std::move(observer);
  st.factory = std::move(factory);
  st.late_bind = late_bind;
  st.late_bind_reason = std::move(late_bind_reason);
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    for (auto& [id, w] : st.workers)
      if (w.address() == dm.source) {
        auto wid = id;
        worker_died(self, wid, dm.reason);
        dispatch(self);
        return;
      }
    // Not held any more: it reported gone and left normally.
  });
  if (!st.invalid) {
    if (st.docker)
      self->request(st.docker, st.opts.docker_timeout,
                    docker::subscribe_req{caf::actor_cast<docker::event_sink_actor>(self),
                                          worker_filter(st.opts)})
        .then([] {},
              [self](caf::error& err) {
                self->state.events_up = false;
                self->state.warnings.push_back("cannot subscribe to Docker events: "
                                               + error_message(err));
              });
    for (auto& a : st.opts.adopt)
      adopt_one(self, a);
    st.opts.adopt.clear();
    if (st.opts.enabled)
      set_running(self, true);
    // Warm workers an earlier run left behind go at once; an adopted session
    // that died before the subscription above is noticed here.
    reconcile(self);
    self->delayed_send(self, st.opts.check_interval, pool_tick_atom::value);
    dispatch(self);
  }
  auto refuse = [self]() -> caf::error { return self->state.invalid; };
  return {
    [self, refuse](claim_atom, claim_request& req) -> caf::result<claim_reply> {
      auto& st = self->state;
      if (st.invalid)
        return refuse();
      if (auto err = check_claim(self, req))
        return err;
      pending_claim pc;
      pc.received = steady_clock::now();
      pc.rp = self->make_response_promise<claim_reply>();
      if (!st.late_bind) {
        pc.cold_only = true;
        pc.warnings.push_back("served cold: " + st.late_bind_reason);
      } else if (req.has_limits && !req.limits.enabled && st.opts.limits.enabled) {
        pc.cold_only = true;
        pc.warnings.push_back("served cold: a running worker cannot drop its limits");
      }
      auto id = st.next_claim++;
      auto rp = pc.rp;
      // Held (so a second claim of the name is refused) but queued only once
      // its path is checked, off the scheduler; its deadline runs from then.
      run_blocking(self, st.opts.docker_timeout,
                   [path = req.project_dir, roots = st.opts.allowed_roots,
                    home = st.opts.home, host_home = st.opts.host_home] {
                     return check_project_path(path, roots, home, host_home);
                   })
        .then(
          [self, id](std::string&) {
            auto& st = self->state;
            auto i = st.claims.find(id);
            if (i == st.claims.end())
              return;
            if (st.invalid)
              return deliver_claim(self, id, st.invalid);
            i->second.checked = true;
            st.logic.enqueue(id, i->second.cold_only);
            self->delayed_send(self, st.opts.claim_timeout, expire_atom::value, id);
            dispatch(self);
          },
          [self, id](caf::error& err) { deliver_claim(self, id, std::move(err)); });
      pc.req = std::move(req);
      st.claims.emplace(id, std::move(pc));
      return rp;
    },
    [self, refuse](release_atom, std::string& name,
                   std::string& reason) -> caf::result<worker_status> {
      auto& st = self->state;
      if (st.invalid)
        return refuse();
      std::string id;
      for (auto& [wid, w] : st.info)
        if (wid == name || (!w.session_name.empty() && w.session_name == name))
          id = wid;
      if (id.empty() || !st.workers.count(id))
        return release_unknown(self, name);
      st.logic.set_state(id, worker_state::stopping, self->clock().now());
      return self->delegate(st.workers.at(id), stop_atom::value,
                            reason.empty() ? std::string{"released"} : reason);
    },
    [self, refuse](release_atom, std::string& name,
                   end_reason& end) -> caf::result<worker_status> {
      auto& st = self->state;
      if (st.invalid)
        return refuse();
      std::string id;
      for (auto& [wid, w] : st.info)
        if (wid == name || (!w.session_name.empty() && w.session_name == name))
          id = wid;
      if (id.empty() || !st.workers.count(id))
        return release_unknown(self, name);
      st.logic.set_state(id, worker_state::stopping, self->clock().now());
      return self->delegate(st.workers.at(id), stop_atom::value, std::move(end));
    },
    [self](parent_change& c) {
      auto& st = self->state;
      if (st.invalid)
        return;
      if (!c.up) {
        bool again = !st.parent_lost.empty();
        st.parent_lost = c.reason;
        if (again) {
          // More exact words about the same loss.
          for (auto& [id, rec] : st.logic.workers())
            if (rec.state == worker_state::claimed || rec.state == worker_state::busy)
              if (auto w = st.workers.find(id); w != st.workers.end())
                self->send(w->second, netlost_atom::value, c.reason);
          return;
        }
        st.warnings.push_back("network namespace owner lost: " + c.reason);
        // Sessions run on, cut off: each says so until it ends.
        for (auto& [id, rec] : st.logic.workers())
          if (rec.state == worker_state::claimed || rec.state == worker_state::busy)
            if (auto w = st.workers.find(id); w != st.workers.end())
              self->send(w->second, netlost_atom::value, c.reason);
        // Warm workers would serve sessions with no network: replaced once
        // the parent is back.
        st.resume_after_parent = st.resume_after_parent || st.logic.running();
        for (auto& id : st.logic.stop())
          stop_worker(self, id, "its network namespace is gone: " + c.reason);
        return;
      }
      st.parent_lost.clear();
      if (st.resume_after_parent) {
        st.resume_after_parent = false;
        st.logic.start();
      }
      dispatch(self);
    },
    [self](status_atom) -> caf::result<pool_status> {
      if (self->state.invalid)
        return self->state.invalid;
      return status_of(self);
    },
    [self, refuse](start_atom) -> caf::result<pool_status> {
      if (self->state.invalid)
        return refuse();
      set_running(self, true);
      dispatch(self);
      return status_of(self);
    },
    [self, refuse](stop_atom) -> caf::result<pool_status> {
      if (self->state.invalid)
        return refuse();
      auto victims = set_running(self, false);
      if (victims.empty())
        return status_of(self);
      // Reply once every warm worker is gone, so a daemon that shuts down
      // right after leaves no warm container behind.
      auto rp = self->make_response_promise<pool_status>();
      auto left = std::make_shared<size_t>(victims.size());
      for (auto& id : victims)
        stop_worker(self, id, "pool stopped", [self, rp, left]() mutable {
          if (--*left == 0)
            rp.deliver(status_of(self));
        });
      return rp;
    },
    [self, refuse](scale_atom, int32_t n) -> caf::result<scale_reply> {
      auto& st = self->state;
      if (st.invalid)
        return refuse();
      auto r = st.logic.scale(n);
      if (!r)
        return std::move(r.error());
      scale_reply rep;
      rep.requested = n;
      rep.target = r->target;
      rep.warnings = r->warnings;
      if (!st.late_bind)
        rep.warnings.push_back("no warm workers: " + st.late_bind_reason);
      if (!st.logic.running())
        rep.warnings.push_back("the pool is stopped: `pool start` to refill");
      for (auto& id : r->victims)
        stop_worker(self, id, "scaled down to " + std::to_string(r->target));
      rep.removed = r->victims;
      auto before = st.logic.pool_count(worker_state::creating);
      dispatch(self);
      auto after = st.logic.pool_count(worker_state::creating);
      rep.started = after > before ? after - before : 0;
      return rep;
    },
    [self, refuse](cleanup_atom) -> caf::result<cleanup_reply> {
      auto& st = self->state;
      if (st.invalid)
        return refuse();
      cleanup_reply rep;
      rep.removed = st.logic.cleanup();
      for (auto& id : rep.removed)
        stop_worker(self, id, "cleanup");
      rep.failed_cleared = static_cast<uint32_t>(st.failures.size());
      st.failures.clear();
      st.warnings.clear();
      dispatch(self);
      return rep;
    },
    [self, refuse](warm_atom) -> caf::result<std::string> {
      auto& st = self->state;
      if (st.invalid)
        return refuse();
      if (!st.late_bind)
        return make_error(errc::unavailable, "no warm workers: " + st.late_bind_reason);
      if (!st.logic.can_warm())
        return make_error(errc::conflict,
                          "the pool is at MAX_WARM_WORKERS ("
                            + std::to_string(st.logic.settings().max) + "): "
                            + std::to_string(st.logic.pool_count(worker_state::warm))
                            + " warm, "
                            + std::to_string(st.logic.pool_count(worker_state::creating))
                            + " creating");
      auto w = worker_opts(self, new_worker_id(self));
      auto id = w.id;
      spawn_one(self, std::move(w), 0);
      return id;
    },
    [self](worker_transition& t) {
      auto& st = self->state;
      auto now = self->clock().now();
      auto& w = st.info[t.worker_id];
      w.id = t.worker_id;
      w.state = t.to;
      if (!t.container_id.empty()) {
        w.container_id = t.container_id;
        st.by_container[t.container_id] = t.worker_id;
      }
      if (!t.session_name.empty())
        w.session_name = t.session_name;
      if (t.served != served_kind::none)
        w.served = t.served;
      if (!t.reason.empty())
        w.reason = t.reason;
      if (t.to == worker_state::gone) {
        st.logic.forget(t.worker_id);
        st.workers.erase(t.worker_id);
        st.by_container.erase(w.container_id);
        st.info.erase(t.worker_id);
      } else if (t.to == worker_state::failed) {
        fail_cold_claim(self, t);
        st.logic.set_state(t.worker_id, worker_state::failed, now);
        st.failures.push_back(w);
        if (st.failures.size() > max_failure_records)
          st.failures.pop_front();
      } else {
        if (t.to != worker_state::none)
          st.logic.set_state(t.worker_id, t.to, now);
        if (t.to == worker_state::warm)
          self->delayed_send(self, st.opts.idle_timeout, idle_atom::value);
      }
      dispatch(self);
    },
    [self](docker::event& e) {
      auto& st = self->state;
      // Replayed after the engine came back: it happened while it restarted.
      if (st.engine_back_ns > 0 && e.time_nano > 0 && e.time_nano < st.engine_back_ns
          && (e.action == "die" || e.action == "destroy"))
        e.labels[found_label] = "while the Docker engine restarted";
      auto w = e.labels.find(names::label_worker);
      std::string id = w != e.labels.end() ? w->second : std::string{};
      if (!st.workers.count(id)) {
        auto c = st.by_container.find(e.id);
        if (c == st.by_container.end())
          return;
        id = c->second;
      }
      if (auto i = st.workers.find(id); i != st.workers.end())
        self->send(i->second, std::move(e));
    },
    [self](docker::engine_status& s) {
      auto was_up = self->state.events_up;
      self->state.events_up = s.up;
      if (s.up && !was_up) {  // events may have been missed while it was down
        self->state.engine_back_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count();
        reconcile(self, "found stopped after the Docker engine came back");
      }
    },
    [self](pool_tick_atom) {
      reconcile(self);
      remove_idle(self);
      dispatch(self);
      self->delayed_send(self, self->state.opts.check_interval, pool_tick_atom::value);
    },
    [self](expire_atom, uint64_t id) {
      auto& st = self->state;
      if (!st.logic.drop_claim(id))
        return;  // served, or in a worker's hands (it has its own deadlines)
      deliver_claim(self, id,
                    make_error(errc::deadline_exceeded,
                               "no worker became ready within "
                                 + seconds_text(st.opts.claim_timeout) + " ("
                                 + std::to_string(st.logic.pool_count(worker_state::warm))
                                 + " warm, "
                                 + std::to_string(st.logic.pool_count(worker_state::creating))
                                 + " creating, " + std::to_string(st.logic.queue_size())
                                 + " other claims waiting)"));
      dispatch(self);
    },
    [self](idle_atom) {
      remove_idle(self);
      dispatch(self);
    },
    [self](refill_atom) {
      self->state.refill_wake_armed = false;
      dispatch(self);
    },
  };
}

} // namespace

std::chrono::milliseconds pool_claim_budget(const pool_options& o) {
  // Queued up to claim_timeout, then the pool asks its worker (serve()):
  // claim_timeout + worker_claim_budget(o) + budget_margin, the figure claudy
  // derives its wait from (messages/deadlines.hpp).
  return deadlines::pool_claim(o.claim_timeout, o.docker_timeout, o.ack_timeout);
}

std::chrono::milliseconds pool_release_budget(const pool_options& o) {
  // stop_worker and a release ask the worker with worker_stop_budget.
  return worker_stop_budget(o) + budget_margin;
}

std::chrono::milliseconds pool_stop_budget(const pool_options& o) {
  // Workers stop in parallel, each within the release budget.
  return pool_release_budget(o) + budget_margin;
}

pool_options pool_options_from(const config& cfg) {
  pool_options o;
  o.home = cfg.home;
  o.host_home = cfg.host_home;
  o.in_container = runs_in_container(cfg);
  o.daemon_id = cfg.daemon_id;
  o.image = cfg.worker_image;
  o.limits = worker_limits(cfg);
  o.command = cfg.worker_command;
  o.enabled = cfg.enable_pool_manager;
  o.min_warm = cfg.min_warm_workers;
  o.max_warm = cfg.max_warm_workers;
  o.max_creating = cfg.max_creating;
  o.refill_quiet = std::chrono::milliseconds{50};
  o.idle_timeout = std::chrono::seconds(cfg.idle_timeout_s);
  o.check_interval = std::chrono::seconds(cfg.check_interval_s);
  o.claim_timeout = std::chrono::seconds(cfg.claim_timeout_s);
  o.docker_host = cfg.docker_host;
  o.allowed_roots = cfg.allowed_roots;
  o.force_cold = cfg.force_cold;
  o.claude_home = cfg.claude_home;
  o.user_uid = cfg.worker_uid;
  o.user_gid = cfg.worker_gid;
  return o;
}

caf::error validate(const pool_options& o) {
  auto bad = [](const std::string& msg) {
    return make_error(errc::invalid_argument, msg);
  };
  if (o.max_warm > 100)
    return bad("MAX_WARM_WORKERS is capped at 100, got " + std::to_string(o.max_warm));
  if (o.min_warm > o.max_warm)
    return bad("MIN_WARM_WORKERS (" + std::to_string(o.min_warm)
               + ") must not exceed MAX_WARM_WORKERS (" + std::to_string(o.max_warm) + ")");
  if (o.max_creating < 1 || o.max_creating > 32)
    return bad("max_creating must be 1 to 32, got " + std::to_string(o.max_creating));
  if (o.idle_timeout.count() <= 0 || o.check_interval.count() <= 0
      || o.claim_timeout.count() <= 0 || o.ack_timeout.count() <= 0)
    return bad("IDLE_TIMEOUT, CHECK_INTERVAL and the claim timeout must be positive");
  if (o.home.empty() || o.home[0] != '/')
    return bad("HAL9000_HOME must be an absolute path, got '" + o.home + "'");
  if (o.image.empty())
    return bad("WORKER_IMAGE is empty");
  if (o.command.find('\n') != std::string::npos)
    return bad("WORKER_COMMAND must be one line");
  return check_limits(o.limits, "worker limits");
}

pool_actor spawn_pool_with(caf::actor_system& sys, pool_options opts,
                           docker::docker_actor docker,
                           worker_observer_actor observer, worker_factory factory,
                           bool late_bind, std::string late_bind_reason) {
  return sys.spawn(pool_fun, std::move(opts), std::move(docker), std::move(observer),
                   std::move(factory), late_bind, std::move(late_bind_reason));
}

pool_actor spawn_pool(caf::actor_system& sys, pool_options opts,
                      docker::docker_actor docker, worker_observer_actor observer) {
  // Files first (on the caller's thread, before any actor runs): the
  // entrypoint every worker binds, and the rshared mounts directory.
  late_bind::availability avail;
  if (auto path = late_bind::write_entrypoint(opts.home); !path)
    avail = {false, "cannot write the worker entrypoint: " + error_message(path.error())};
  else
    avail = late_bind::check(opts.home, opts.docker_host, opts.force_cold,
                             opts.in_container, opts.host_home);
  // In its container, a slot's mounts reach the engine only through a
  // mounts/ shared with the host; otherwise the engine would bind an empty
  // directory as the session's /workspace.
  auto mounts = late_bind::mounts_dir(opts.home);
  if (opts.in_container) {
    auto info = late_bind::inspect_mount(mounts);
    opts.slots_reach_engine = info.mounted && info.shared;
  }
  // Id-mapped mounts: probed where the slots live (as root; off any actor).
  if (!opts.slots_reach_engine) {
    opts.idmap = false;
    opts.idmap_reason = engine_path(opts.home, opts.host_home, mounts)
                        + " is not a shared mount on the host";
  } else if (::geteuid() != 0) {
    opts.idmap = false;
    opts.idmap_reason = "the daemon is not root";
  } else if (auto why = idmap::probe(late_bind::mounts_dir(opts.home)); !why.empty()) {
    opts.idmap = false;
    opts.idmap_reason = why;
  }
  auto factory = [docker, observer](caf::actor_system& sys, const worker_options& w,
                                    worker_observer_actor pool) {
    return spawn_worker(sys, w, docker, std::move(pool), observer);
  };
  return spawn_pool_with(sys, std::move(opts), std::move(docker), std::move(observer),
                         std::move(factory), avail.ok, avail.reason);
}

} // namespace hal9000
