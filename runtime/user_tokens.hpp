#pragma once
// Who asks the daemon: each token maps to one user id (runtime/users.hpp).
// The daemon cannot see a TCP peer's uid through CAF, so it issues tokens
// that only their user can read, and the token a request carries says who
// asked. Nothing a client claims about itself (credentials::client) counts.
//
//   HAL9000_HOME/auth/token                  0600 root        -> "root"
//   HAL9000_HOME/auth/users/                 0711 root
//   HAL9000_HOME/auth/users/<uid>/token      0400, owned by uid -> "uid-<uid>"
//   HAL9000_HOME/tls/clients/<name>/token    0600 (copied with the bundle)
//                                                             -> "tls-<name>"
// A local user's claudy reads auth/users/<its uid>/token; that needs
// HAL9000_HOME and auth/ to be traversable (0711), which issue_user_token
// makes them. Bundles made before per-client tokens carry root's token and
// keep meaning root.

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <caf/expected.hpp>
#include <sys/types.h>

namespace hal9000 {

std::string user_token_path(const std::string& home, uid_t uid);

/// The token of uid, created when missing (and auth/users/<uid>/, 0700, owned
/// by uid). Makes HAL9000_HOME and auth/ traversable (0711) for it.
caf::expected<std::string> issue_user_token(const std::string& home, uid_t uid);

/// Hands a local user its token where claudy looks by default, so the user
/// needs no variable: HOME/.hal9000/auth/token (0600) and HOME/.hal9000/
/// config.json with HAL9000_PORT = port (other keys there are kept). Written
/// as that user (idmap::run_as): nothing lands where the user could not
/// write, a symlink planted there leads nowhere the user cannot reach.
/// Replies the token file's path; invalid_argument when the user has no
/// home directory.
caf::expected<std::string> deliver_user_token(uid_t uid, const std::string& token,
                                              uint16_t port);

/// Token -> user id, shared by the bridge (lookups) and whoever issues
/// tokens while the daemon runs. Thread-safe; lookups compare against every
/// token in constant time per token, so timing says nothing about which one
/// nearly matched.
class user_tokens {
public:
  /// root_token means "root".
  explicit user_tokens(std::string root_token);

  /// Adds every token under home (layout above); unreadable or malformed
  /// files are skipped and named in the returned notes.
  std::vector<std::string> load(const std::string& home);

  /// Adds or replaces one token.
  void add(const std::string& token, const std::string& user_id);

  /// The user of token, or "" when it is nobody's.
  std::string user_of(const std::string& token) const;

  size_t size() const;

private:
  mutable std::mutex mtx_;
  std::vector<std::pair<std::string, std::string>> entries_;  // token, user
};

using user_tokens_ptr = std::shared_ptr<user_tokens>;

} // namespace hal9000
