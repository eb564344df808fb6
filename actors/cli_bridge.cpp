#include "actors/cli_bridge.hpp"

#include <chrono>

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "messages/error.hpp"
#include "messages/wire.hpp"
#include "runtime/auth_token.hpp"
#include "runtime/logging.hpp"

namespace hal9000 {

namespace {

struct bridge_state {
  bridge_options opts;
  bridge_peers peers;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  static inline const char* name = "hal9000.cli_bridge";
};

using bridge_pointer = cli_bridge_actor::stateful_pointer<bridge_state>;

// Refused requests are answered with unauthenticated and audited.
caf::error check(bridge_pointer self, const credentials& who, const char* what) {
  if (!who.token.empty() && token_equals(who.token, self->state.opts.token))
    return caf::none;
  audit("refused", {{"request", what}, {"who", who.client},
                    {"result", "unauthenticated"}});
  log()->warn("refused {} from '{}': wrong or missing token", what, who.client);
  return make_error(errc::unauthenticated,
                    "authentication refused: wrong or missing control token");
}

daemon_status base_status(bridge_pointer self) {
  auto& o = self->state.opts;
  daemon_status st;
  st.pid = ::getpid();
  st.version = HAL9000_VERSION;
  st.wire_version = wire_version;
  st.uptime_s = std::chrono::duration_cast<std::chrono::seconds>(
                  std::chrono::steady_clock::now() - self->state.started).count();
  st.home = o.cfg.home;
  st.docker_host = o.cfg.docker_host;
  st.parent_state = "unknown";
  st.chroma_state = "unknown";
  st.min_warm = o.cfg.min_warm_workers;
  st.max_warm = o.cfg.max_warm_workers;
  st.listen = o.listen;
  st.tls = o.tls;
  return st;
}

// The parent's state, then volumes and the keeper's notes, in words.
void add_parent_status(daemon_status& st, const parent_status& p) {
  st.parent_state = to_string(p.parent);
  for (auto& v : p.volumes)
    st.notes.push_back("volume " + v.name + ": " + to_string(v.state)
                       + (v.error.empty() ? "" : " (" + v.error + ")"));
  if (p.chroma != container_state::running)
    st.notes.push_back(p.chroma_name + ": " + to_string(p.chroma));
  for (auto& n : p.notes)
    st.notes.push_back(n);
  if (!p.error.empty())
    st.notes.push_back("parent: " + p.error);
}

} // namespace

cli_bridge_actor spawn_cli_bridge(caf::actor_system& sys, bridge_options opts,
                                  bridge_peers peers) {
  auto fn = [](bridge_pointer self, bridge_options opts,
               bridge_peers peers) -> cli_bridge_actor::behavior_type {
    self->state.opts = std::move(opts);
    self->state.peers = std::move(peers);
    return {
      [=](daemon_status_req& req) -> caf::result<daemon_status> {
        if (auto err = check(self, req.who, "daemon status"))
          return err;
        auto rp = self->make_response_promise<daemon_status>();
        auto st = base_status(self);
        auto& docker = self->state.peers.docker;
        if (!docker) {
          st.docker_error = "no docker actor";
          rp.deliver(std::move(st));
          return rp;
        }
        auto timeout = self->state.opts.peer_timeout;
        // The parent keeper's view, when there is one, after the engine's.
        auto with_parent = [=](daemon_status st) mutable {
          auto& parent = self->state.peers.parent;
          if (!parent) {
            rp.deliver(std::move(st));
            return;
          }
          self->request(parent, timeout, status_atom::value)
            .then(
              [=](parent_status& p) mutable {
                add_parent_status(st, p);
                rp.deliver(std::move(st));
              },
              [=](caf::error& err) mutable {
                st.notes.push_back("parent keeper: " + error_message(err));
                rp.deliver(std::move(st));
              });
        };
        self->request(docker, timeout, docker::version_req{})
          .then(
            [=](docker::version_info& v) mutable {
              st.docker_reachable = true;
              st.docker_version = v.version;
              with_parent(std::move(st));
            },
            [=](caf::error& err) mutable {
              st.docker_error = error_message(err);
              with_parent(std::move(st));
            });
        return rp;
      },
      [=](daemon_stop_req& req) -> caf::result<daemon_stop_reply> {
        if (auto err = check(self, req.who, "daemon stop"))
          return err;
        audit("daemon_stop", {{"who", req.who.client}, {"all", req.all},
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
    };
  };
  return sys.spawn(fn, std::move(opts), std::move(peers));
}

} // namespace hal9000
