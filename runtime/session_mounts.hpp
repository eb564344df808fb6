#pragma once
// What a claim mounts into a worker's slot (runtime/late_bind.hpp) so that
// the session is its user's own: the project, id-mapped and recursive, at
// the slot's workspace and at the project's own path (project_workdir); the
// user's Claude home and secrets, id-mapped too. Blocking (mount(2),
// clone(2), NSS, a thread per non-root user): call it from a detached actor.
//
// Whose ids (claim_request::uid/gid): a uid >= 0 is the asking user (never
// root): the project is opened as that user, so what they cannot reach on
// the host is refused (invalid_argument naming the path). uid -1 (root asked):
// the project directory's owner and group on disk.
//
// Fallback, when id-mapped mounts do not work (daemon-wide: idmap false, or
// for the project's filesystem): a plain recursive bind, files keep their
// host owners and the session writes as the worker image's uid. Only root's
// requests, or a user whose uid is the image's, get it; anyone else is
// refused (invalid_argument), since their session would act as another uid.

#include <cstdint>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "runtime/late_bind.hpp"

namespace hal9000 {

struct session_mount_plan {
  std::string home;             // HAL9000_HOME
  std::string project_dir;      // a validated realpath
  int64_t uid = -1;             // claim_request::uid / gid
  int64_t gid = -1;
  std::string user_id;          // the token's user; "" or !bind_home: no Claude home
  bool bind_home = false;       // bind users/<user_id>/claude and secrets
  uint32_t worker_uid = 1000;   // the ids the image runs as
  uint32_t worker_gid = 1000;
  bool idmap = true;            // id-mapped mounts work here (idmap::probe)
  bool workdir = true;          // also bind the tree at projects/<k> (warm slots)
};

/// Mounts what plan says into slot; replies warnings (a fallback taken).
/// On error the caller unmounts the slot (late_bind::unmount_slot).
caf::expected<std::vector<std::string>> mount_session(const late_bind::slot_paths& slot,
                                                      const session_mount_plan& plan);

} // namespace hal9000
