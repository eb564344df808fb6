// A CAF application of its own that embeds the hal9000 runtime: it spawns the
// runtime's actors into its own actor system, claims a worker for a project,
// runs a command in it through the docker actor, and shuts everything down.
//   embed_example PROJECT_DIR [IMAGE]
// The configuration is built in code; nothing is read from argv but the
// project and the image.

#include <chrono>
#include <iostream>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>

#include "messages/error.hpp"
#include "messages/wire.hpp"
#include "daemon/runtime.hpp"

using namespace std::chrono_literals;

// The application's own configuration: it only has to register hal9000's
// message types next to its own.
struct app_config : caf::actor_system_config {
  app_config() {
    hal9000::register_types(*this);
    set("scheduler.max-threads", 2);
  }
};

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: embed_example PROJECT_DIR [IMAGE]\n";
    return 2;
  }
  app_config cfg;
  caf::actor_system sys{cfg};

  hal9000::config hc;
  hc.home = "/tmp/hal9000-embed-example";
  hc.worker_image = argc > 2 ? argv[2] : "hal9000/worker:local";
  hc.worker_command = "sleep 100000";
  hc.skip_image_pull = true;
  hc.manage_parent = false;
  hc.daemon_id = "embed-example";
  hc.allowed_roots = {"/tmp", "/home", "/root", "/workspace"};
  hal9000::runtime_options ro;
  ro.with_bridge = false;
  ro.with_chroma_monitor = false;
  auto rt = hal9000::spawn_runtime(sys, hc, ro);
  if (!rt) {
    std::cerr << "cannot start the runtime: " << hal9000::error_message(rt.error()) << "\n";
    return 1;
  }
  int rc = 0;
  {
    caf::scoped_actor self{sys};
    hal9000::claim_request req;
    req.session_name = "embed-example";
    req.project_dir = argv[1];
    self->request(rt->pool, 60s, hal9000::claim_atom::value, req)
      .receive(
        [&](hal9000::claim_reply& c) {
          std::cout << "claimed " << c.container_id.substr(0, 12) << " (" << to_string(c.served)
                    << ", " << c.latency_us / 1000.0 << " ms)\n";
          hal9000::docker::exec_req ex;
          ex.id = c.container_id;
          ex.cmd = {"ls", "/workspace"};
          self->request(rt->docker, 30s, ex)
            .receive(
              [&](hal9000::docker::exec_result& r) {
                std::cout << "ls /workspace:\n" << r.out;
                rc = static_cast<int>(r.exit_code);
              },
              [&](caf::error& err) {
                std::cerr << "exec: " << hal9000::error_message(err) << "\n";
                rc = 1;
              });
          self->request(rt->pool, 60s, hal9000::release_atom::value, req.session_name,
                        std::string{"example done"})
            .receive([](hal9000::worker_status&) {}, [](caf::error&) {});
        },
        [&](caf::error& err) {
          std::cerr << "claim: " << hal9000::error_message(err) << "\n";
          rc = 1;
        });
  }
  hal9000::shutdown_runtime(sys, *rt, false);
  return rc;
}
