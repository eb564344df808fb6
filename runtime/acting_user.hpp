#pragma once
// Who a session acts as on its project, decided by the daemon from the
// token's user (runtime/user_tokens.hpp), never from what a client says:
//   "root"       the project directory's owner (uid -1 in the claim: the
//                worker reads it from the directory it mounts); root may use
//                any project validate_project_path accepts
//   "uid-N"      uid N with its primary gid (passwd; N when it has none)
//   "tls-NAME"   the local user HAL9000_TLS_USERS maps NAME to (a login or a
//                uid); a client not listed is refused (unauthenticated)
// A non-root user must be able to enter every directory on the way to the
// project and read and enter the project itself, checked as that user
// (idmap::check_access), before any worker is used.
//
// Blocking (realpath, NSS, a thread with the user's ids): call it from a
// detached actor.

#include <map>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "messages/worker.hpp"

namespace hal9000 {

struct acting_user_rules {
  std::vector<std::string> allowed_roots;       // HAL9000_ALLOWED_ROOTS
  std::string home;                             // HAL9000_HOME (never mounted)
  std::map<std::string, std::string> tls_users; // HAL9000_TLS_USERS
};

/// Validates req.project_dir (a path as the client gave it) and fills in
/// the realpath and the acting uid/gid. Errors: invalid_argument (exit 2)
/// naming the path and why; unauthenticated (exit 4) for a TLS client that
/// maps to no local user.
caf::expected<claim_request> resolve_acting_user(claim_request req,
                                                 const acting_user_rules& rules);

} // namespace hal9000
