#include "runtime/runtime.hpp"

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/cli_bridge.hpp"
#include "actors/docker/docker_actor.hpp"

namespace hal9000 {

caf::expected<runtime_handles>
spawn_runtime(caf::actor_system& sys, const config& cfg, runtime_options opts) {
  if (auto err = validate(cfg))
    return err;
  runtime_handles rt;
  rt.docker = docker::spawn_docker(sys, docker::options_from(cfg));
  if (opts.with_bridge) {
    bridge_options bo;
    bo.cfg = cfg;
    bo.token = opts.token;
    bo.listen = opts.listen;
    bo.tls = opts.tls;
    bo.on_stop = opts.on_stop;
    bridge_peers peers;
    peers.docker = rt.docker;
    rt.bridge = spawn_cli_bridge(sys, std::move(bo), std::move(peers));
  }
  return rt;
}

void shutdown_runtime(caf::actor_system& sys, runtime_handles& rt, bool) {
  caf::scoped_actor self{sys};
  auto stop = [&](const auto& handle) {
    if (!handle)
      return;
    self->monitor(handle);
    self->send_exit(handle, caf::exit_reason::user_shutdown);
    self->receive([](const caf::down_msg&) {});
  };
  // Front to back: nothing new comes in while the owners wind down.
  stop(rt.bridge);
  stop(rt.docker);
  rt = runtime_handles{};
}

} // namespace hal9000
