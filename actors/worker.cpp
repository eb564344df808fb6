// One actor per worker container. Its lifecycle, one behavior per state:
//
//   spawn
//     |
//     v
//  creating --- create/start failed ------------------------> failed --+
//     |                                                          ^      |
//     | container started (entrypoint waits on the FIFO)         |      |
//     v                                                          |      |
//    warm ----- die (exited with code N / OOM-killed) -----------+      |
//     |   ----- destroy (removed from outside) ------------------+      |
//     | claim                                                    |      |
//     v                                                          |      |
//  claimed ---- mount / update / rename / ack failed, die -------+      |
//     |                                                                 |
//     | project mounted, limits applied, renamed, command acked         |
//     v                                                                 |
//    busy ----- OOM-killed, destroy ------------------------------> failed
//     |
//     | release (stop) or the session command exited
//     v
//  stopping (any state on stop) -- container removed, project unmounted,
//     |                            slot emptied  <-- failed does the same
//     v
//    gone (the actor exits; a worker never serves a second session)

#include "actors/worker.hpp"

#include <cstdlib>
#include <chrono>
#include <optional>

#include <caf/all.hpp>

#include "actors/session_rules.hpp"
#include "messages/error.hpp"
#include "messages/deadlines.hpp"
#include "runtime/blocking.hpp"
#include "runtime/config.hpp"
#include "runtime/late_bind.hpp"
#include "runtime/limits.hpp"
#include "runtime/names.hpp"
#include "runtime/session_mounts.hpp"
#include "runtime/users.hpp"

