#include "runtime/worker_image.hpp"

#include <chrono>
#include <memory>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "messages/error.hpp"
#include "runtime/logging.hpp"
#include "runtime/pull_meter.hpp"

namespace hal9000 {

namespace {

using namespace std::chrono_literals;

caf::error ask_present(caf::scoped_actor& self, const docker::docker_actor& docker,
                       const std::string& image) {
  caf::error result;
  self->request(docker, 10s, docker::image_inspect_req{image})
    .receive([](docker::image_info&) {}, [&](caf::error& err) { result = err; });
  return result;
}

caf::error ask_pull(caf::scoped_actor& self, const docker::docker_actor& docker,
                    const std::string& image) {
  caf::error result;
  log()->info("pulling worker image {}", image);
  auto sink = spawn_pull_logger(self->home_system(), image);
  self->request(docker, 10min, docker::image_pull_req{image, sink})
    .receive([&](docker::image_info&) { log()->info("pulled worker image {}", image); },
             [&](caf::error& err) { result = err; });
  return result;
}

struct pull_logger_state {
  std::unique_ptr<pull_meter> meter;
  static constexpr const char* name = "hal9000.pull_logger";
};

} // namespace

docker::progress_sink_actor spawn_pull_logger(caf::actor_system& sys, std::string image) {
  using sink = docker::progress_sink_actor;
  return sys.spawn([image](sink::stateful_pointer<pull_logger_state> self)
                     -> sink::behavior_type {
    self->state.meter = std::make_unique<pull_meter>(image);
    return {
      [self](docker::pull_progress& p) {
        auto& m = *self->state.meter;
        if (m.add(p, pull_meter::clock::now()))
          log()->info("{}", m.line());
      },
    };
  });
}

caf::expected<worker_image_choice>
choose_worker_image(caf::actor_system& sys, const docker::docker_actor& docker,
                    const config& cfg) {
  worker_image_choice choice;
  choice.image = cfg.worker_image;
  caf::scoped_actor self{sys};
  // An image inspect is cheap: done even with SKIP_IMAGE_PULL, which skips
  // only the pull.
  auto err = ask_present(self, docker, cfg.worker_image);
  if (!err)
    return choice;
  if (error_code(err) != errc::not_found)
    return err;  // the engine itself is the problem: say so
  std::string why;
  if (cfg.skip_image_pull) {
    why = "SKIP_IMAGE_PULL: not pulled";
  } else if (cfg.lazy_image_pull) {
    choice.pull_in_background = true;
    choice.notes.push_back("LAZY_IMAGE_PULL: pulling " + cfg.worker_image
                           + " in the background; the pool waits for it");
    return choice;
  } else {
    auto pull_err = ask_pull(self, docker, cfg.worker_image);
    if (!pull_err)
      return choice;
    why = "cannot be pulled: " + error_message(pull_err);
  }
  if (cfg.worker_image != cfg.worker_image_fallback
      && !ask_present(self, docker, cfg.worker_image_fallback)) {
    choice.image = cfg.worker_image_fallback;
    choice.notes.push_back("worker image " + cfg.worker_image + " is not present (" + why
                           + "); using " + cfg.worker_image_fallback);
    return choice;
  }
  return make_error(errc::not_found,
                    "worker image " + cfg.worker_image + " is not present (" + why + "), and "
                      + cfg.worker_image_fallback
                      + " does not exist: build it with scripts/build-images worker");
}

} // namespace hal9000
