#pragma once
// Validation of what users hand us before any file or Docker use: session and
// worker names, and project paths that will be mounted into a container.
//
// Contract of valid_name: a valid name is safe as a single path component
// (no '/', never "." or "..", never empty, at most 63 bytes) and is accepted by
// Docker as a container name.

#include <cstdint>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

namespace hal9000 {

/// Docker's rule: [a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}. none when valid, else
/// invalid_argument naming the name and what is wrong with it.
caf::error valid_name(const std::string& name);

/// The same rule as a predicate.
bool is_valid_name(const std::string& name);

/// The roots projects may live under when HAL9000_ALLOWED_ROOTS is unset:
/// the home directories (/home, /root and $HOME), /tmp and /workspace.
std::vector<std::string> default_allowed_roots();

/// Checks a project path where the daemon runs and returns its realpath,
/// which is what gets mounted. Symlinks and ".." are resolved first, then the
/// result must be an existing directory, not a sensitive path, and inside one
/// of allowed_roots (empty: default_allowed_roots(); roots that do not exist
/// are ignored). Sensitive: "/", /etc, /proc, /sys, /dev, /boot, /run,
/// /var/run and anything inside them, the Docker socket and its parents,
/// hal9000_home, anything inside it and its parents. All errors are
/// invalid_argument:
///   "project path does not exist: X"
///   "not a directory: X"
///   "X resolves to /etc, a sensitive path"
///   "X is outside the allowed roots (/home, /tmp)"
caf::expected<std::string>
validate_project_path(const std::string& path,
                      const std::vector<std::string>& allowed_roots,
                      const std::string& hal9000_home,
                      const std::string& docker_socket = "/var/run/docker.sock");

/// The default session name of a project: its basename cut down to the name
/// rule, "-", and 8 hex digits of FNV-1a of the full path, so two projects
/// with the same basename differ. Always a valid name ("session-<hash>" when
/// nothing of the basename survives).
std::string default_session_name(const std::string& project_realpath);

/// 32-bit FNV-1a, stable across runs and machines.
uint32_t fnv1a_32(const std::string& text);

} // namespace hal9000
