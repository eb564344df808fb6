// The sessions actor: the one owner of a session's lifecycle. Its rules live
// in session_rules (plain code); this file is the CAF glue around them:
//
//   start ─► plan_start ─► in flight for this name/project? ─yes─► wait, then start again
//                               │no
//                               ▼
//              store: live sessions named so or of this project (one query)
//                               │ decide()
//        ┌──────────┬───────────┼──────────────┐
//     attach    conflict   update_limits      claim ─► pool ─────────► record ─► reply
//                           (Docker update,        └► "starting" record   (written; its
//                            then the record)          (fsynced while the   fsync follows
//                                                      pool claims)         the reply)
//   A claim that cannot be recorded is released; a claim that fails ends
//   its "starting" record (see claim_worker for why this keeps durability).
#include "actors/sessions.hpp"

#include <algorithm>
#include <functional>
#include <memory>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <nlohmann/json.hpp>

#include "actors/pool_scaler.hpp"
#include "messages/error.hpp"
#include "runtime/blocking.hpp"
#include "runtime/config.hpp"
#include "runtime/logging.hpp"
#include "runtime/names.hpp"
#include "runtime/time_format.hpp"
#include "runtime/validate.hpp"

namespace hal9000 {

namespace {

using session_promise = caf::typed_response_promise<session_reply>;

// A user waits on every store request made here; the store also writes a
// worker record (with fsync) for each worker transition a claim causes.
// High priority puts ours ahead of those in the store's mailbox.
constexpr auto urgent = caf::message_priority::high;

struct parked_start {
  session_start req;
  session_promise rp;
};

struct inflight {
  start_plan plan;
  std::vector<parked_start> waiting;  // converging starts, in arrival order
};

struct sessions_state {
  sessions_options opts;
  pool_actor pool;
  session_store_actor store;
  docker::docker_actor docker;
  sandbox_actor sandbox;  // may be invalid: sessions then get no placeholder
  event_hub_actor events;  // may be invalid: a refused start is then not published
  std::map<uint64_t, inflight> starts;
  uint64_t next = 1;
  static inline const char* name = "hal9000.sessions";
};

using self_ptr = sessions_actor::stateful_pointer<sessions_state>;

// What attaches a terminal, from any host: the daemon relays it
// (actors/terminals.hpp).
std::vector<std::string> attach_argv(const session_record& s) {
  return {"claudy", "attach", s.name};
}

session_reply reply_for(session_record rec, bool existing) {
  session_reply r;
  // A session cut off from its network is never presented as healthy.
  if (rec.state == session_state::network_lost)
    r.warnings.push_back(rec.state_reason.empty()
                           ? "this session has lost its network: `" + restore_command(rec.name)
                               + "` restores it"
                           : rec.state_reason);
  r.attach = attach_argv(rec);
  r.session = std::move(rec);
  r.existing = existing;
  return r;
}

// The store's not_found for a name, in the user's words (hint: the listing
// that shows it); any other error as it came.
caf::error unknown_session(caf::error err, const std::string& name, const char* hint) {
  if (error_code(err) == errc::not_found)
    return make_error(errc::not_found,
                      "no session named '" + name + "' (see: " + hint + ")");
  return err;
}

std::string who_of(const session_start& req) {
  return req.user_id + " (" + req.client + ")";
}

void start(self_ptr self, session_start req, session_promise rp);

// A start is over: the starts that waited for it run again, in order; each
// now finds the session in the store (or claims one if this start failed).
void finish(self_ptr self, uint64_t id) {
  auto i = self->state.starts.find(id);
  if (i == self->state.starts.end())
    return;
  auto waiting = std::move(i->second.waiting);
  self->state.starts.erase(i);
  for (auto& w : waiting)
    start(self, std::move(w.req), std::move(w.rp));
}

// Undoes a claim whose session cannot be recorded or whose reply never came:
// nothing may run without a record.
void undo(self_ptr self, const std::string& name, const std::string& why) {
  log()->warn("releasing session {}: {}", name, why);
  if (!self->state.pool)
    return;
  self->request(self->state.pool, self->state.opts.release_budget, release_atom::value, name,
                "start undone: " + why)
    .then([](worker_status&) {},
          [name](caf::error& err) {
            if (error_code(err) != errc::not_found)
              log()->error("cannot release session {}: {}", name, error_message(err));
          });
}

void claim_worker(self_ptr self, uint64_t id, start_plan plan, session_start req,
                  session_promise rp, std::vector<std::string> env);

// A start the engine refused (image missing, create failed, no worker in
// time) is a session that ended before it ran: recorded with its typed
// reason and published, so `sessions --all`, the file and the events say
// the same. A refusal of the request itself (bad input, a name in use)
// records nothing, and a live record of that name is never overwritten.
// started: the start's own "starting" record was written (claim_worker), so
// it ends whatever the error.
void record_failed_start(self_ptr self, const claim_request& cr, const caf::error& err,
                         bool started) {
  auto code = error_code(err);
  if (!started && code != errc::not_found && code != errc::unavailable
      && code != errc::internal && code != errc::deadline_exceeded)
    return;
  auto& st = self->state;
  session_record rec;
  rec.name = cr.session_name;
  rec.parent = st.opts.parent;
  rec.netns = st.opts.netns;
  rec.project_dir = cr.project_dir;
  rec.created_at = utc_now();
  rec.limits = cr.limits;
  rec.user_id = cr.user_id;
  rec.state = session_state::ended;
  rec.ended_at = rec.created_at;
  rec.end = end_from_claim_error(err);
  auto put = [self, rec] {
    self->request<urgent>(self->state.store, self->state.opts.store_timeout,
                          caf::put_atom::value, rec)
      .then([] {},
            [name = rec.name](caf::error& e) {
              log()->warn("the failed start of {} was not recorded: {}", name,
                          error_message(e));
            });
  };
  if (started) {
    put();
  } else {
    self->request<urgent>(st.store, st.opts.store_timeout, caf::get_atom::value, rec.name)
      .then(
        [put](session_record& existing) {
          if (!is_live(existing.state))
            put();
        },
        [put](caf::error& e) {
          if (error_code(e) == errc::not_found)
            put();
        });
  }
  if (st.events) {
    lifecycle_event e;
    e.kind = event_kinds::session_ended;
    e.session = rec.name;
    e.end = rec.end;
    e.reason = to_string(rec.end);
    e.details["end"] = to_string(rec.end.kind);
    e.details["project"] = cr.project_dir;
    self->send(st.events, std::move(e));
  }
}

// The sandbox's grant first (placeholder, proxy settings), then the claim. A
// sandbox that does not answer leaves the session without a placeholder: it
// still runs (with what the user's Claude home holds), never with the key.
void claim(self_ptr self, uint64_t id, start_plan plan, session_start req,
           session_promise rp) {
  auto sandbox = self->state.sandbox;
  if (!sandbox)
    return claim_worker(self, id, std::move(plan), std::move(req), std::move(rp), {});
  self->request(sandbox, self->state.opts.store_timeout,
                sandbox_grant_req{plan.name, req.user_id})
    .then(
      [self, id, plan, req, rp](sandbox_grant& g) mutable {
        claim_worker(self, id, std::move(plan), std::move(req), std::move(rp),
                     std::move(g.env));
      },
      [self, id, plan, req, rp](caf::error& err) mutable {
        log()->warn("session {}: no sandbox grant: {}", plan.name, error_message(err));
        claim_worker(self, id, std::move(plan), std::move(req), std::move(rp), {});
      });
}

// What a claim waits for before its reply: the pool's answer and the
// durability of the start's "starting" record (claim_worker).
struct start_join {
  bool claimed = false;  // the pool answered
  bool noted = false;    // the store answered the "starting" record's put
  caf::expected<claim_reply> claim{caf::error{}};
  caf::error note_err;   // why the "starting" record is not durable
  std::string created_at;
};

// The complete record, then the reply. Over a durable "starting" record of
// this start the store answers once it is written and syncs it behind the
// answer (messages/session_store.hpp); otherwise once it is durable.
void record_and_reply(self_ptr self, uint64_t id, session_promise rp, session_reply reply,
                      std::string who) {
  auto& st = self->state;
  auto ok = [self, id, rp, reply, who]() mutable {
    auto& s = reply.session;
    audit("session.start", {{"session", s.name}, {"project", s.project_dir},
                            {"who", who}, {"served", to_string(s.served)},
                            {"container", s.container_id}, {"result", "ok"}});
    rp.deliver(std::move(reply));
    finish(self, id);
  };
  auto failed = [self, id, rp, reply, who](caf::error& err) mutable {
    auto why = "its record could not be written: " + error_message(err);
    undo(self, reply.session.name, why);
    audit("session.start", {{"session", reply.session.name}, {"who", who},
                            {"result", why}});
    rp.deliver(make_error(errc::internal, "session " + reply.session.name
                                            + " was not started: " + why));
    finish(self, id);
  };
  self->request<urgent>(st.store, st.opts.store_timeout, caf::put_atom::value, reply.session)
    .then(ok, failed);
}

// Both the pool and the store have answered: the reply.
void settle(self_ptr self, uint64_t id, session_promise rp, const claim_request& cr,
            const std::string& who, start_join& j) {
  if (!j.claim) {
    auto err = std::move(j.claim.error());
    // The pool answers within its budget; a CAF timeout means it did not,
    // and its worker may still finish: release whatever it started.
    if (err == caf::sec::request_timeout)
      undo(self, cr.session_name, "the claim did not answer within the pool's budget");
    // No session: its placeholder goes at once.
    if (auto sb = self->state.sandbox) {
      lifecycle_event gone;
      gone.kind = event_kinds::session_ended;
      gone.session = cr.session_name;
      gone.reason = "claim failed";
      caf::anon_send(sb, std::move(gone));
    }
    audit("session.start", {{"session", cr.session_name}, {"project", cr.project_dir},
                            {"who", who}, {"result", error_message(err)}});
    // The "starting" record ends with the claim's error.
    record_failed_start(self, cr, err, true);
    rp.deliver(std::move(err));
    return finish(self, id);
  }
  auto& c = *j.claim;
  auto& st = self->state;
  session_record rec;
  rec.name = c.session_name;
  rec.image = c.image;
  rec.parent = st.opts.parent;
  rec.netns = st.opts.netns;
  rec.project_dir = cr.project_dir;
  rec.created_at = j.created_at;
  rec.limits = c.limits;
  rec.state = session_state::running;
  rec.container_id = c.container_id;
  rec.worker_id = c.worker_id;
  rec.user_id = cr.user_id;
  rec.claimed_at = utc_now();
  rec.served = c.served;
  rec.claim_latency_ms = static_cast<double>(c.latency_us) / 1000.0;
  auto reply = reply_for(rec, false);
  reply.warnings = std::move(c.warnings);
  if (j.note_err)
    log()->warn("session {}: its starting record was not written ({}); its complete "
                "record is made durable before the reply", rec.name,
                error_message(j.note_err));
  record_and_reply(self, id, std::move(rp), std::move(reply), who);
}

// The claim, and the start's record durable before the reply without an
// fsync on the reply's path:
// - the record is written "starting" (name, project, user, limits, start
//   time) and fsynced while the pool claims, so its sync overlaps the claim;
// - once the claim is served, the complete record (container, worker,
//   served, latency) replaces it: written before the reply (atomic rename;
//   a crash of the daemon keeps it, the kernel's page cache holds it), made
//   durable by the store's group sync queued behind the reply (the store's
//   rule for a start's complete record over its durable "starting" one).
// After a daemon crash, reconciliation finds the complete record; after a
// host crash before that sync (every container dies with the host), the
// durable "starting" record, which it ends as disappeared_while_down
// (actors/session_reconciler.cpp): every acknowledged session is found.
void claim_worker(self_ptr self, uint64_t id, start_plan plan, session_start req,
                  session_promise rp, std::vector<std::string> env) {
  auto& st = self->state;
  claim_request cr;
  cr.env = std::move(env);
  cr.session_name = plan.name;
  cr.project_dir = plan.project_dir;
  cr.has_limits = plan.has_limits;
  cr.limits = plan.limits;
  cr.user_id = req.user_id;
  cr.uid = plan.uid;
  cr.gid = plan.gid;
  auto who = who_of(req);
  if (!st.pool) {
    rp.deliver(make_error(errc::unavailable, "the pool is not running yet"));
    return finish(self, id);
  }
  auto j = std::make_shared<start_join>();
  j->created_at = utc_now();
  session_record pre;
  pre.name = cr.session_name;
  pre.parent = st.opts.parent;
  pre.netns = st.opts.netns;
  pre.project_dir = cr.project_dir;
  pre.created_at = j->created_at;
  pre.limits = cr.limits;
  pre.state = session_state::starting;
  pre.user_id = cr.user_id;
  auto both = [self, id, rp, cr, who, j]() mutable {
    if (j->claimed && j->noted)
      settle(self, id, std::move(rp), cr, who, *j);
  };
  self->request<urgent>(st.store, st.opts.store_timeout, caf::put_atom::value, pre)
    .then(
      [j, both]() mutable {
        j->noted = true;
        both();
      },
      [j, both](caf::error& err) mutable {
        j->noted = true;
        j->note_err = std::move(err);
        both();
      });
  self->request(st.pool, st.opts.claim_budget, claim_atom::value, cr)
    .then(
      [j, both](claim_reply& c) mutable {
        j->claimed = true;
        j->claim = std::move(c);
        both();
      },
      [j, both](caf::error& err) mutable {
        j->claimed = true;
        j->claim = std::move(err);
        both();
      });
}

// A running session gets other limits: Docker's update, then its record.
void update_limits(self_ptr self, uint64_t id, start_decision d, session_promise rp) {
  auto& st = self->state;
  if (auto err = validate_limits(d.limits)) {  // typed; a record's may not be
    rp.deliver(std::move(err));
    return finish(self, id);
  }
  docker::update_req upd{d.existing.container_id.empty() ? d.existing.name
                                                         : d.existing.container_id,
                         d.limits.memory_bytes, d.limits.nano_cpus, d.limits.pids_limit};
  self->request(st.docker, st.opts.docker_timeout, upd)
    .then(
      [self, id, d, rp]() mutable {
        auto rec = d.existing;
        rec.limits = d.limits;
        self->request<urgent>(self->state.store, self->state.opts.store_timeout,
                              caf::put_atom::value, rec)
          .then(
            [self, id, rec, d, rp]() mutable {
              auto reply = reply_for(rec, true);
              reply.warnings.push_back(d.message);
              audit("session.update", {{"session", rec.name}, {"result", "ok"},
                                       {"limits", d.message}});
              rp.deliver(std::move(reply));
              finish(self, id);
            },
            [self, id, rec, d, rp](caf::error& err) mutable {
              auto reply = reply_for(rec, true);
              reply.warnings.push_back(d.message);
              reply.warnings.push_back("the session's record still shows its old limits: "
                                       + error_message(err));
              rp.deliver(std::move(reply));
              finish(self, id);
            });
      },
      [self, id, d, rp](caf::error& err) mutable {
        rp.deliver(make_error(error_code(err) == errc::invalid_argument ? errc::invalid_argument
                                                                          : errc::unavailable,
                              "cannot apply the new limits to session " + d.existing.name
                                + ": " + error_message(err)));
        finish(self, id);
      });
}

void start_planned(self_ptr self, session_start req, start_plan plan, session_promise rp);

// Every check before anything is claimed: the path (realpath on the user's
// path), the name, the limits and whether the token's user may use the
// project, checked as that user. Blocking, so off the scheduler
// (run_blocking): the handle replies the start_plan or the refusal.
auto plan_start(self_ptr self, const session_start& req) {
  auto settings = self->state.opts.settings;
  return run_blocking(self, self->state.opts.store_timeout,
                      [settings, req] { return plan_start_as_user(settings, req); });
}

void start(self_ptr self, session_start req, session_promise rp) {
  plan_start(self, req)
    .then(
      [self, req, rp](start_plan& plan) mutable {
        start_planned(self, std::move(req), std::move(plan), std::move(rp));
      },
      [req, rp](caf::error& err) mutable {
        audit("session.start", {{"project", req.path}, {"who", who_of(req)},
                                {"result", error_message(err)}});
        rp.deliver(std::move(err));
      });
}

void start_planned(self_ptr self, session_start req, start_plan planned,
                   session_promise rp) {
  auto& st = self->state;
  auto plan = &planned;
  for (auto& [id, f] : st.starts)
    if (converges(f.plan, *plan)) {
      f.waiting.push_back({std::move(req), std::move(rp)});
      return;
    }
  auto id = st.next++;
  st.starts[id].plan = *plan;
  self->request<urgent>(st.store, st.opts.store_timeout, caf::get_atom::value, plan->name,
                        plan->project_dir)
    .then(
      [self, id, plan = *plan, req, rp](std::vector<session_record>& live) mutable {
        auto d = decide(plan, live);
        switch (d.action) {
          case start_action::attach:
            rp.deliver(reply_for(std::move(d.existing), true));
            return finish(self, id);
          case start_action::conflict:
            rp.deliver(make_error(errc::conflict, d.message));
            return finish(self, id);
          case start_action::update_limits:
            return update_limits(self, id, std::move(d), rp);
          case start_action::claim:
            return claim(self, id, std::move(plan), std::move(req), rp);
        }
      },
      [self, id, rp](caf::error& err) mutable {
        rp.deliver(std::move(err));
        finish(self, id);
      });
}

// Ends a session: its worker is released (container removed, project
// unmounted, slot emptied), then its record is marked ended; done gets the
// ended record or why not.
void stop_session(self_ptr self, session_record rec, std::string who, end_reason reason,
                  std::function<void(caf::expected<session_record>)> done) {
  auto end_record = [self, rec, who, reason, done]() {
    self->request<urgent>(self->state.store, self->state.opts.store_timeout, end_atom::value,
                          rec.name, reason, std::string{})
      .then(
        [who, done](session_record& ended) {
          audit("session.stop", {{"session", ended.name}, {"project", ended.project_dir},
                                 {"who", who}, {"result", "ok"}});
          done(std::move(ended));
        },
        [done](caf::error& err) { done(std::move(err)); });
  };
  if (!self->state.pool)
    return done(make_error(errc::unavailable, "the pool is not running yet"));
  self->request(self->state.pool, self->state.opts.release_budget, release_atom::value,
                rec.name, reason)
    .then([end_record](worker_status&) { end_record(); },
          [end_record, done](caf::error& err) {
            // not_found: neither the pool nor Docker (by our labels) knows
            // it, so its container is gone; the record ends.
            if (error_code(err) == errc::not_found)
              end_record();
            else
              done(std::move(err));
          });
}

// `claudy restart NAME` once the record is known: the start it stands for
// (same name, project, user and limits) is planned first, with every check a
// new session gets, so a restart that cannot start leaves the old container
// alone; then what is left of the old session is removed and its record ends
// as replaced; then it starts like any other (start_planned).
void restart(self_ptr self, session_record rec, std::string user, std::string client,
             session_promise rp) {
  session_start req;
  req.user_id = rec.user_id.empty() ? user : rec.user_id;
  req.client = client;
  req.path = rec.project_dir;
  req.name = rec.name;
  if (!rec.limits.enabled) {
    req.no_limits = true;
  } else {
    req.memory = rec.limits.memory_text;  // re-enters as a start's text
    req.cpus = rec.limits.cpus_text;
    req.pids_limit = rec.limits.pids_limit_text;
  }
  auto who = user + " (" + client + ")";
  plan_start(self, req)
    .then(
      [self, rec, req, who, rp](start_plan& plan) mutable {
        audit("session.restart", {{"session", rec.name}, {"project", rec.project_dir},
                                  {"who", who}, {"was", to_string(rec.state)}});
        end_reason replaced;
        replaced.kind = end_kind::replaced;
        if (!rec.state_reason.empty() && is_live(rec.state))
          replaced.detail = rec.state_reason;
        auto go = [self, req, plan, rp]() mutable {
          start_planned(self, std::move(req), std::move(plan), std::move(rp));
        };
        if (!is_live(rec.state))
          return go();
        stop_session(self, rec, who, replaced,
                     [go, rp](caf::expected<session_record> r) mutable {
                       if (!r)
                         rp.deliver(std::move(r.error()));
                       else
                         go();
                     });
      },
      [rec, who, rp](caf::error& err) mutable {
        audit("session.restart", {{"session", rec.name}, {"project", rec.project_dir},
                                  {"who", who}, {"result", error_message(err)}});
        rp.deliver(std::move(err));
      });
}

} // namespace

void set_owner(sessions_options& o, std::string owner) {
  // The reference's "parent" is the parent container; the namespace owner,
  // when it is another container, is recorded beside it.
  o.parent.clear();
  o.netns.clear();
  if (owner.empty())
    return;
  o.parent = names::parent_container(o.settings.parent_prefix);
  if (owner != o.parent)
    o.netns = std::move(owner);
}

sessions_options sessions_options_from(const config& cfg, std::string owner) {
  sessions_options o;
  o.settings.allowed_roots = cfg.allowed_roots;
  o.settings.home = cfg.home;
  o.settings.host_home = cfg.host_home;
  o.settings.parent_prefix = cfg.parent_prefix;
  o.settings.defaults = worker_limits(cfg);
  o.settings.host = local_host_capacity();
  o.settings.tls_users = cfg.tls_users;
  set_owner(o, std::move(owner));
  auto po = pool_options_from(cfg);
  o.claim_budget = pool_claim_budget(po);
  o.release_budget = pool_release_budget(po);
  o.docker_timeout = po.docker_timeout;
  return o;
}

sessions_actor spawn_sessions(caf::actor_system& sys, sessions_options opts, pool_actor pool,
                              session_store_actor store, docker::docker_actor docker,
                              sandbox_actor sandbox, event_hub_actor events) {
  auto fn = [](self_ptr self, sessions_options opts, pool_actor pool,
               session_store_actor store, docker::docker_actor docker,
               sandbox_actor sandbox, event_hub_actor events) -> sessions_actor::behavior_type {
    auto& st = self->state;
    st.sandbox = std::move(sandbox);
    st.events = std::move(events);
    st.opts = std::move(opts);
    st.pool = std::move(pool);
    st.store = std::move(store);
    st.docker = std::move(docker);
    if (st.docker && st.opts.ask_host)
      self->request(st.docker, st.opts.docker_timeout, docker::info_req{})
        .then(
          [self](std::string& info) {
            auto& h = self->state.opts.settings.host;
            h = capacity_from_docker_info(info, h);
          },
          [](caf::error&) {});  // the local figures stay
    return {
      [self](start_atom, session_start& req) -> caf::result<session_reply> {
        auto rp = self->make_response_promise<session_reply>();
        start(self, std::move(req), rp);
        return rp;
      },
      [self](list_atom, bool all,
             std::string& user) -> caf::result<std::vector<session_record>> {
        auto rp = self->make_response_promise<std::vector<session_record>>();
        self->request<urgent>(self->state.store, self->state.opts.store_timeout,
                              list_atom::value)
          .then(
            [rp, all, user](std::vector<session_record>& list) mutable {
              // Another user's sessions (names, project paths) are theirs.
              list.erase(std::remove_if(list.begin(), list.end(),
                                        [&](auto& s) {
                                          return !visible_to(s, user)
                                                 || (!all && !is_live(s.state));
                                        }),
                         list.end());
              rp.deliver(std::move(list));
            },
            [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
        return rp;
      },
      [self](caf::get_atom, std::string& name,
             std::string& user) -> caf::result<session_reply> {
        if (auto err = valid_name(name))
          return err;
        auto rp = self->make_response_promise<session_reply>();
        self->request<urgent>(self->state.store, self->state.opts.store_timeout,
                              caf::get_atom::value, name)
          .then(
            [rp, user](session_record& rec) mutable {
              if (auto refused = owner_refusal(rec, user, "attach to"))
                rp.deliver(std::move(refused));
              else if (!is_live(rec.state))
                rp.deliver(make_error(errc::not_found,
                                    "session '" + rec.name + "' has ended ("
                                      + to_string(rec.end) + "): `"
                                      + restore_command(rec.name) + "` starts it again"));
              else
                rp.deliver(reply_for(std::move(rec), true));
            },
            [rp, name](caf::error& err) mutable {
              rp.deliver(unknown_session(std::move(err), name, "claudy sessions"));
            });
        return rp;
      },
      [self](stop_atom, std::string& name, std::string& user,
             std::string& client) -> caf::result<session_reply> {
        if (auto err = valid_name(name))
          return err;
        auto rp = self->make_response_promise<session_reply>();
        auto who = user + " (" + client + ")";
        self->request<urgent>(self->state.store, self->state.opts.store_timeout,
                              caf::get_atom::value, name)
          .then(
            [self, rp, user, who](session_record& rec) mutable {
              // Only its owner or root: checked first, so an ended session
              // of someone else's says nothing about it either.
              if (auto refused = owner_refusal(rec, user, "stop")) {
                audit("refused", {{"request", "session stop"}, {"who", who},
                                  {"session", rec.name}, {"result", "not the owner"}});
                rp.deliver(std::move(refused));
                return;
              }
              // A second stop is a successful no-op, as with `docker stop`.
              if (!is_live(rec.state)) {
                rp.deliver(reply_for(std::move(rec), true));
                return;
              }
              end_reason by_user;
              by_user.kind = end_kind::stopped_by_user;
              stop_session(self, std::move(rec), who, by_user,
                           [rp](caf::expected<session_record> r) mutable {
                             if (r)
                               rp.deliver(reply_for(std::move(*r), false));
                             else
                               rp.deliver(std::move(r.error()));
                           });
            },
            [rp, name](caf::error& err) mutable {
              rp.deliver(unknown_session(std::move(err), name, "claudy sessions"));
            });
        return rp;
      },
      [self](restart_atom, std::string& name, std::string& user,
             std::string& client) -> caf::result<session_reply> {
        if (auto err = valid_name(name))
          return err;
        auto rp = self->make_response_promise<session_reply>();
        self->request<urgent>(self->state.store, self->state.opts.store_timeout,
                              caf::get_atom::value, name)
          .then(
            [self, rp, user, client](session_record& rec) mutable {
              // Another user's home and key go with the session: theirs or root's.
              // (A record from before identities, with no user, stays open.)
              if (auto refused = rec.user_id.empty() ? caf::error{}
                                                     : owner_refusal(rec, user, "restart")) {
                audit("refused", {{"request", "session restart"},
                                  {"who", user + " (" + client + ")"},
                                  {"session", rec.name}, {"result", "not the owner"}});
                rp.deliver(std::move(refused));
                return;
              }
              restart(self, std::move(rec), user, client, rp);
            },
            [rp, name](caf::error& err) mutable {
              rp.deliver(unknown_session(std::move(err), name, "claudy sessions --all"));
            });
        return rp;
      },
      [self](shutdown_atom, end_reason& reason) -> caf::result<std::vector<std::string>> {
        auto rp = self->make_response_promise<std::vector<std::string>>();
        self->request<urgent>(self->state.store, self->state.opts.store_timeout,
                              list_atom::value)
          .then(
            [self, rp, reason](std::vector<session_record>& list) mutable {
              list.erase(std::remove_if(list.begin(), list.end(),
                                        [](auto& s) { return !is_live(s.state); }),
                         list.end());
              auto done = std::make_shared<std::vector<std::string>>();
              auto left = std::make_shared<size_t>(list.size());
              if (list.empty()) {
                rp.deliver(std::vector<std::string>{});
                return;
              }
              for (auto& s : list)
                stop_session(self, s, "daemon", reason,
                             [rp, done, left, name = s.name](
                               caf::expected<session_record> r) mutable {
                               done->push_back(r ? name
                                                 : name + ": " + error_message(r.error()));
                               if (--*left == 0)
                                 rp.deliver(std::move(*done));
                             });
            },
            [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
        return rp;
      },
      // The session's worker ended it (recorder) or the reconciliation found
      // it gone: the end rules, then the store (the only writer is here).
      [self](session_ended& e) -> caf::result<session_record> {
        if (auto err = valid_name(e.name))
          return err;
        auto end = end_of_worker(e);
        auto rp = self->make_response_promise<session_record>();
        auto& st = self->state;
        auto deliver = [rp](session_record& rec) mutable { rp.deliver(std::move(rec)); };
        auto fail = [rp](caf::error& err) mutable { rp.deliver(std::move(err)); };
        if (e.worker_id.empty())
          self->request<urgent>(st.store, st.opts.store_timeout, end_atom::value, e.name, end,
                                e.ended_at)
            .then(deliver, fail);
        else
          self->request<urgent>(st.store, st.opts.store_timeout, end_atom::value, e.name, end,
                                e.ended_at, e.worker_id)
            .then(deliver, fail);
        return rp;
      },
      [self](session_note& n) -> caf::result<session_record> {
        if (auto err = valid_name(n.name))
          return err;
        auto rp = self->make_response_promise<session_record>();
        self->request(self->state.store, self->state.opts.store_timeout, std::move(n))
          .then([rp](session_record& rec) mutable { rp.deliver(std::move(rec)); },
                [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
        return rp;
      },
      [self](adopt_atom, session_record& rec) -> caf::result<void> {
        if (auto err = valid_name(rec.name))
          return err;
        if (!is_live(rec.state))
          return make_error(errc::invalid_argument,
                            "session " + rec.name + " is not running: nothing to adopt");
        auto rp = self->make_response_promise<void>();
        self->request<urgent>(self->state.store, self->state.opts.store_timeout,
                              caf::put_atom::value, std::move(rec))
          // typed_response_promise<void> has no deliver() in 0.17.
          .then([rp]() mutable { static_cast<caf::response_promise&>(rp).deliver(caf::unit); },
                [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
        return rp;
      },
      [self](usage_atom, std::string& name, session_usage& usage) -> caf::result<void> {
        if (auto err = valid_name(name))
          return err;
        auto rp = self->make_response_promise<void>();
        self->request(self->state.store, self->state.opts.store_timeout, usage_atom::value,
                      std::move(name), std::move(usage))
          .then([rp]() mutable { static_cast<caf::response_promise&>(rp).deliver(caf::unit); },
                [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
        return rp;
      },
      [self](caf::put_atom, sandbox_actor& sandbox) {
        self->state.sandbox = std::move(sandbox);
      },
      [self](caf::put_atom, pool_actor& pool, std::string& owner) {
        self->state.pool = std::move(pool);
        set_owner(self->state.opts, std::move(owner));
      },
    };
  };
  return sys.spawn(fn, std::move(opts), std::move(pool), std::move(store), std::move(docker),
                   std::move(sandbox), std::move(events));
}

} // namespace hal9000
