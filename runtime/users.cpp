#include "runtime/users.hpp"

#include <cerrno>
#include <cstring>

#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "messages/error.hpp"
#include "runtime/atomic_file.hpp"
#include "runtime/validate.hpp"

namespace hal9000 {

namespace {

// mkdir with an exact mode; owned by owner:group when we create it.
caf::error make_dir(const std::string& path, mode_t mode, bool chown_it, uid_t owner,
                    gid_t group) {
  if (::mkdir(path.c_str(), mode) != 0) {
    if (errno == EEXIST)
      return caf::none;
    return make_error(errc::internal,
                      "cannot create " + path + ": " + std::strerror(errno));
  }
  ::chmod(path.c_str(), mode);  // umask-independent
  if (chown_it && ::chown(path.c_str(), owner, group) != 0)
    return make_error(errc::internal,
                      "cannot hand " + path + " to uid " + std::to_string(owner) + ": "
                        + std::strerror(errno));
  return caf::none;
}

} // namespace

std::string users_dir(const std::string& home) {
  return home + "/users";
}

user_paths user_paths_for(const std::string& home, const std::string& id) {
  user_paths p;
  p.root = users_dir(home) + "/" + id;
  p.claude = p.root + "/claude";
  p.secrets = p.root + "/secrets";
  p.key = p.secrets + "/" + anthropic_key_file;
  return p;
}

std::string local_user_id(uid_t uid) {
  return uid == 0 ? "root" : "uid-" + std::to_string(uid);
}

std::string tls_user_id(const std::string& client_name) {
  return "tls-" + client_name;
}

caf::error ensure_user_dirs(const user_paths& p, const std::string& id, uid_t owner,
                            gid_t group) {
  if (auto err = valid_name(id))
    return make_error(errc::invalid_argument, "invalid user id: " + error_message(err));
  auto users = p.root.substr(0, p.root.rfind('/'));
  if (auto err = make_dir(users, 0700, false, 0, 0))
    return err;
  if (auto err = make_dir(p.root, 0700, false, 0, 0))
    return err;
  if (auto err = make_dir(p.claude, 0700, true, owner, group))
    return err;
  return make_dir(p.secrets, 0700, true, owner, group);
}

namespace {

thread_local uid_t tree_uid = 0;
thread_local gid_t tree_gid = 0;
thread_local int tree_errno = 0;

int own_one(const char* path, const struct stat*, int, FTW*) {
  if (::lchown(path, tree_uid, tree_gid) != 0) {
    tree_errno = errno;
    return 1;
  }
  return 0;
}

} // namespace

caf::error ensure_tree_owner(const std::string& path, uid_t owner, gid_t group) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0)
    return make_error(errc::internal, "cannot stat " + path + ": " + std::strerror(errno));
  if (st.st_uid == owner && st.st_gid == group)
    return caf::none;
  tree_uid = owner;
  tree_gid = group;
  tree_errno = 0;
  if (::nftw(path.c_str(), own_one, 16, FTW_PHYS | FTW_MOUNT) != 0)
    return make_error(errc::internal, "cannot hand " + path + " to uid "
                                        + std::to_string(owner) + ": "
                                        + std::strerror(tree_errno ? tree_errno : errno));
  return caf::none;
}

caf::error store_anthropic_key(const user_paths& p, const std::string& key, uid_t owner,
                               gid_t group) {
  if (key.empty())
    return make_error(errc::invalid_argument, "the API key is empty");
  for (unsigned char c : key)
    if (c < 0x21 || c == 0x7f)
      return make_error(errc::invalid_argument,
                        "the API key contains spaces or control characters");
  // Written 0600 first: the rename must not leave a key readable by others,
  // and fchown needs the file. Then 0400 and the worker's ownership.
  if (auto err = write_file_atomic(p.key, key + "\n", 0600))
    return err;
  if (::chown(p.key.c_str(), owner, group) != 0 || ::chmod(p.key.c_str(), 0400) != 0)
    return make_error(errc::internal, "cannot set the owner and mode of " + p.key + ": "
                                        + std::strerror(errno));
  return caf::none;
}

} // namespace hal9000
