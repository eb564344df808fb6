#pragma once
// Per-user state under HAL9000_HOME (DESIGN §5). Who a user is comes from the
// token a request carries (runtime/user_tokens.hpp); this file only says where
// that user's files live and makes them.
//
// Layout (version 1):
//   HAL9000_HOME/users/                      0700 root
//   HAL9000_HOME/users/<user-id>/            0700 root
//   HAL9000_HOME/users/<user-id>/claude/     0700, owned by the user (root's:
//                                            root; uid-N: N) and id-mapped to
//                                            the worker's uid in a session
//                                            (runtime/session_mounts.hpp);
//                                            without id mapping, owned by the
//                                            worker's uid. Claude Code's home
//                                            (~/.claude), late-bound into each
//                                            session
//   HAL9000_HOME/users/<user-id>/secrets/    0700, same owner: bound read-only
//                                            at /run/secrets
//   .../secrets/anthropic_key                0400, same owner
//
// User ids: "root" (the token in auth/token), "uid-<n>" (a local user's token
// in auth/users/<n>/token), "tls-<name>" (a TLS client bundle's token). Each
// is a valid_name, so it is safe as one path component.

#include <string>

#include <caf/error.hpp>
#include <sys/types.h>

namespace hal9000 {

/// Where the key appears inside a session, and its file name.
constexpr const char* container_secrets_dir = "/run/secrets";
constexpr const char* anthropic_key_file = "anthropic_key";

struct user_paths {
  std::string root;     // HAL9000_HOME/users/<id>
  std::string claude;   // root/claude
  std::string secrets;  // root/secrets
  std::string key;      // secrets/anthropic_key
};

std::string users_dir(const std::string& home);

/// Paths of a user; id must be a valid_name (checked by ensure_user_dirs).
user_paths user_paths_for(const std::string& home, const std::string& id);

/// The user id of a local uid: "root" for 0, "uid-<n>" otherwise.
std::string local_user_id(uid_t uid);

/// The user id of a TLS client bundle: "tls-<name>".
std::string tls_user_id(const std::string& client_name);

/// Makes the user's directories (layout above) when missing; claude/ and
/// secrets/ are created owned by owner:group (the worker's user, so the
/// session can use them with every capability dropped). Existing directories
/// are left as they are. invalid_argument for an id that is not a valid_name.
/// A few mkdir(2): microseconds when they exist.
caf::error ensure_user_dirs(const user_paths& p, const std::string& id,
                            uid_t owner, gid_t group);

/// Makes path and everything below it owned by owner:group when path itself
/// is not (lchown, never following a symlink or leaving the filesystem): a
/// home made before id mapping, or since it was lost. One lstat(2) when it
/// already is.
caf::error ensure_tree_owner(const std::string& path, uid_t owner, gid_t group);

/// Stores the key atomically at p.key, mode 0400, owned by owner:group.
/// invalid_argument for an empty key or one with control characters.
caf::error store_anthropic_key(const user_paths& p, const std::string& key,
                               uid_t owner, gid_t group);

} // namespace hal9000
