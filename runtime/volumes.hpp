#pragma once
// The shared volumes when no parent keeper runs (HAL9000_MANAGE_PARENT=false):
// the runtime makes Memory Bank and plugins exist itself, once, at start, so
// `claudy daemon status` can say exists / created / missing either way.

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "messages/docker.hpp"
#include "messages/parent.hpp"

namespace hal9000 {

/// Inspects each volume and creates the missing ones with labels. Blocks the
/// calling thread (start-up, never an actor); never fails: a volume that
/// cannot be made is reported missing with the engine's reason.
std::vector<volume_report> ensure_volumes_blocking(caf::actor_system& sys,
                                                   const docker::docker_actor& docker,
                                                   const std::vector<std::string>& names,
                                                   const std::map<std::string, std::string>& labels,
                                                   std::chrono::milliseconds timeout);

} // namespace hal9000