namespace hal9000 {

namespace {

using std::chrono::steady_clock;

struct worker_data {
  worker_options opts;
  docker::docker_actor docker;
  worker_observer_actor pool;
  worker_observer_actor observer;
  late_bind::slot_paths slot;
  std::shared_ptr<const worker_host_steps> host;  // slot and handshake steps
  worker_state state = worker_state::creating;
  std::string container_id;
  std::string container_name;
  std::string reason;
  steady_clock::time_point spawned = steady_clock::now();
  steady_clock::time_point since = spawned;
  resource_limits applied;       // limits the container runs with
  claim_request claim;
  std::string served;            // "warm"/"cold" once claimed
  caf::typed_response_promise<claim_reply> claim_rp;
  int pending = 0;               // claim steps still outstanding
  bool mounted = false;          // the project is bound onto the slot
  std::vector<std::string> warnings;  // from mounting (a fallback taken)
  uint32_t oom_kills = 0;        // OOM kills in the container's cgroup so far
  std::optional<steady_clock::time_point> last_oom;  // when the count last rose
  bool counter_readable = false; // the kernel's OOM-kill counter was read once
  bool counting = false;         // a read of that counter is in flight
  bool count_again = false;      // engine "oom" events came during that read
  uint32_t unread_ooms = 0;      // engine "oom" events no read has covered yet
  int kill_signal = 0;           // the engine's last "kill" event's signal
  end_reason end;                // why the container ended (none while it runs)
  std::string network_lost;      // why its namespace is gone ("" while fine)
  bool deciding = false;         // died by SIGKILL: waiting for a late oom event
  int64_t exit_code = -1;        // the die event's, while deciding
  std::string found;             // how a missed death was found (safety net)
  bool reported = false;         // the first transition has no "from"
  std::string died;              // set when the container died while creating
  bool stop_requested = false;
  std::string stop_reason;
  end_reason stop_end;           // a typed stop requested while busy with a step
  std::vector<caf::typed_response_promise<worker_status>> stop_waiters;
  static constexpr const char* name = "hal9000.worker";  // the actor's name
};

// The worker's own interface: settle_atom ends the wait for an oom event
// that may follow a SIGKILL's die event.
using worker_impl = worker_actor::extend<caf::reacts_to<settle_atom>>;
using self_ptr = worker_impl::stateful_pointer<worker_data>;
using behavior = worker_impl::behavior_type;

behavior creating(self_ptr self);
behavior warm(self_ptr self);
behavior claimed(self_ptr self);
behavior busy(self_ptr self);
behavior teardown(self_ptr self);
void begin_teardown(self_ptr self, worker_state to, std::string reason);
void begin_teardown(self_ptr self, worker_state to, end_reason end);
void decide(self_ptr self);

int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

worker_status status_of(self_ptr self) {
  auto& st = self->state;
  auto secs = [](steady_clock::duration d) {
    return std::chrono::duration<double>(d).count();
  };
  auto now = steady_clock::now();
  return worker_status{st.opts.id,        to_string(st.state),
                       st.container_id,   st.container_name,
                       st.claim.session_name, st.served,
                       secs(now - st.spawned), secs(now - st.since),
                       st.reason, st.oom_kills, st.network_lost};
}

std::string memory_limit_text(self_ptr self) {
  auto& l = self->state.applied;
  return l.enabled ? l.memory : std::string{};
}

void transition(self_ptr self, worker_state to, std::string reason = {}) {
  auto& st = self->state;
  worker_transition t{st.opts.id,         st.container_id,
                      st.reported ? to_string(st.state) : "",
                      to_string(to),      reason,
                      unix_ms(),          st.claim.session_name,
                      st.claim.project_dir, st.served};
  t.end = st.end;
  t.oom_kills = st.oom_kills;
  t.memory_limit = memory_limit_text(self);
  t.network_lost = st.network_lost;
  st.reported = true;
  st.state = to;
  st.since = steady_clock::now();
  if (!reason.empty())
    st.reason = std::move(reason);
  if (st.pool)
    self->send(st.pool, t);
  if (st.observer)
    self->send(st.observer, std::move(t));
}

// Whether an OOM kill in the container happened close enough to now to be
// its main process's (actors/session_rules.hpp: oom_window).
bool oom_near(self_ptr self) {
  auto& last = self->state.last_oom;
  if (!last)
    return false;
  auto d = steady_clock::now() - *last;
  return d <= oom_window && d >= -oom_window;
}

// Why the container ended, from its die event (rules: session_rules.hpp).
end_reason end_of(self_ptr self, int64_t exit_code) {
  auto r = end_from_exit(exit_code, oom_near(self), memory_limit_text(self),
                         self->state.kill_signal);
  r.detail = self->state.found;
  return r;
}

// The pool's safety net says how it found a death it made an event of.
void note_found(self_ptr self, const docker::event& e) {
  if (auto i = e.labels.find("hal9000.found"); i != e.labels.end())
    self->state.found = i->second;
}

end_reason removed_outside(self_ptr self) {
  end_reason r;
  r.kind = end_kind::removed_outside;
  r.detail = self->state.found;
  return r;
}

// The kernel's own count of OOM kills in the container's cgroup (v1
// memory.oom_control or v2 memory.events, actors/session_rules.hpp) is the
// session's count: the engine sends one "oom" event per OOM notification of
// the cgroup (hundreds for one kill on cgroup v1), so its events only start a
// read, and events that come while a read is in flight make one more read.
// Only when no counter is readable here (another cgroup driver, a daemon in a
// container) does each engine event count as a kill (next_oom_count). The
// file is read on its own thread (file I/O off the scheduler).
void read_kernel_count(self_ptr self) {
  auto& st = self->state;
  if (st.counting) {
    st.count_again = true;
    return;
  }
  st.counting = true;
  auto covered = st.unread_ooms;
  st.unread_ooms = 0;
  auto cid = st.container_id;
  auto done = [self, covered](int64_t n) {
    auto& st = self->state;
    st.counting = false;
    auto c = next_oom_count(st.oom_kills, n, st.counter_readable, covered);
    st.counter_readable = c.readable;
    if (c.rose) {
      st.oom_kills = c.count;
      st.last_oom = steady_clock::now();
      // One piece of news per batch of new kills (the recorder makes it one
      // session.oom event with the new count).
      if (st.state == worker_state::claimed || st.state == worker_state::busy) {
        auto limit = memory_limit_text(self);
        transition(self, st.state,
                   "a process inside session " + st.claim.session_name + " was OOM-killed"
                     + (limit.empty() ? std::string{} : " (memory limit " + limit + ")"));
      }
    }
    if (st.count_again || st.unread_ooms > 0) {
      st.count_again = false;
      if (st.unread_ooms > 0)
        return read_kernel_count(self);
    }
    // A SIGKILL's die waited for this read: the count says whether the
    // kernel killed at the time of death.
    if (st.deciding)
      decide(self);
  };
  run_blocking(self, std::chrono::seconds(5),
               [cid]() -> caf::expected<int64_t> { return read_oom_kills("/sys/fs/cgroup", cid); })
    .then(done, [done](caf::error&) { done(-1); });
}

// The kernel OOM-killed a process in the container. While it serves a
// session this is news now; the session goes on (its end is decided by how
// its main process ends).
void on_oom(self_ptr self);

// -- handlers every state shares ------------------------------------------------

auto status_handler(self_ptr self) {
  return [self](status_atom) -> worker_status { return status_of(self); };
}

auto refuse_claim(self_ptr self) {
  return [self](claim_atom, const claim_request&) -> caf::result<claim_reply> {
    return make_error(errc::conflict, "worker " + self->state.opts.id + " is "
                                        + to_string(self->state.state)
                                        + ", not warm");
  };
}

// Stop now: warm and busy go straight to stopping.
auto stop_now(self_ptr self) {
  return [self](stop_atom, std::string& reason) -> caf::result<worker_status> {
    auto rp = self->make_response_promise<worker_status>();
    self->state.stop_waiters.push_back(rp);
    begin_teardown(self, worker_state::stopping, std::move(reason));
    return rp;
  };
}

// Stop once the step in flight (create, claim) completes.
auto stop_later(self_ptr self) {
  return [self](stop_atom, std::string& reason) -> caf::result<worker_status> {
    auto& st = self->state;
    auto rp = self->make_response_promise<worker_status>();
    st.stop_waiters.push_back(rp);
    if (!st.stop_requested) {
      st.stop_requested = true;
      st.stop_reason = std::move(reason);
    }
    return rp;
  };
}

// A session ended on purpose: its typed end goes with the gone transition.
auto stop_now_typed(self_ptr self) {
  return [self](stop_atom, end_reason& end) -> caf::result<worker_status> {
    auto rp = self->make_response_promise<worker_status>();
    self->state.stop_waiters.push_back(rp);
    begin_teardown(self, worker_state::stopping, std::move(end));
    return rp;
  };
}

auto stop_later_typed(self_ptr self) {
  return [self](stop_atom, end_reason& end) -> caf::result<worker_status> {
    auto& st = self->state;
    auto rp = self->make_response_promise<worker_status>();
    st.stop_waiters.push_back(rp);
    if (!st.stop_requested) {
      st.stop_requested = true;
      st.stop_reason = to_string(end);
      st.stop_end = std::move(end);
    }
    return rp;
  };
}

// Not serving a session: the pool replaces warm and creating workers itself.
auto ignore_netlost() {
  return [](netlost_atom, std::string&) {};
}

auto ignore_settle() {
  return [](settle_atom) {};
}

// A session cut off from its network: it runs on, and says so until it ends.
auto mark_netlost(self_ptr self) {
  return [self](netlost_atom, std::string& why) {
    auto& st = self->state;
    if (st.network_lost == why)
      return;
    st.network_lost = why;
    transition(self, st.state, network_lost_reason(st.claim.session_name, why));
  };
}

void on_oom(self_ptr self) {
  auto& st = self->state;
  ++st.unread_ooms;
  read_kernel_count(self);
}

// The engine's "kill" event: someone (docker kill / stop) signalled the
// container; a die that follows is that signal's, not an OOM kill's.
void on_kill(self_ptr self, const docker::event& e) {
  auto i = e.labels.find("signal");
  if (i == e.labels.end())
    return;
  auto n = std::atoi(i->second.c_str());
  if (n > 0)
    self->state.kill_signal = n;
}

// -- creating ----------------------------------------------------------------------

// A stop that waited for the step in flight, typed when it was asked so.
void stop_as_requested(self_ptr self) {
  auto& st = self->state;
  if (st.stop_end.kind != end_kind::none)
    return begin_teardown(self, worker_state::stopping, st.stop_end);
  begin_teardown(self, worker_state::stopping, st.stop_reason);
}

// The engine's refusal, typed: a missing image is not any create failure.
void fail_creating(self_ptr self, const caf::error& err, const std::string& step = "") {
  end_reason end;
  end.kind = error_code(err) == errc::not_found && step.empty() ? end_kind::image_missing
                                                                 : end_kind::create_failed;
  end.detail = step + error_message(err);
  begin_teardown(self, worker_state::failed, std::move(end));
}

void start_container(self_ptr self) {
  auto& st = self->state;
  self->request(st.docker, st.opts.docker_timeout, docker::start_req{st.container_id})
    .then(
      [self]() {
        auto& st = self->state;
        if (st.state != worker_state::creating)
          return;
        if (st.stop_requested)
          return stop_as_requested(self);
        if (!st.died.empty())
          return begin_teardown(self, worker_state::failed, st.died);
        transition(self, worker_state::warm);
        self->become(warm(self));
      },
      [self](caf::error& err) {
        if (self->state.state == worker_state::creating)
          fail_creating(self, err, "start: ");
      });
}

// Whether a claim's user gets their Claude home and secrets in the worker.
bool binds_user(const worker_options& o, const claim_request& c) {
  return !c.user_id.empty() && !o.claude_home.empty() && o.local_control;
}

// What a claim mounts into the slot (blocking: run by the helpers below).
session_mount_plan mount_plan(const worker_options& o, const claim_request& c) {
  session_mount_plan p;
  p.home = o.home;
  p.project_dir = c.project_dir;
  p.uid = c.uid;
  p.gid = c.gid;
  p.user_id = c.user_id;
  p.bind_home = binds_user(o, c);
  p.worker_uid = o.user_uid;
  p.worker_gid = o.user_gid;
  p.idmap = o.idmap;
  p.workdir = !o.cold;  // a cold container binds the workspace at the workdir itself
  return p;
}

void create_now(self_ptr self) {
  auto& st = self->state;
  auto spec = worker_container_spec(st.opts);
  st.container_name = spec.name;
  self->request(st.docker, st.opts.docker_timeout, docker::create_req{std::move(spec)})
    .then(
      [self](docker::container_created& c) {
        auto& st = self->state;
        st.container_id = c.id;
        if (st.state != worker_state::creating)
          return;
        if (st.stop_requested)
          return stop_as_requested(self);
        start_container(self);
      },
      [self](caf::error& err) {
        if (self->state.state == worker_state::creating)
          fail_creating(self, err);
      });
}

// The slot first (mkdir: off the scheduler), then the container. Cold: the
// project (id-mapped) and the user's home go into the slot too; the container
// binds them at create.
void create_container(self_ptr self) {
  auto& st = self->state;
  if (!st.opts.local_control)
    return create_now(self);
  bool cold = st.opts.cold;
  if (cold)
    st.mounted = true;  // whatever got mounted is unmounted at teardown
  auto host = st.host;
  auto slot = st.slot;
  auto plan = mount_plan(st.opts, st.opts.cold_claim);
  // Errors name their step; as internal, never taken for a missing image.
  auto job = [host, slot, plan, cold]() -> caf::expected<std::vector<std::string>> {
    if (auto err = host->make_slot(slot))
      return make_error(errc::internal, "slot: " + error_message(err));
    if (!cold)
      return std::vector<std::string>{};
    auto r = host->mount(slot, plan);
    if (!r)
      return make_error(errc::internal, "mounting the project: " + error_message(r.error()));
    return r;
  };
  run_blocking(self, st.opts.docker_timeout, std::move(job))
    .then(
      [self](std::vector<std::string>& warnings) {
        auto& st = self->state;
        st.warnings = std::move(warnings);
        if (st.state != worker_state::creating)
          return;
        if (st.stop_requested)
          return stop_as_requested(self);
        create_now(self);
      },
      [self](caf::error& err) {
        if (self->state.state == worker_state::creating)
          fail_creating(self, err);
      });
}

behavior creating(self_ptr self) {
  return {
    refuse_claim(self),
    stop_later(self),
    stop_later_typed(self),
    status_handler(self),
    [self](docker::event& e) {
      auto& st = self->state;
      note_found(self, e);
      if (e.action == "kill") {
        on_kill(self, e);
      } else if (e.action == "oom") {
        on_oom(self);
      } else if (e.action == "die") {
        st.end = end_of(self, e.exit_code);
        st.died = to_string(st.end);
      } else if (e.action == "destroy") {
        st.end = removed_outside(self);
        st.died = to_string(st.end);
      }
    },
    ignore_netlost(),
    ignore_settle(),
  };
}

// -- warm ---------------------------------------------------------------------------

void claim_failed(self_ptr self, const caf::error& err) {
  auto& st = self->state;
  if (st.state != worker_state::claimed)
    return;
  st.claim_rp.deliver(err);
  begin_teardown(self, worker_state::failed, "claim failed: " + error_message(err));
}

void claim_step_done(self_ptr self) {
  auto& st = self->state;
  if (st.state != worker_state::claimed || --st.pending > 0)
    return;
  transition(self, worker_state::busy);
  self->become(busy(self));
  claim_reply r;
  r.session_name = st.claim.session_name;
  r.container_id = st.container_id;
  r.worker_id = st.opts.id;
  r.served = st.served;
  r.limits = st.applied;
  r.image = st.opts.image;
  r.warnings = st.warnings;
  st.claim_rp.deliver(std::move(r));
  if (st.stop_requested)
    stop_as_requested(self);
}

// Parses the claim's limits into an update when they differ from ours.
caf::expected<std::optional<docker::update_req>>
limits_update(self_ptr self, const claim_request& req) {
  auto& st = self->state;
  if (!req.has_limits || req.limits == st.applied)
    return std::optional<docker::update_req>{};
  if (!req.limits.enabled)
    return make_error(errc::invalid_argument,
                      "a running worker cannot drop its limits; --no-limits "
                      "sessions take the cold path");
  docker::update_req upd{st.container_id, 0, 0, 0};
  auto mem = parse_memory(req.limits.memory);
  auto cpus = parse_cpus(req.limits.cpus);
  auto pids = parse_pids_limit(req.limits.pids_limit);
  if (!mem)
    return mem.error();
  if (!cpus)
    return cpus.error();
  if (!pids)
    return pids.error();
  upd.memory = *mem;
  upd.nano_cpus = *cpus;
  upd.pids_limit = *pids;
  return std::optional<docker::update_req>{upd};
}

// Warm: mounts the project, its workdir and the user's home into the slot,
// then hands the session to the entrypoint. Cold: the handshake only (the
// mounts were made before create). Both block (mount(2), the ack wait): on
// their own thread, one per claim.
void mount_and_handshake(self_ptr self) {
  auto& st = self->state;
  auto slot = st.slot;
  auto base = st.claim.command.empty() ? st.opts.default_command : st.claim.command;
  auto full = late_bind::with_env(st.claim.env, base);
  if (!full)
    return claim_failed(self, full.error());
  handshake_spec hs{st.claim.session_name, late_bind::project_workdir(st.claim.project_dir),
                    *full, st.opts.ack_timeout};
  bool mount = !st.opts.cold;
  auto plan = mount_plan(st.opts, st.claim);
  if (mount)
    st.mounted = true;  // whatever got mounted is unmounted at teardown
  auto host = st.host;
  auto job = [host, slot, plan, hs, mount]() -> caf::expected<std::vector<std::string>> {
    std::vector<std::string> warnings;
    if (mount) {
      auto r = host->mount(slot, plan);
      if (!r)
        return std::move(r.error());
      warnings = std::move(*r);
    }
    auto pid = host->handshake(slot, hs);
    if (!pid)
      return std::move(pid.error());
    return warnings;
  };
  // The mounts take a few ms; the ack wait is bounded by ack_timeout.
  run_blocking(self, worker_claim_deadline(st.opts), std::move(job))
    .then(
      [self](std::vector<std::string>& warnings) {
        auto& w = self->state.warnings;
        w.insert(w.end(), warnings.begin(), warnings.end());
        claim_step_done(self);
      },
      [self](caf::error& err) { claim_failed(self, err); });
}

auto claim_handler(self_ptr self) {
  return [self](claim_atom, claim_request& req) -> caf::result<claim_reply> {
    auto& st = self->state;
    auto upd = limits_update(self, req);
    if (!upd)
      return std::move(upd.error());
    st.claim = std::move(req);
    st.served = st.opts.cold ? "cold" : "warm";
    st.claim_rp = self->make_response_promise<claim_reply>();
    transition(self, worker_state::claimed, "claimed by session " + st.claim.session_name);
    self->become(claimed(self));
    // Rename, update and the mounts + FIFO handshake run in parallel. The rename is
    // the slowest step (dockerd writes the container's config: 4-20 ms, up to
    // 100 ms while it creates containers), so it can be left out of the reply.
    bool strict = st.opts.rename_before_reply;
    st.pending = (strict ? 1 : 0) + (*upd ? 1 : 0) + (st.opts.local_control ? 1 : 0);
    auto timeout = st.opts.docker_timeout;
    self->request(st.docker, timeout, docker::rename_req{st.container_id, st.claim.session_name})
      .then(
        [self, strict]() {
          self->state.container_name = self->state.claim.session_name;
          if (strict)
            claim_step_done(self);
        },
        [self, strict](caf::error& err) {
          auto& st = self->state;
          if (strict)
            return claim_failed(self, err);
          if (st.state == worker_state::claimed || st.state == worker_state::busy)
            transition(self, st.state, "renaming to " + st.claim.session_name
                                         + " failed: " + error_message(err));
        });
    if (*upd) {
      auto applied = st.claim.limits;
      self->request(st.docker, timeout, **upd)
        .then(
          [self, applied]() {
            self->state.applied = applied;
            claim_step_done(self);
          },
          [self](caf::error& err) { claim_failed(self, err); });
    }
    if (st.opts.local_control)
      mount_and_handshake(self);
    if (st.pending == 0) {  // nothing to wait for (remote engine, deferred rename)
      st.pending = 1;
      claim_step_done(self);
    }
    return st.claim_rp;
  };
}

auto warm_event(self_ptr self) {
  return [self](docker::event& e) {
    note_found(self, e);
    if (e.action == "kill")
      on_kill(self, e);
    else if (e.action == "oom")
      on_oom(self);
    else if (e.action == "die")
      begin_teardown(self, worker_state::failed, end_of(self, e.exit_code));
    else if (e.action == "destroy")
      begin_teardown(self, worker_state::failed, removed_outside(self));
  };
}

behavior warm(self_ptr self) {
  return {
    claim_handler(self),
    stop_now(self),
    stop_now_typed(self),
    status_handler(self),
    warm_event(self),
    ignore_netlost(),
    ignore_settle(),
  };
}

// -- claimed -------------------------------------------------------------------------

behavior claimed(self_ptr self) {
  return {
    refuse_claim(self),
    stop_later(self),
    stop_later_typed(self),
    status_handler(self),
    [self](docker::event& e) {
      auto& st = self->state;
      note_found(self, e);
      if (e.action == "kill") {
        on_kill(self, e);
      } else if (e.action == "oom") {
        on_oom(self);
      } else if (e.action == "die") {
        st.end = end_of(self, e.exit_code);
        claim_failed(self, make_error(errc::unavailable,
                                      "worker " + st.opts.id + " " + to_string(st.end)
                                        + " while being claimed"));
      } else if (e.action == "destroy") {
        st.end = removed_outside(self);
        claim_failed(self, make_error(errc::unavailable,
                                      "worker " + st.opts.id
                                        + " was removed from outside while "
                                          "being claimed"));
      }
    },
    mark_netlost(self),
    ignore_settle(),
  };
}

// -- busy ------------------------------------------------------------------------------

// The session's main process is gone: OOM-killed fails the worker, any
// other end stops it.
void decide(self_ptr self) {
  auto& st = self->state;
  st.deciding = false;
  auto end = end_of(self, st.exit_code);
  begin_teardown(self, end.kind == end_kind::oom_killed ? worker_state::failed
                                                        : worker_state::stopping,
                 std::move(end));
}

behavior busy(self_ptr self) {
  return {
    refuse_claim(self),
    stop_now(self),
    stop_now_typed(self),
    status_handler(self),
    [self](docker::event& e) {
      auto& st = self->state;
      note_found(self, e);
      if (e.action == "kill") {
        on_kill(self, e);
      } else if (e.action == "oom") {
        on_oom(self);
      } else if (e.action == "die" && !st.deciding) {
        st.exit_code = e.exit_code;
        // A SIGKILL: from outside (a kill event came first), a `docker rm -f`
        // may follow with its destroy; from nobody outside with no OOM kill
        // counted yet, the engine may send "oom" just after "die", or a read
        // of the kernel's counter is in flight. Wait a moment before deciding.
        if (e.exit_code == 137
            && (st.kill_signal != 0 || !oom_near(self) || st.counting)) {
          st.deciding = true;
          self->delayed_send(self, oom_event_grace, settle_atom::value);
          return;
        }
        decide(self);
      } else if (e.action == "destroy") {
        // `docker rm -f`: a SIGKILL's die, then the removal: removed it is.
        st.deciding = false;
        begin_teardown(self, worker_state::failed, removed_outside(self));
      }
    },
    mark_netlost(self),
    [self](settle_atom) {
      // A read of the kernel's counter in flight decides when it answers.
      if (self->state.deciding && !self->state.counting)
        decide(self);
    },
  };
}

// -- stopping / failed -> gone ------------------------------------------------------

void finish_teardown(self_ptr self) {
  auto& st = self->state;
  auto gone = [self](const std::string& problems) {
    auto& st = self->state;
    if (!problems.empty())
      st.reason += "; " + problems;
    // The reason travels with gone too: the recorder ends the session with it.
    transition(self, worker_state::gone, st.reason);
    auto final_status = status_of(self);
    for (auto& rp : st.stop_waiters)
      rp.deliver(final_status);
    st.stop_waiters.clear();
    self->quit();
  };
  if (!st.opts.local_control)
    return gone("");
  // rmdir(2) and umount2(2) wait for the kernel (~4 ms per rmdir on this
  // machine's ext4): off the scheduler.
  auto cleaner = spawn_slot_cleanup(self->system(), st.opts.home, st.opts.id, st.mounted,
                                    st.host);
  self->request(cleaner, st.opts.docker_timeout, start_atom::value)
    .then([gone](std::string& problems) { gone(problems); },
          [gone](caf::error& err) { gone("cleaning the slot: " + error_message(err)); });
}

void begin_teardown(self_ptr self, worker_state to, end_reason end) {
  auto words = to_string(end);
  self->state.end = std::move(end);
  begin_teardown(self, to, std::move(words));
}

void begin_teardown(self_ptr self, worker_state to, std::string reason) {
  auto& st = self->state;
  if (st.state == worker_state::stopping || st.state == worker_state::failed
      || st.state == worker_state::gone)
    return;
  transition(self, to, std::move(reason));
  self->become(teardown(self));
  if (st.container_id.empty())
    return finish_teardown(self);
  self->request(st.docker, st.opts.docker_timeout,
                docker::remove_req{st.container_id, true, false})
    .then([self]() { finish_teardown(self); },
          [self](caf::error& err) {
            if (error_code(err) != errc::not_found)
              self->state.reason += "; removing the container: " + error_message(err);
            finish_teardown(self);
          });
}

behavior teardown(self_ptr self) {
  return {
    refuse_claim(self),
    [self](stop_atom, std::string&) -> caf::result<worker_status> {
      auto rp = self->make_response_promise<worker_status>();
      self->state.stop_waiters.push_back(rp);
      return rp;
    },
    [self](stop_atom, end_reason&) -> caf::result<worker_status> {
      auto rp = self->make_response_promise<worker_status>();
      self->state.stop_waiters.push_back(rp);
      return rp;
    },
    status_handler(self),
    [](docker::event&) {
      // Our own removal's die/destroy.
    },
    ignore_netlost(),
    ignore_settle(),
  };
}

behavior worker_fun(self_ptr self, worker_options opts, docker::docker_actor docker,
                    worker_observer_actor pool, worker_observer_actor observer) {
  auto& st = self->state;
  st.slot = late_bind::slot_for(opts.home, opts.id);
  st.host = opts.host ? opts.host : real_host_steps();
  st.applied = opts.cold && opts.cold_claim.has_limits ? opts.cold_claim.limits
                                                       : opts.limits;
  st.opts = std::move(opts);
  st.docker = std::move(docker);
  st.pool = std::move(pool);
  st.observer = std::move(observer);
  if (st.pool) {
    self->monitor(st.pool);
    self->set_down_handler([self](caf::down_msg& dm) {
      if (dm.source == self->state.pool.address())
        self->quit(dm.reason);
    });
  }
  if (st.opts.adopted) {
    // A session of an earlier run: its container runs, its project is bound
    // (warm: on the slot; unmounting a plain directory is a no-op).
    auto& a = st.opts.adopt;
    st.container_id = a.container_id;
    st.container_name = a.session_name;
    st.claim.session_name = a.session_name;
    st.claim.project_dir = a.project_dir;
    st.applied = a.limits;
    st.mounted = true;
    // Without "served" the hub counts an active session, not another claim.
    transition(self, worker_state::busy, "adopted after a daemon restart");
    st.served = a.served;
    return busy(self);
  }
  transition(self, worker_state::creating);
  create_container(self);
  return creating(self);
}

} // namespace

std::string to_string(worker_state x) {
  switch (x) {
    case worker_state::creating: return "creating";
    case worker_state::warm: return "warm";
    case worker_state::claimed: return "claimed";
    case worker_state::busy: return "busy";
    case worker_state::stopping: return "stopping";
    case worker_state::gone: return "gone";
    case worker_state::failed: return "failed";
  }
  return "unknown";
}

std::chrono::milliseconds worker_claim_deadline(const worker_options& opts) {
  return deadlines::worker_claim(opts.docker_timeout, opts.ack_timeout);
}

std::chrono::milliseconds worker_stop_deadline(const worker_options& opts) {
  return opts.docker_timeout * 2;
}

std::string worker_container_name(const worker_options& opts) {
  return std::string{opts.cold ? names::cold_prefix : names::warm_prefix} + opts.id;
}

std::map<std::string, std::string> worker_labels(const worker_options& opts) {
  auto labels = opts.extra_labels;
  labels[names::label_managed] = "true";
  labels[names::label_role] = "worker";
  labels[names::label_daemon] = opts.daemon_id;
  labels[names::label_worker] = opts.id;
  return labels;
}

docker::container_spec worker_container_spec(const worker_options& opts) {
  docker::container_spec spec;
  spec.name = worker_container_name(opts);
  spec.image = opts.image;
  spec.labels = worker_labels(opts);
  spec.init = true;  // signals reach the session; stop never waits 10 s
  spec.working_dir = late_bind::container_workspace;
  spec.env = {"HAL9000_WORKER_ID=" + opts.id};
  // Not a secret: where Claude Code keeps its state, including .claude.json,
  // so that everything it writes lands in the user's late-bound home.
  if (!opts.claude_home.empty() && opts.local_control)
    spec.env.push_back("CLAUDE_CONFIG_DIR=" + opts.claude_home);
  auto limits = opts.cold && opts.cold_claim.has_limits ? opts.cold_claim.limits
                                                        : opts.limits;
  if (limits.enabled) {
    if (auto x = parse_memory(limits.memory))
      spec.memory = *x;
    if (auto x = parse_cpus(limits.cpus))
      spec.nano_cpus = *x;
    if (auto x = parse_pids_limit(limits.pids_limit))
      spec.pids_limit = *x;
  }
  spec.network_mode = opts.network_mode;
  spec.cap_drop = {"ALL"};
  spec.cap_add = opts.cap_add;
  spec.security_opt = {"no-new-privileges:true"};
  auto slot = late_bind::slot_for(opts.home, opts.id);
  // Sources as the engine sees them: under HAL9000_HOST_HOME when the daemon
  // runs in its container (config.hpp engine_path).
  auto bind = [&opts](std::string src, std::string dst, bool ro, std::string prop) {
    return docker::mount_spec{"bind", engine_path(opts.home, opts.host_home, src),
                              std::move(dst), ro, std::move(prop)};
  };
  if (opts.cold) {
    // The project at /workspace and at its own path (the working directory):
    // from the slot, where it was mounted id-mapped, or as it is when the
    // engine does not share this host's mounts.
    auto src = opts.local_control ? slot.workspace : opts.cold_claim.project_dir;
    auto workdir = late_bind::project_workdir(opts.cold_claim.project_dir);
    spec.mounts.push_back(bind(src, late_bind::container_workspace, false, ""));
    spec.mounts.push_back(bind(src, workdir, false, ""));
    if (!opts.local_control)  // the command is the container's: it starts there
      spec.working_dir = workdir;
  } else {
    spec.mounts.push_back(bind(slot.workspace, late_bind::container_workspace,
                               false, "rslave"));
    spec.mounts.push_back(bind(slot.projects, late_bind::container_projects,
                               false, "rslave"));
  }
  // Per-user state: paths only, never a secret's content. Cold: what the
  // slot holds (mounted before create, id-mapped); warm: late-bound there.
  if (opts.cold && binds_user(opts, opts.cold_claim)) {
    spec.mounts.push_back(bind(slot.claude, opts.claude_home, false, ""));
  } else if (!opts.cold && !opts.claude_home.empty() && opts.local_control) {
    spec.mounts.push_back(bind(slot.claude, opts.claude_home, false, "rslave"));
  }
  // No secrets mount: the user's key never enters a worker.
  for (auto& v : opts.volumes)
    spec.mounts.push_back(v);
  if (opts.local_control) {
    spec.mounts.push_back(bind(slot.control, late_bind::container_control_dir, false, ""));
    spec.mounts.push_back(bind(late_bind::entrypoint_path(opts.home),
                               late_bind::container_entrypoint, true, ""));
    spec.entrypoint = {"/bin/sh", late_bind::container_entrypoint};
  } else {
    // No shared files with the engine: the session command is the container's.
    auto base = opts.cold_claim.command.empty() ? opts.default_command
                                                : opts.cold_claim.command;
    auto full = late_bind::with_env(opts.cold_claim.env, base);
    auto cmd = full ? *full : base;  // invalid entries were refused at the claim
    spec.entrypoint = {"/bin/sh", "-c"};
    spec.cmd = {cmd};
    spec.env.push_back("HAL9000_SESSION=" + opts.cold_claim.session_name);
  }
  return spec;
}

std::shared_ptr<const worker_host_steps> real_host_steps() {
  static auto steps = [] {
    auto s = std::make_shared<worker_host_steps>();
    s->make_slot = [](const late_bind::slot_paths& slot) {
      return late_bind::make_slot(slot, true);
    };
    s->mount = [](const late_bind::slot_paths& slot, const session_mount_plan& plan) {
      return mount_session(slot, plan);
    };
    s->handshake = [](const late_bind::slot_paths& slot, const handshake_spec& hs) {
      return late_bind::handshake(slot, hs.session_name, hs.workdir, hs.command, hs.deadline);
    };
    s->cleanup = [](const std::string& home, const std::string& worker_id,
                    bool unmount) -> std::string {
      auto slot = late_bind::slot_for(home, worker_id);
      // Unmount first: remove_slot never recurses and fails on a mount
      // point, so a host project is never deleted.
      if (unmount)
        if (auto err = late_bind::unmount_slot(slot))
          return error_message(err);
      if (auto err = late_bind::remove_slot(slot))
        return error_message(err);
      return "";
    };
    return std::shared_ptr<const worker_host_steps>{std::move(s)};
  }();
  return steps;
}

caf::actor spawn_slot_cleanup(caf::actor_system& sys, std::string home,
                              std::string worker_id, bool unmount,
                              std::shared_ptr<const worker_host_steps> host) {
  if (!host)
    host = real_host_steps();
  return spawn_blocking(sys, [=]() -> caf::expected<std::string> {
    return host->cleanup(home, worker_id, unmount);
  });
}

worker_actor spawn_worker(caf::actor_system& sys, worker_options opts,
                          docker::docker_actor docker, worker_observer_actor pool,
                          worker_observer_actor observer) {
  return caf::actor_cast<worker_actor>(sys.spawn(worker_fun, std::move(opts),
                                                 std::move(docker), std::move(pool),
                                                 std::move(observer)));
}

} // namespace hal9000
