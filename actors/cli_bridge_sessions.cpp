// The bridge's session commands: `claudy PATH` (validate, claim a worker from
// the pool, record the session), `sessions`, `attach` and `stop`.
#include <algorithm>
#include <chrono>

#include <nlohmann/json.hpp>

#include "actors/cli_bridge_state.hpp"
#include "messages/error.hpp"
#include "runtime/limits.hpp"
#include "runtime/logging.hpp"
#include "runtime/time_format.hpp"
#include "runtime/validate.hpp"

namespace hal9000::bridge {

namespace {

using namespace std::chrono_literals;
using session_promise = caf::typed_response_promise<session_reply>;

// A user waits on every store request made here; the store also writes a
// worker record (with fsync) for each worker transition a claim causes.
// High priority puts ours ahead of those in the store's mailbox.
constexpr auto urgent = caf::message_priority::high;

// What attaches a terminal on the daemon's host: Claude Code's tmux session,
// or a shell in /workspace when the session runs something else.
std::vector<std::string> attach_argv(const session_record& s) {
  return {"docker", "exec", "-it", "-w", "/workspace", s.name, "sh", "-c",
          "tmux attach -t claude 2>/dev/null || exec sh"};
}

session_reply reply_for(session_record rec, bool existing) {
  session_reply r;
  r.attach = attach_argv(rec);
  r.session = std::move(rec);
  r.existing = existing;
  return r;
}

// Limits for one session: flags over the configured defaults, each checked.
caf::expected<resource_limits> limits_for(const config& cfg, const session_start_req& req,
                                          bool& has_limits) {
  has_limits = req.no_limits || !req.memory.empty() || !req.cpus.empty()
               || !req.pids_limit.empty();
  resource_limits l;
  if (req.no_limits) {
    if (!req.memory.empty() || !req.cpus.empty() || !req.pids_limit.empty())
      return make_error(errc::invalid_argument,
                        "--no-limits cannot be combined with --memory, --cpus or --pids-limit");
    l.enabled = false;
    return l;
  }
  l.memory = req.memory.empty() ? cfg.worker_memory : req.memory;
  l.cpus = req.cpus.empty() ? cfg.worker_cpus : req.cpus;
  l.pids_limit = req.pids_limit.empty() ? cfg.worker_pids_limit : req.pids_limit;
  if (auto x = parse_memory(l.memory); !x)
    return x.error();
  if (auto x = parse_cpus(l.cpus); !x)
    return x.error();
  if (auto x = parse_pids_limit(l.pids_limit); !x)
    return x.error();
  return l;
}

void claim(pointer self, session_promise rp, claim_request cr, std::string who) {
  auto& o = self->state.opts;
  auto timeout = std::chrono::seconds(o.cfg.claim_timeout_s) + 10s;
  self->request(self->state.peers.pool, timeout, claim_atom::value, cr)
    .then(
      [self, rp, cr, who](claim_reply& c) mutable {
        session_record rec;
        rec.name = c.session_name;
        rec.image = c.image;
        rec.parent = "hal9000-parent";
        rec.project_dir = cr.project_dir;
        rec.created_at = utc_now();
        rec.limits = c.limits;
        rec.state = "running";
        rec.container_id = c.container_id;
        rec.worker_id = c.worker_id;
        rec.user_id = cr.user_id;
        rec.claimed_at = rec.created_at;
        rec.served = c.served;
        rec.claim_latency_ms = static_cast<double>(c.latency_us) / 1000.0;
        audit("session.start", {{"session", rec.name}, {"project", rec.project_dir},
                                {"who", who}, {"served", rec.served},
                                {"container", rec.container_id}, {"result", "ok"}});
        auto reply = reply_for(rec, false);
        reply.warnings = std::move(c.warnings);
        // Recorded before the reply: a crash right after leaves a record that
        // the next start reconciles.
        self->request<urgent>(self->state.peers.store, self->state.opts.peer_timeout,
                      caf::put_atom::value, rec)
          .then([rp, reply]() mutable { rp.deliver(std::move(reply)); },
                [rp, reply](caf::error& err) mutable {
                  log()->error("session {} runs but its record was not written: {}",
                               reply.session.name, error_message(err));
                  reply.warnings.push_back("the session record could not be written: "
                                           + error_message(err));
                  rp.deliver(std::move(reply));
                });
      },
      [rp, cr, who](caf::error& err) mutable {
        audit("session.start", {{"session", cr.session_name}, {"project", cr.project_dir},
                                {"who", who}, {"result", error_message(err)}});
        rp.deliver(std::move(err));
      });
}

// No session under the default name: a project may still run under a name
// the user chose; `claudy PATH` attaches to it rather than starting another.
void claim_unless_running(pointer self, session_promise rp, claim_request cr, std::string who,
                          bool named) {
  if (named) {
    claim(self, rp, std::move(cr), who);
    return;
  }
  self->request<urgent>(self->state.peers.store, self->state.opts.peer_timeout, list_atom::value)
    .then(
      [self, rp, cr, who](std::vector<session_record>& list) mutable {
        for (auto& s : list)
          if (s.state != "ended" && s.project_dir == cr.project_dir) {
            rp.deliver(reply_for(std::move(s), true));
            return;
          }
        claim(self, rp, std::move(cr), who);
      },
      [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
}

} // namespace

caf::result<session_reply> session_start(pointer self, const session_start_req& req,
                                         const std::string& user) {
  auto& peers = self->state.peers;
  if (!peers.pool)
    return missing("a pool");
  if (!peers.store)
    return missing("a session store");
  auto& cfg = self->state.opts.cfg;
  // Every check before anything is created. The path checks are a few
  // metadata syscalls on the daemon's own filesystem (microseconds).
  auto project = validate_project_path(req.path, cfg.allowed_roots, cfg.home);
  if (!project)
    return project.error();
  // In its container the daemon sees the state directory at its host path
  // too (HAL9000_HOST_HOME, under an allowed root): refused the same way.
  if (!cfg.host_home.empty())
    if (auto again = validate_project_path(req.path, cfg.allowed_roots, cfg.host_home);
        !again)
      return again.error();
  auto name = req.name.empty() ? default_session_name(*project) : req.name;
  if (auto err = valid_name(name))
    return err;
  // The pool's own containers and the parent's names are reserved.
  if (name.rfind("hal9000-warm-", 0) == 0 || name.rfind("hal9000-cold-", 0) == 0
      || name == cfg.parent_prefix + "-parent" || name == cfg.parent_prefix + "-chromadb")
    return make_error(errc::invalid_argument,
                      "invalid name '" + name + "': the daemon uses it for its own containers");
  bool has_limits = false;
  auto limits = limits_for(cfg, req, has_limits);
  if (!limits)
    return limits.error();
  claim_request cr;
  cr.session_name = name;
  cr.project_dir = *project;
  cr.has_limits = has_limits;
  cr.limits = *limits;
  // Whose Claude home and key the session gets: the token's user, never
  // what the client says of itself.
  cr.user_id = user;
  auto rp = self->make_response_promise<session_reply>();
  auto who = user + " (" + req.who.client + ")";
  bool named = !req.name.empty();
  // A running session under this name: the same project attaches to it,
  // another project may not take the name.
  self->request<urgent>(peers.store, self->state.opts.peer_timeout, caf::get_atom::value, name)
    .then(
      [self, rp, cr, who, named](session_record& rec) mutable {
        if (rec.state == "ended") {
          claim_unless_running(self, rp, std::move(cr), who, named);
        } else if (rec.project_dir == cr.project_dir) {
          rp.deliver(reply_for(std::move(rec), true));
        } else {
          rp.deliver(make_error(errc::conflict,
                                "session name '" + cr.session_name
                                  + "' is used by a running session of " + rec.project_dir
                                  + "; choose another with --name"));
        }
      },
      [self, rp, cr, who, named](caf::error& err) mutable {
        if (error_code(err) == errc::not_found)
          claim_unless_running(self, rp, std::move(cr), who, named);
        else
          rp.deliver(std::move(err));
      });
  return rp;
}

caf::result<std::vector<session_record>> sessions_list(pointer self, const sessions_req& req) {
  if (!self->state.peers.store)
    return missing("a session store");
  auto rp = self->make_response_promise<std::vector<session_record>>();
  bool all = req.all;
  self->request<urgent>(self->state.peers.store, self->state.opts.peer_timeout, list_atom::value)
    .then(
      [rp, all](std::vector<session_record>& list) mutable {
        if (!all)
          list.erase(std::remove_if(list.begin(), list.end(),
                                    [](auto& s) { return s.state == "ended"; }),
                     list.end());
        rp.deliver(std::move(list));
      },
      [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
  return rp;
}

namespace {

// Ends a session: its worker is released (container removed, project
// unmounted, slot emptied), then its record is marked ended.
void stop_session(pointer self, session_promise rp, session_record rec, std::string who) {
  auto end_record = [self, rp, rec, who]() mutable {
    self->request<urgent>(self->state.peers.store, self->state.opts.peer_timeout, end_atom::value,
                  rec.name, std::string{"stopped by user"}, std::string{})
      .then(
        [rp, who](session_record& ended) mutable {
          audit("session.stop", {{"session", ended.name}, {"project", ended.project_dir},
                                 {"who", who}, {"result", "ok"}});
          rp.deliver(reply_for(std::move(ended), false));
        },
        [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
  };
  self->request(self->state.peers.pool, 60s, release_atom::value, rec.name,
                std::string{"stopped by user"})
    .then([end_record](worker_status&) mutable { end_record(); },
          [self, rp, rec, end_record](caf::error& err) mutable {
            if (error_code(err) != errc::not_found) {
              rp.deliver(std::move(err));
              return;
            }
            // The pool does not know it (e.g. its container already went):
            // remove whatever is left under its name, then end the record.
            self->request(self->state.peers.docker, 60s,
                          docker::remove_req{rec.name, true, false})
              .then([end_record]() mutable { end_record(); },
                    [rp, end_record](caf::error& err) mutable {
                      if (error_code(err) == errc::not_found)
                        end_record();
                      else
                        rp.deliver(std::move(err));
                    });
          });
}

} // namespace

caf::result<session_reply> session_attach_or_stop(pointer self, const session_req& req) {
  if (!self->state.peers.store)
    return missing("a session store");
  if (auto err = valid_name(req.name))
    return err;
  auto rp = self->make_response_promise<session_reply>();
  auto stop = req.stop;
  auto who = req.who.client;
  self->request<urgent>(self->state.peers.store, self->state.opts.peer_timeout, caf::get_atom::value,
                req.name)
    .then(
      [self, rp, stop, who](session_record& rec) mutable {
        if (rec.state == "ended") {
          rp.deliver(make_error(errc::not_found, "session '" + rec.name + "' has ended ("
                                                   + rec.end_reason + ")"));
          return;
        }
        if (!stop) {
          rp.deliver(reply_for(std::move(rec), true));
          return;
        }
        if (!self->state.peers.pool) {
          rp.deliver(missing("a pool"));
          return;
        }
        stop_session(self, rp, std::move(rec), who);
      },
      [rp, name = req.name](caf::error& err) mutable {
        if (error_code(err) == errc::not_found)
          rp.deliver(make_error(errc::not_found, "no session named '" + name
                                                   + "' (see: claudy sessions)"));
        else
          rp.deliver(std::move(err));
      });
  return rp;
}

} // namespace hal9000::bridge
