#pragma once
// Which image the workers run, decided once at start as the reference says.
// WORKER_IMAGE is looked up first (an image inspect, always); when it is
// missing:
//   SKIP_IMAGE_PULL=true  it is not pulled ("skip worker image pull entirely");
//   LAZY_IMAGE_PULL=true  it is pulled in the background and the pool starts
//                         once it is there;
//   default               it is pulled now.
// When WORKER_IMAGE is neither present nor pulled, hal9000/worker:local is
// used if it exists (and the status says so); otherwise the error
// (not_found) names the recipe that builds it.

#include <string>
#include <vector>

#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "messages/docker.hpp"
#include "runtime/config.hpp"

namespace hal9000 {

struct worker_image_choice {
  std::string image;
  bool pull_in_background = false;  // LAZY_IMAGE_PULL and the image is missing
  std::vector<std::string> notes;   // for `claudy daemon status`
};

/// A sink for image_pull_req that logs the pull's progress (pull_meter.hpp):
/// a line when a layer finishes and at most one a second otherwise, so
/// `hal9000d run` shows bytes as they arrive. It goes away with its last handle.
docker::progress_sink_actor spawn_pull_logger(caf::actor_system& sys, std::string image);

/// Blocks the calling thread (never call it from an actor): asks the docker
/// actor and waits for its answers.
caf::expected<worker_image_choice>
choose_worker_image(caf::actor_system& sys, const docker::docker_actor& docker,
                    const config& cfg);

} // namespace hal9000
