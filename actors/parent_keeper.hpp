#pragma once
// Spawns the parent keeper (interface: messages/parent.hpp; options and what
// it creates: actors/parent_spec.hpp).

#include <caf/fwd.hpp>

#include "actors/parent_spec.hpp"
#include "messages/docker.hpp"
#include "messages/parent.hpp"

namespace hal9000 {

/// Spawns the keeper. It talks to Docker only through `docker` and quits when
/// `docker` does. It creates nothing until asked (ensure_atom). It also
/// spawns a chroma::spawn_docker_restarter for <prefix>-chromadb, used by its
/// restart_req handler; a parent_actor converts to chroma::restarter_actor.
parent_actor spawn_parent_keeper(caf::actor_system& sys, parent_options opts,
                                 docker::docker_actor docker);

} // namespace hal9000
