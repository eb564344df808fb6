#pragma once
// Pid files.
//
// pid_lock is the daemon's HAL9000_HOME/hal9000d.pid: the file holds our pid
// and we hold an exclusive flock(2) on it for as long as the process lives.
// The lock, not the file's existence, says "running": the kernel drops it
// when the process dies, however it dies, so a file left by a kill -9 is
// stale and the next daemon takes it over.
//
// write_pid_file/remove_pid_file are plain pid files for things that have a
// lifetime inside the daemon (pool/pool-manager.pid while the pool runs).

#include <string>
#include <utility>

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <sys/types.h>

namespace hal9000 {

class pid_lock {
public:
  /// Locks path (created 0644; missing parent directories created 0700) and
  /// writes our pid into it. When another live process holds it:
  /// already_exists "<what> is already running (pid N)". A file nobody holds
  /// is taken over.
  static caf::expected<pid_lock> acquire(const std::string& path,
                                         const std::string& what = "hal9000d");

  pid_lock() = default;
  pid_lock(pid_lock&& other) noexcept;
  pid_lock& operator=(pid_lock&& other) noexcept;
  pid_lock(const pid_lock&) = delete;
  pid_lock& operator=(const pid_lock&) = delete;

  /// Releases on destruction too.
  ~pid_lock();

  /// Removes the file, then drops the lock. Idempotent.
  void release();

private:
  pid_lock(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}

  int fd_ = -1;
  std::string path_;
};

/// The pid of the live process holding the lock on path; not_found when the
/// file is missing or nobody holds it. Probes with a shared lock for a
/// moment, so call it from clients (claudy), not while racing a starting
/// daemon in a loop.
caf::expected<pid_t> lock_holder(const std::string& path);

/// Writes our pid (atomically, 0644) to path; missing parent directories
/// are created 0700.
caf::error write_pid_file(const std::string& path);

/// Removes path only if it holds our pid, so a process never removes a pid
/// file another one wrote. A missing file is fine.
caf::error remove_pid_file(const std::string& path);

} // namespace hal9000
