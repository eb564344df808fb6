#pragma once
// Id-mapped, recursive mounts (Linux >= 5.12; tmpfs inside a project needs
// >= 6.3) and running a small job as another user. Measured on this machine:
// shared/notes/idmapped-mounts.md.
//
// An id-mapped mount shows files that uid U (gid G) owns on disk as owned by
// the worker image's uid W (gid W'), and files the worker creates through it
// are written as U:G. Everything else on disk appears unmapped (nobody /
// nogroup, 65534): the worker gets the "other" permission bits there.
//
// Every call here is blocking (mount(2) family, clone(2), thread joins):
// detached actors or their own threads only, never a CAF scheduler thread.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <sys/types.h>

namespace hal9000::idmap {

/// One id mapping: on-disk uid/gid -> the uid/gid seen through the mount.
struct mapping {
  uint32_t disk_uid = 0;
  uint32_t disk_gid = 0;
  uint32_t seen_uid = 1000;
  uint32_t seen_gid = 1000;
};

/// A user namespace fd carrying m (uid_map "disk_uid seen_uid 1", gid_map
/// likewise), made once per mapping by a short-lived clone(CLONE_NEWUSER)
/// child (~1 ms) and cached for the process's lifetime (an open fd keeps
/// the namespace alive). Thread-safe. Never close the returned fd.
caf::expected<int> userns_for(const mapping& m);

/// Attributes of a mapped mount besides the mapping itself.
struct mount_flags {
  bool read_only = false;   // also nosuid, nodev, noexec
};

/// Clones the whole tree at (dir_fd, path) (open_tree OPEN_TREE_CLONE |
/// AT_RECURSIVE: submounts included), id-maps it with m (mount_setattr
/// MOUNT_ATTR_IDMAP, AT_RECURSIVE) and attaches it at target (move_mount).
/// dir_fd: an O_PATH/O_DIRECTORY fd with path "" (AT_EMPTY_PATH), or AT_FDCWD
/// with an absolute path. Three syscalls, tens of microseconds once the
/// namespace is cached. Errors: internal with errno text; `unsupported` is
/// set when the kernel or a filesystem in the tree cannot id-map (EINVAL,
/// ENOSYS, EPERM from mount_setattr), so a caller may fall back.
caf::error mount_mapped(int dir_fd, const std::string& path, const std::string& target,
                        const mapping& m, mount_flags flags = {},
                        bool* unsupported = nullptr);

/// The same recursive clone and attach without a mapping (the fallback).
caf::error mount_recursive(int dir_fd, const std::string& path, const std::string& target,
                           mount_flags flags = {});

/// Whether id-mapped mounts work for directories on the filesystem of dir
/// (it makes two scratch directories there, maps one onto the other,
/// checks the owner seen through it, and removes both). "" when they work,
/// else why not.
std::string probe(const std::string& dir);

/// A host user: uid, primary gid, supplementary groups.
struct identity {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<gid_t> groups;
  std::string login;  // "" when uid has no passwd entry
  std::string home;   // from passwd; "" when none
};

/// The identity of uid from the passwd and group databases; a uid with no
/// passwd entry gets gid = uid and no supplementary groups. Reads NSS: off
/// the scheduler.
identity identity_of(uint32_t uid);

/// Looks a login name or a decimal uid up; invalid_argument when unknown.
caf::expected<identity> lookup_user(const std::string& login_or_uid);

/// Runs job on a fresh thread whose real, effective and saved uid/gid and
/// supplementary groups are who's (raw per-thread syscalls: the rest of the
/// process keeps its ids), and joins it. What job can open, the user can.
/// ~50 us. internal when the ids cannot be switched.
caf::error run_as(const identity& who, const std::function<void()>& job);

/// Checks, as who, that dir (an absolute realpath) can be entered and read:
/// each component from "/" must be searchable, dir itself readable too.
/// none, or invalid_argument naming the first path that fails and why
/// ("cannot enter /home/bob: permission denied (mode 0700, owner uid 1002)").
caf::error check_access(const identity& who, const std::string& dir);

/// Opens dir (O_PATH | O_DIRECTORY) as who and checks it is readable and
/// searchable, so what gets mounted is what that user reaches at this
/// moment (no race with a path swapped after validation). The caller owns
/// the fd. Same errors as check_access.
caf::expected<int> open_dir_as(const identity& who, const std::string& dir);

} // namespace hal9000::idmap
