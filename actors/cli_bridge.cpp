#include "actors/cli_bridge.hpp"

#include "actors/parent_spec.hpp"

#include <memory>

#include <caf/actor_system.hpp>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "actors/cli_bridge_state.hpp"
#include "messages/error.hpp"
#include "messages/wire.hpp"
#include "runtime/logging.hpp"

namespace hal9000 {

namespace bridge {

caf::error authenticate(pointer self, const credentials& who, const char* what,
                        std::string* user) {
  auto& tokens = self->state.opts.tokens;
  auto found = who.token.empty() ? std::string{} : tokens->user_of(who.token);
  if (!found.empty()) {
    if (user)
      *user = std::move(found);
    return caf::none;
  }
  audit("refused", {{"request", what}, {"who", who.client},
                    {"result", "unauthenticated"}});
  log()->warn("refused {} from '{}': wrong or missing token", what, who.client);
  return make_error(errc::unauthenticated,
                    "authentication refused: wrong or missing control token");
}

caf::error root_only(const std::string& user, const credentials& who, const char* what) {
  if (user == "root")
    return caf::none;
  audit("refused", {{"request", what}, {"who", user + " (" + who.client + ")"},
                    {"result", "root only"}});
  log()->warn("refused {} from {}: only root may", what, user);
  return make_error(errc::unauthenticated,
                    std::string{"refused: only root (the daemon's own token) may "} + what
                      + "; you are " + user);
}

caf::error missing(const char* what) {
  return make_error(errc::unavailable, std::string{"the daemon runs without "} + what);
}

namespace {

// Collects the parts of a status from several actors and delivers once the
// last one answered (or failed).
struct status_fan_in {
  daemon_status st;
  caf::typed_response_promise<daemon_status> rp;
  int pending = 0;

