#pragma once
// Crash-safe files: a reader sees the old content or the new, never a mix.
// write_file_atomic writes a temporary file in the same directory, fsyncs it,
// renames it over the target and fsyncs the directory, so the rename itself
// survives a power cut. Temporary files are named ".<name>.tmp.XXXXXX";
// loaders skip (and may delete) names starting with '.'.

#include <string>

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <sys/types.h>

namespace hal9000 {

/// Replaces path with content, mode applied before the rename. Errors
/// (internal) name the path and the failing call: "cannot write /x/y.json:
/// rename: No space left on device". durable=false skips both fsyncs (each
/// 1-15 ms on this machine's ext4): still atomic against a crash of the
/// process (old or new content, never a mix), but a power cut may lose the
/// change; for files that only mirror what another source of truth holds.
caf::error write_file_atomic(const std::string& path, const std::string& content,
                             mode_t mode = 0600, bool durable = true);

/// The whole file. not_found when it does not exist, internal otherwise.
caf::expected<std::string> read_file(const std::string& path);

/// Creates dir and its missing parents (mkdir -p) with mode; an existing
/// directory is left as it is.
caf::error make_dirs(const std::string& dir, mode_t mode = 0700);

/// Moves path into dir (created 0700 when missing) as
/// "<file name>.<UTC yyyymmddTHHMMSSZ>[.N]", never overwriting an earlier
/// one; returns the new path. Used for files that fail to load: kept for a
/// human to inspect, out of the loader's way.
caf::expected<std::string> move_aside(const std::string& path,
                                      const std::string& dir);

/// From now on, files write_file_atomic writes and directories make_dirs
/// creates below dir are handed to uid:gid (before the rename; a caller that
/// chowns them to someone else afterwards still wins). For hal9000d in its
/// container started by a user who is not root (HAL9000_HOME_OWNER): that
/// user's own HAL9000_HOME stays theirs. Process-wide: call once at start,
/// before any other thread runs. "" switches it off.
void own_new_files_under(const std::string& dir, uid_t uid, gid_t gid);

/// Removes path; a missing file is not an error.
caf::error remove_file(const std::string& path);

/// fsyncs a directory so renames and unlinks in it are durable.
caf::error sync_dir(const std::string& dir);

} // namespace hal9000
