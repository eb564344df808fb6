#include "cli/daemon.hpp"

#include <iostream>

#include <CLI/CLI.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/docker/docker_actor.hpp"
#include "messages/error.hpp"
#include "messages/wire.hpp"
#include "runtime/config.hpp"

namespace hal9000::cli {

namespace {

struct daemon_config : caf::actor_system_config {
  daemon_config() {
    register_types(*this);
    set("scheduler.max-threads", 2);
    set("scheduler.policy", caf::atom("sharing"));
  }
};

// `hal9000d ping`: the engine's version through the daemon's own docker actor.
int ping(const config& cfg) {
  daemon_config sys_cfg;
  caf::actor_system sys{sys_cfg};
  auto docker = docker::spawn_docker(sys, docker::options_from(cfg));
  int rc = 0;
  {
    caf::scoped_actor self{sys};
    self->request(docker, std::chrono::seconds(10), docker::version_req{})
      .receive(
        [&](docker::version_info& v) {
          std::cout << "Docker engine " << v.version << " (API " << v.negotiated
                    << ") at " << cfg.docker_host << ": reachable\n";
        },
        [&](caf::error& err) {
          std::cerr << "hal9000d: " << error_message(err) << "\n";
          rc = 3;
        });
    self->send_exit(docker, caf::exit_reason::user_shutdown);
  }
  return rc;
}

} // namespace

int daemon_main(int argc, char** argv) {
  CLI::App app{"hal9000d: the hal9000 daemon"};
  app.set_version_flag("--version", std::string{"hal9000d "} + HAL9000_VERSION
                                      + " (" + wire_version + ")");
  auto* ping_cmd = app.add_subcommand("ping", "Check the Docker engine through the daemon's docker actor");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  auto cfg = load_config();
  if (!cfg) {
    std::cerr << "hal9000d: " << error_message(cfg.error()) << "\n";
    return 2;
  }
  if (ping_cmd->parsed())
    return ping(*cfg);
  std::cout << app.help();
  return 0;
}

} // namespace hal9000::cli
