// The start-up reconciliation, as one detached actor that runs three steps:
//   judge   list the store's sessions and worker records and Docker's
//           containers for this daemon; adopt, end, remove (requests)
//   sweep   slots and mounts under HAL9000_HOME/mounts of workers that are
//           not adopted: unmount, remove (file I/O on this actor's thread)
//   forget  worker records of workers that are gone (requests)
// then replies the report and exits. Rules: messages/reconcile.hpp.
// It reads the store; what it adopts or finds ended, it reports to the
// sessions actor, which writes the session records (adopt_atom,
// session_ended); worker records (pool/workers/) it deletes itself.

#include "actors/session_reconciler.hpp"

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <set>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/session_rules.hpp"
#include "messages/error.hpp"
#include "runtime/config.hpp"
#include "runtime/late_bind.hpp"
#include "runtime/limits.hpp"
#include "runtime/logging.hpp"
#include "runtime/names.hpp"
#include "runtime/time_format.hpp"
#include "runtime/validate.hpp"

namespace hal9000 {

namespace {

using namespace std::chrono_literals;
using std::chrono::steady_clock;

constexpr auto store_timeout = 10s;

struct reconciler_data {
  reconcile_options opts;
  docker::docker_actor docker;
  session_store_actor store;  // read; worker records deleted
  sessions_actor writer;      // the sessions actor: writes the session records
  event_hub_actor hub;
  caf::typed_response_promise<reconcile_report> rp;
  bool started = false;
  steady_clock::time_point t0;
  std::map<std::string, session_record> sessions;
  std::vector<worker_record> worker_records;
  std::set<std::string> keep;  // worker ids of adopted sessions: slots stay
  reconcile_report report;
  size_t pending = 0;
  std::function<void()> then;  // runs once pending drops to zero
  static constexpr const char* name = "hal9000.reconciler";
};

using self_ptr = reconciler_actor::stateful_pointer<reconciler_data>;

std::string real_path(const std::string& path) {
  char buf[PATH_MAX];
  return ::realpath(path.c_str(), buf) ? std::string{buf} : path;
}

bool under(const std::string& path, const std::string& base) {
  return path.rfind(base + "/", 0) == 0;
}

bool is_leftover_name(const std::string& name) {
  return name.rfind(names::warm_prefix, 0) == 0 || name.rfind(names::cold_prefix, 0) == 0;
}

// Docker's own words for a container that is not running any more.
bool is_dead(const std::string& state) {
  return state == "exited" || state == "dead" || state == "created" || state == "removing";
}

std::string label(const docker::container_summary& c, const char* key) {
  auto i = c.labels.find(key);
  return i == c.labels.end() ? std::string{} : i->second;
}

void act(self_ptr self, std::string action, std::string session, std::string worker,
         std::string container, std::string detail) {
  auto& st = self->state;
  log()->info("reconcile: {} session={} worker={} container={}{}{}", action, session,
              worker, container.substr(0, 12), detail.empty() ? "" : ": ", detail);
  if (st.hub) {
    lifecycle_event e;
    e.kind = event_kinds::daemon_reconcile;
    e.session = session;
    e.worker_id = worker;
    e.container_id = container;
    e.reason = detail;
    e.details["action"] = action;
    self->send(st.hub, std::move(e));
  }
  st.report.actions.push_back(reconcile_action{std::move(action), std::move(session),
                                               std::move(worker), std::move(container),
                                               std::move(detail)});
}

void failed(self_ptr self, std::string what) {
  log()->error("reconcile: {}", what);
  self->state.report.errors.push_back(std::move(what));
}

// -- pending work ---------------------------------------------------------------

void done_one(self_ptr self) {
  auto& st = self->state;
  if (st.pending > 0 && --st.pending == 0 && st.then) {
    auto next = std::move(st.then);
    st.then = nullptr;
    next();
  }
}

// Runs next now when nothing is pending, else once the last piece is done.
void after_pending(self_ptr self, std::function<void()> next) {
  auto& st = self->state;
  if (st.pending == 0)
    next();
  else
    st.then = std::move(next);
}

void finish(self_ptr self) {
  auto& st = self->state;
  st.report.duration_ms
    = std::chrono::duration<double, std::milli>(steady_clock::now() - st.t0).count();
  log()->info("reconcile: {} actions, {} sessions adopted, {} errors in {:.1f} ms",
              st.report.actions.size(), st.report.adopted.size(), st.report.errors.size(),
              st.report.duration_ms);
  st.rp.deliver(st.report);
  self->quit();
}

// -- forget ----------------------------------------------------------------------

void forget_workers(self_ptr self) {
  auto& st = self->state;
  for (auto& w : st.worker_records) {
    if (st.keep.count(w.id))
      continue;
    ++st.pending;
    self->request(st.store, store_timeout, caf::delete_atom::value, workers_atom::value, w.id)
      .then(
        [self, id = w.id, cid = w.container_id] {
          act(self, "deleted_worker_record", "", id, cid, "its worker is gone");
          done_one(self);
        },
        [self, id = w.id](caf::error& err) {
          failed(self, "cannot delete the record of worker " + id + ": " + error_message(err));
          done_one(self);
        });
  }
  after_pending(self, [self] { finish(self); });
}

// -- sweep -------------------------------------------------------------------------

// Every slot of a worker that is not adopted: whatever is mounted in it is
// unmounted (the container that used it is gone), then the slot is removed.
// remove_slot never recurses, so a project still mounted is never touched.
void sweep_slots(self_ptr self) {
  auto& st = self->state;
  auto mounts = late_bind::mounts_dir(st.opts.home);
  auto real_mounts = real_path(mounts);
  auto mounted = late_bind::mounts_under(mounts);  // deepest first
  std::error_code ec;
  std::filesystem::directory_iterator it{mounts, ec};
  if (ec) {
    if (ec != std::errc::no_such_file_or_directory)
      failed(self, "cannot list " + mounts + ": " + ec.message());
    return forget_workers(self);
  }
  std::vector<std::string> ids;
  for (; it != std::filesystem::directory_iterator{}; it.increment(ec)) {
    if (ec)
      break;
    if (it->is_directory(ec))
      ids.push_back(it->path().filename().string());
  }
  for (auto& id : ids) {
    if (st.keep.count(id) || !is_valid_name(id))
      continue;
    auto root = real_mounts + "/" + id;
    bool was_mounted = false;
    std::string problem;
    for (auto& m : mounted)
      if (m == root || under(m, root))
        was_mounted = true;
    // The slot's own mount points, each detached with what is mounted
    // inside it (a submount of an id-mapped project cannot go on its own).
    if (was_mounted)
      if (auto err = late_bind::unmount_slot(late_bind::slot_for(st.opts.home, id)))
        problem = error_message(err);
    if (problem.empty())
      if (auto err = late_bind::remove_slot(late_bind::slot_for(st.opts.home, id)))
        problem = error_message(err);
    if (!problem.empty()) {
      failed(self, "slot " + id + ": " + problem);
      continue;
    }
    act(self, was_mounted ? "unmounted_stale" : "removed_slot", "", id, "",
        was_mounted ? "its worker has no container" : "");
  }
  forget_workers(self);
}

// -- judge -------------------------------------------------------------------------

void remove_container(self_ptr self, std::string id, std::function<void(caf::error)> done) {
  self->request(self->state.docker, self->state.opts.docker_timeout,
                docker::remove_req{id, true, false})
    .then([done] { done(caf::none); },
          [done](caf::error& err) {
            done(error_code(err) == errc::not_found ? caf::error{} : std::move(err));
          });
}

void adopt(self_ptr self, const session_record& rec, const std::string& worker_id,
           const std::string& container_id) {
  auto& st = self->state;
  adopted_session a;
  a.session_name = rec.name;
  a.project_dir = rec.project_dir;
  a.container_id = container_id;
  a.worker_id = worker_id;
  a.served = rec.served == served_kind::none ? served_kind::warm : rec.served;
  a.image = rec.image;
  a.limits = rec.limits;
  st.keep.insert(worker_id);
  st.report.adopted.push_back(std::move(a));
}

// A running session container whose record is missing or ended: rebuilt from
// what Docker and the kernel's mount table say.
session_record rebuild(self_ptr self, const docker::container_summary& c,
                       const docker::container_info& info, const std::string& worker_id) {
  auto mounts = late_bind::mounts_dir(self->state.opts.home);
  session_record r;
  r.name = c.name;
  r.image = c.image;
  // The engine stores the owner's id ("container:<id>"): the names are the
  // daemon's, as for a record written at the claim.
  if (info.network_mode.rfind("container:", 0) == 0) {
    r.parent = self->state.opts.parent;
    r.netns = self->state.opts.netns;
    if (r.parent.empty())
      r.parent = info.network_mode.substr(10);
  }
  r.created_at = iso8601_utc(std::chrono::system_clock::time_point{std::chrono::seconds{c.created}});
  r.claimed_at = r.created_at;
  r.state = session_state::running;
  r.container_id = c.id;
  r.worker_id = worker_id;
  r.served = served_kind::warm;
  for (auto m : info.mounts) {
    if (m.target != late_bind::container_workspace)
      continue;
    // Docker reports the engine's path; the daemon's may differ (container).
    m.source = daemon_path(self->state.opts.home, self->state.opts.host_home, m.source);
    if (under(m.source, mounts) || under(real_path(m.source), real_path(mounts))) {
      r.project_dir = late_bind::bind_source(m.source, mounts);
    } else {
      r.served = served_kind::cold;
      r.project_dir = m.source;
    }
  }
  if (r.project_dir.empty())
    r.project_dir = "unknown (no project mounted at /workspace)";
  r.limits = limits_from_docker(info.memory, info.nano_cpus, info.pids_limit);
  return r;
}

void adopt_without_record(self_ptr self, docker::container_summary c, std::string wid) {
  auto& st = self->state;
  ++st.pending;
  self->request(st.docker, st.opts.docker_timeout, docker::inspect_req{c.id})
    .then(
      [self, c, wid](docker::container_info& info) {
        auto rec = rebuild(self, c, info, wid);
        // Adopted even if the record cannot be written: never kill a session
        // we cannot prove dead.
        adopt(self, rec, wid, c.id);
        self->request(self->state.writer, store_timeout, adopt_atom::value, rec)
          .then(
            [self, rec] {
              act(self, "adopted_rebuilt", rec.name, rec.worker_id, rec.container_id,
                  "running without a record (lost in a crash); rebuilt from Docker: "
                    + rec.project_dir);
              done_one(self);
            },
            [self, name = rec.name](caf::error& err) {
              failed(self, "session " + name + " adopted, but its rebuilt record was not "
                             "written: " + error_message(err));
              done_one(self);
            });
      },
      [self, c](caf::error& err) {
        failed(self, "cannot inspect session container " + c.name + ": "
                       + error_message(err) + " (left alone)");
        done_one(self);
      });
}

// A claimed worker is renamed to its session after the reply (the record is
// written before it): a crash in between leaves the session's container with
// its warm name. Finish the rename; the session is adopted either way.
void finish_rename(self_ptr self, const session_record& rec,
                   const docker::container_summary& c, const std::string& wid) {
  auto& st = self->state;
  ++st.pending;
  self->request(st.docker, st.opts.docker_timeout, docker::rename_req{c.id, rec.name})
    .then(
      [self, rec, wid, c] {
        act(self, "adopted", rec.name, wid, c.id,
            rec.project_dir + " (renamed from " + c.name + ": the daemon stopped before "
              + "its rename)");
        done_one(self);
      },
      [self, rec, wid, c](caf::error& err) {
        act(self, "adopted", rec.name, wid, c.id,
            rec.project_dir + " (still named " + c.name + ": " + error_message(err) + ")");
        done_one(self);
      });
}

void adopt_with_record(self_ptr self, session_record rec, const docker::container_summary& c,
                       std::string wid) {
  auto& st = self->state;
  adopt(self, rec, wid, c.id);
  if (c.name != rec.name && rec.container_id == c.id && rec.worker_id == wid)
    return finish_rename(self, rec, c, wid);
  if (rec.container_id == c.id && rec.worker_id == wid) {
    act(self, "adopted", rec.name, wid, c.id, rec.project_dir);
    return;
  }
  // The record predates what Docker says (a crash between rename and write,
  // or a "starting" record whose claim was served, renamed, not yet
  // recorded): the container runs, so does the session.
  rec.container_id = c.id;
  rec.worker_id = wid;
  if (rec.state == session_state::starting)
    rec.state = session_state::running;
  ++st.pending;
  self->request(st.writer, store_timeout, adopt_atom::value, rec)
    .then(
      [self, rec] {
        act(self, "adopted", rec.name, rec.worker_id, rec.container_id,
            rec.project_dir + " (record updated from Docker)");
        done_one(self);
      },
      [self, name = rec.name](caf::error& err) {
        failed(self, "session " + name + " adopted, but its record was not updated: "
                       + error_message(err));
        done_one(self);
      });
}

// A stopped session container: why it stopped, its record ended with that,
// the container removed (its slot goes in the sweep).
void end_stopped(self_ptr self, docker::container_summary c, std::string session,
                 std::string wid, bool live_record, std::string memory_limit) {
  auto& st = self->state;
  ++st.pending;
  auto with_reason = [self, c, session, wid, live_record](end_reason end) {
    auto reason = to_string(end);
    auto remove_then_act = [self, c, session, wid, live_record, reason] {
      remove_container(self, c.id, [self, c, session, wid, live_record, reason](caf::error err) {
        if (err)
          failed(self, "cannot remove stopped session container " + c.name + ": "
                         + error_message(err));
        else
          act(self, live_record ? "ended_exited" : "removed_exited", session, wid, c.id,
              reason);
        done_one(self);
      });
    };
    if (!live_record)
      return remove_then_act();
    session_ended e;
    e.name = session;
    e.end = std::move(end);
    self->request(self->state.writer, store_timeout, std::move(e))
      .then([remove_then_act](session_record&) { remove_then_act(); },
            [self, session, remove_then_act](caf::error& err) {
              failed(self, "cannot end session " + session + ": " + error_message(err));
              remove_then_act();
            });
  };
  self->request(st.docker, st.opts.docker_timeout, docker::inspect_req{c.id})
    .then(
      [with_reason, memory_limit](docker::container_info& info) {
        auto end = end_from_stopped(info, memory_limit);
        end.detail = end.detail.empty() ? "found stopped when the daemon started"
                                        : end.detail;
        with_reason(std::move(end));
      },
      [with_reason](caf::error& err) {
        end_reason end;
        if (error_code(err) == errc::not_found) {
          end.kind = end_kind::disappeared_while_down;
        } else {
          end.kind = end_kind::exited;
          end.detail = "found stopped when the daemon started; cannot inspect it: "
                       + error_message(err);
        }
        with_reason(std::move(end));
      });
}

// The live record of the session a warm-named container serves: claimed
// and acknowledged, not yet renamed when the daemon stopped.
const session_record* claimed_by(self_ptr self, const docker::container_summary& c,
                                 const std::string& wid) {
  for (auto& [name, rec] : self->state.sessions)
    if (is_live(rec.state) && rec.container_id == c.id && rec.worker_id == wid)
      return &rec;
  return nullptr;
}

void judge(self_ptr self, std::vector<docker::container_summary> containers) {
  auto& st = self->state;
  std::set<std::string> names;
  for (auto& c : containers) {
    names.insert(c.name);
    auto wid = label(c, names::label_worker);
    if (!is_valid_name(wid))
      wid = "adopted-" + c.id.substr(0, 12);
    if (is_leftover_name(c.name)) {
      if (auto rec = claimed_by(self, c, wid)) {
        names.insert(rec->name);
        if (is_dead(c.state))
          end_stopped(self, c, rec->name, wid, true,
                      memory_limit_text(rec->limits));
        else
          adopt_with_record(self, *rec, c, wid);
        continue;
      }
      ++st.pending;
      remove_container(self, c.id, [self, c, wid](caf::error err) {
        if (err)
          failed(self, "cannot remove " + c.name + ": " + error_message(err));
        else
          act(self, "removed_leftover", "", wid, c.id,
              c.name + " of an earlier run (never claimed)");
        done_one(self);
      });
      continue;
    }
    auto r = st.sessions.find(c.name);
    bool live_record = r != st.sessions.end() && is_live(r->second.state);
    if (is_dead(c.state))
      end_stopped(self, c, c.name, wid, live_record,
                  live_record ? memory_limit_text(r->second.limits) : std::string{});
    else if (live_record)
      adopt_with_record(self, r->second, c, wid);
    else
      adopt_without_record(self, c, wid);
  }
  for (auto& [name, rec] : st.sessions) {
    if (rec.state == session_state::ended || names.count(name))
      continue;
    ++st.pending;
    end_reason gone;
    gone.kind = end_kind::disappeared_while_down;
    session_ended e;
    e.name = name;
    e.end = gone;
    self->request(st.writer, store_timeout, std::move(e))
      .then(
        [self](session_record& ended) {
          act(self, "ended_disappeared", ended.name, ended.worker_id, ended.container_id,
              to_string(ended.end));
          done_one(self);
        },
        [self, name = name](caf::error& err) {
          failed(self, "cannot end session " + name + ": " + error_message(err));
          done_one(self);
        });
  }
  after_pending(self, [self] { sweep_slots(self); });
}

std::map<std::string, std::string> worker_filter(const reconcile_options& o) {
  auto labels = o.extra_labels;
  labels[names::label_role] = "worker";
  labels[names::label_daemon] = o.daemon_id;
  return labels;
}

void start(self_ptr self) {
  auto& st = self->state;
  self->request(st.store, store_timeout, list_atom::value)
    .then(
      [self](std::vector<session_record>& list) {
        for (auto& s : list)
          self->state.sessions.emplace(s.name, std::move(s));
        self->request(self->state.store, store_timeout, list_atom::value, workers_atom::value)
          .then(
            [self](std::vector<worker_record>& workers) {
              auto& st = self->state;
              st.worker_records = std::move(workers);
              self->request(st.docker, st.opts.docker_timeout,
                            docker::list_req{worker_filter(st.opts), true})
                .then([self](std::vector<docker::container_summary>& list) {
                        judge(self, std::move(list));
                      },
                      [self](caf::error& err) {
                        // Nothing can be proved without Docker: change nothing.
                        failed(self, "cannot list this daemon's containers: "
                                       + error_message(err) + " (nothing reconciled)");
                        finish(self);
                      });
            },
            [self](caf::error& err) {
              failed(self, "cannot read the worker records: " + error_message(err));
              finish(self);
            });
      },
      [self](caf::error& err) {
        failed(self, "cannot read the session store: " + error_message(err)
                       + " (nothing reconciled)");
        finish(self);
      });
}

reconciler_actor::behavior_type reconciler_fun(self_ptr self, reconcile_options opts,
                                               docker::docker_actor docker,
                                               session_store_actor store,
                                               sessions_actor sessions,
                                               event_hub_actor hub) {
  auto& st = self->state;
  st.opts = std::move(opts);
  st.docker = std::move(docker);
  st.store = std::move(store);
  st.writer = std::move(sessions);
  st.hub = std::move(hub);
  return {
    [self](reconcile_atom) -> caf::result<reconcile_report> {
      auto& st = self->state;
      if (st.started)
        return make_error(errc::conflict, "the reconciliation runs once");
      st.started = true;
      st.t0 = steady_clock::now();
      st.rp = self->make_response_promise<reconcile_report>();
      start(self);
      return st.rp;
    },
  };
}

} // namespace

reconciler_actor spawn_reconciler(caf::actor_system& sys, reconcile_options opts,
                                  docker::docker_actor docker, session_store_actor store,
                                  sessions_actor sessions, event_hub_actor hub) {
  return sys.spawn<caf::detached>(reconciler_fun, std::move(opts), std::move(docker),
                                  std::move(store), std::move(sessions), std::move(hub));
}

} // namespace hal9000