  void done() {
    if (--pending == 0)
      rp.deliver(std::move(st));
  }
};

// The parent's state, then volumes and the keeper's notes, in words.
void add_parent_status(daemon_status& st, const parent_status& p) {
  st.parent_state = to_string(p.parent);
  st.volumes = p.volumes;  // printed by claudy from the structured field
  if (p.chroma != container_state::running)
    st.notes.push_back(p.chroma_name + ": " + to_string(p.chroma));
  for (auto& n : p.notes)
    st.notes.push_back(n);
  if (!p.error.empty())
    st.notes.push_back("parent: " + p.error);
  // What happened to the namespace owner under this daemon, with the fix.
  for (auto& i : p.incidents)
    st.notes.push_back("parent incident " + i);
}

} // namespace

caf::result<daemon_status> daemon_status_of(pointer self, const std::string& user) {
  auto& o = self->state.opts;
  auto& peers = self->state.peers;
  auto fan = std::make_shared<status_fan_in>();
  auto& st = fan->st;
  st.pid = ::getpid();
  st.version = HAL9000_VERSION;
  st.wire_version = wire_version;
  st.uptime_s = std::chrono::duration_cast<std::chrono::seconds>(
                  std::chrono::steady_clock::now() - self->state.started).count();
  st.home = o.cfg.home;
  if (runs_in_container(o.cfg)) {
    auto po = parent_options_from(o.cfg);
    st.container = daemon_container_name(o.cfg.parent_prefix);
    st.mode = "container (hal9000d in " + daemon_container_name(o.cfg.parent_prefix)
              + ", HAL9000_HOME " + o.cfg.host_home + " on the host"
              + (o.cfg.manage_parent ? ", workers join " + parent_name(po) : std::string{})
              + ")";
  } else {
    st.mode = "host process";
  }
  st.docker_host = o.cfg.docker_host;
  st.settings = daemon_env(o.cfg);
  st.parent_state = "unknown";
  st.chroma_state = "unknown";
  st.min_warm = o.cfg.min_warm_workers;
  st.max_warm = o.cfg.max_warm_workers;
  st.listen = o.listen;
  st.tls = o.tls;
  st.notes = o.notes;
  st.user = user;
  st.volumes = o.volumes;
  fan->rp = self->make_response_promise<daemon_status>();
  auto timeout = o.peer_timeout;
  fan->pending = 1;  // released at the end: no delivery while asking
  if (!peers.docker)
    st.docker_error = "no docker actor";
  if (peers.docker) {
    ++fan->pending;
    self->request(peers.docker, timeout, docker::version_req{})
      .then(
        [fan](docker::version_info& v) {
          fan->st.docker_reachable = true;
          fan->st.docker_version = v.version;
          fan->done();
        },
        [fan](caf::error& err) {
          fan->st.docker_error = error_message(err);
          fan->done();
        });
  }
  if (peers.pool) {
    ++fan->pending;
    self->request(peers.pool, timeout, status_atom::value)
      .then(
        [fan](pool_status& ps) {
          auto& st = fan->st;
          st.pool_running = ps.running;
          st.warm = ps.warm;
          st.creating = ps.creating;
          st.busy = ps.busy + ps.claimed;
          st.min_warm = ps.min;
          st.max_warm = ps.max;
          st.late_bind = ps.late_bind ? "warm (late binding: " + ps.late_bind_reason + ")"
                                      : "cold: " + ps.late_bind_reason;
          // Whose files a session writes (runtime/session_mounts.hpp).
          st.notes.push_back(
            ps.idmap ? std::string{"ownership: id-mapped mounts: a session acts as its user "
                                   "(root's: as the project's owner), warm and cold"}
                     : "ownership: id-mapped mounts unavailable (" + ps.idmap_reason
                         + "): projects are bound as they are, sessions write as the "
                           "worker image's uid, and only root or that uid may start one");
          for (auto& w : ps.warnings)
            st.notes.push_back("pool: " + w);
          fan->done();
        },
        [fan](caf::error& err) {
          fan->st.notes.push_back("pool: " + error_message(err));
          fan->done();
        });
  }
  if (peers.store) {
    ++fan->pending;
    self->request(peers.store, timeout, list_atom::value)
      .then(
        [fan](std::vector<session_record>& all) {
          for (auto& s : all) {
            if (!is_live(s.state))
              continue;
            ++fan->st.sessions;
            // Never healthy when cut off: say so, with the fix.
            if (s.state == session_state::network_lost)
              fan->st.notes.push_back("session " + s.name + ": " + to_string(s.state)
                                      + (s.state_reason.empty() ? "" : " (" + s.state_reason + ")"));
          }
          fan->done();
        },
        [fan](caf::error& err) {
          fan->st.notes.push_back("sessions: " + error_message(err));
          fan->done();
        });
  }
  if (peers.sandbox) {
    ++fan->pending;
    self->request(peers.sandbox, timeout, status_atom::value)
      .then(
        [fan](sandbox_status& sb) {
          fan->st.sandbox = std::move(sb);
          fan->done();
        },
        [fan](caf::error& err) {
          fan->st.notes.push_back("sandbox: " + error_message(err));
          fan->done();
        });
  }
  if (peers.parent) {
    ++fan->pending;
    self->request(peers.parent, timeout, status_atom::value)
      .then(
        [fan](parent_status& p) {
          add_parent_status(fan->st, p);
          fan->done();
        },
        [fan](caf::error& err) {
          fan->st.notes.push_back("parent keeper: " + error_message(err));
          fan->done();
        });
  }
  if (peers.chroma) {
    ++fan->pending;
    self->request(peers.chroma, timeout, status_atom::value)
      .then(
        [fan](chroma::status& cs) {
          fan->st.chroma_state = chroma::to_string(cs.state);
          fan->st.chroma_latency_ms = cs.latency_ms;
          if (!cs.last_error.empty() && cs.state != chroma::health::healthy)
            fan->st.notes.push_back("chromadb: " + cs.last_error);
          fan->done();
        },
        [fan](caf::error& err) {
          fan->st.notes.push_back("chromadb monitor: " + error_message(err));
          fan->done();
        });
  }
  fan->done();
  return fan->rp;
}

} // namespace bridge

cli_bridge_actor spawn_cli_bridge(caf::actor_system& sys, bridge_options opts,
                                  bridge_peers peers) {
  using namespace bridge;
  auto fn = [](pointer self, bridge_options opts,
               bridge_peers peers) -> cli_bridge_actor::behavior_type {
    self->state.opts = std::move(opts);
    self->state.peers = std::move(peers);
    if (!self->state.opts.tokens)
      self->state.opts.tokens = std::make_shared<user_tokens>(self->state.opts.token);
    return {
      [=](daemon_status_req& req) -> caf::result<daemon_status> {
        std::string user;
        if (auto err = authenticate(self, req.who, "daemon status", &user))
          return err;
        return daemon_status_of(self, user);
      },
      [=](daemon_stop_req& req) -> caf::result<daemon_stop_reply> {
        std::string user;
        if (auto err = authenticate(self, req.who, "daemon stop", &user))
          return err;
        // Nothing winds down for anyone but root: refused, everything runs on.
        if (auto err = root_only(user, req.who, req.all ? "stop the daemon (--all)"
                                                         : "stop the daemon"))
          return err;
        audit("daemon_stop", {{"who", user + " (" + req.who.client + ")"}, {"all", req.all},
                              {"result", "ok"}});
        daemon_stop_reply reply;
        reply.done.push_back("control endpoint closed");
        if (req.all)
          reply.done.push_back("sessions and the parent stopped");
        else
          reply.done.push_back(
            "running sessions and the parent left running (adopted at the next start)");
        // Deliver first: the reply is on its way before the process winds down.
        auto rp = self->make_response_promise<daemon_stop_reply>();
        rp.deliver(std::move(reply));
        if (self->state.opts.on_stop)
          self->state.opts.on_stop(req.all);
        return rp;
      },
      [=](pool_op_req& req) -> caf::result<pool_op_reply> {
        std::string user;
        if (auto err = authenticate(self, req.who, "pool", &user))
          return err;
        return pool_op(self, req, user);
      },
      [=](pool_scale_req& req) -> caf::result<pool_op_reply> {
        std::string user;
        if (auto err = authenticate(self, req.who, "pool scale", &user))
          return err;
        if (auto err = root_only(user, req.who, "scale the pool"))
          return err;
        return pool_scale(self, req, user);
      },
      [=](session_start_req& req) -> caf::result<session_reply> {
        std::string user;
        if (auto err = authenticate(self, req.who, "session start", &user))
          return err;
        return start_session(self, req, user);
      },
      [=](user_setup_req& req) -> caf::result<user_setup_reply> {
        std::string user;
        if (auto err = authenticate(self, req.who, "setup", &user))
          return err;
        return user_setup(self, req, user);
      },
      [=](sessions_req& req) -> caf::result<std::vector<session_record>> {
        std::string user;
        if (auto err = authenticate(self, req.who, "sessions", &user))
          return err;
        return sessions_list(self, req, user);
      },
      [=](session_req& req) -> caf::result<session_reply> {
        std::string user;
        if (auto err = authenticate(self, req.who, req.stop ? "session stop" : "attach", &user))
          return err;
        return session_attach_or_stop(self, req, user);
      },
      [=](terminal_open_req& req) -> caf::result<terminal_open_reply> {
        // Thin: who asks, then the terminal service decides the rest.
        std::string user;
        if (auto err = authenticate(self, req.who, "terminal", &user))
          return err;
        auto terminals = self->state.peers.terminals;
        if (!terminals)
          return missing("a terminal relay");
        req.who.token.clear();
        auto rp = self->make_response_promise<terminal_open_reply>();
        self->request(terminals, self->state.opts.terminal_budget,
                      terminal_authed_req{user, std::move(req)})
          .then(
            [rp, user](terminal_open_reply& r) mutable {
              r.user = user;
              rp.deliver(std::move(r));
            },
            [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
        return rp;
      },
      [=](session_restart_req& req) -> caf::result<session_reply> {
        std::string user;
        if (auto err = authenticate(self, req.who, "session restart", &user))
          return err;
        return session_restart(self, req, user);
      },
      [=](mcp_check_req& req) -> caf::result<mcp_report> {
        std::string user;
        if (auto err = authenticate(self, req.who, "doctor", &user))
          return err;
        return mcp_check(self, req, user);
      },
      [=](events_subscribe_req& req) -> caf::result<events_subscribe_reply> {
        if (auto err = authenticate(self, req.who, "events"))
          return err;
        auto hub = self->state.peers.events;
        if (!hub)
          return missing("an event hub");
        req.who.token.clear();  // the hub needs no token
        auto rp = self->make_response_promise<events_subscribe_reply>();
        self->request(hub, self->state.opts.peer_timeout, std::move(req))
          .then([rp](events_subscribe_reply& r) mutable { rp.deliver(std::move(r)); },
                [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
        return rp;
      },
    };
  };
  return sys.spawn(fn, std::move(opts), std::move(peers));
}

} // namespace hal9000
