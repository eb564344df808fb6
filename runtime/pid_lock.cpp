#include "runtime/pid_lock.hpp"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "messages/error.hpp"
#include "runtime/atomic_file.hpp"

namespace hal9000 {

namespace {

caf::error sys_error(const std::string& path, const char* call, int err) {
  return make_error(errc::internal, "cannot lock pid file " + path + ": " + call
                                      + ": " + std::strerror(err));
}

// The pid text of a pid file, or 0 when it has none (empty, being written).
pid_t parse_pid(const std::string& text) {
  long n = 0;
  size_t i = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9' && n < 1000000000)
    n = n * 10 + (text[i++] - '0');
  return i > 0 ? static_cast<pid_t>(n) : 0;
}

std::string read_fd(int fd) {
  char buf[64];
  auto n = ::pread(fd, buf, sizeof(buf) - 1, 0);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string{};
}

// The pid in a pid file; not_found when missing, internal when unreadable.
caf::expected<pid_t> read_pid_file(const std::string& path) {
  auto text = read_file(path);
  if (!text)
    return std::move(text.error());
  auto pid = parse_pid(*text);
  if (pid <= 0)
    return make_error(errc::internal, "pid file " + path + " holds no pid");
  return pid;
}

} // namespace

caf::expected<pid_lock> pid_lock::acquire(const std::string& path,
                                          const std::string& what) {
  // A holder that releases unlinks the file: if we locked the old inode just
  // as it was unlinked, our lock guards nothing. Re-check the path's inode
  // after locking and start over when it changed (bounded: each round needs
  // another process to release in between).
  auto slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0)
    if (auto err = make_dirs(path.substr(0, slash), 0700))
      return err;
  for (int round = 0; round < 5; ++round) {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
      return sys_error(path, "open", errno);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      auto err = errno;
      auto holder = parse_pid(read_fd(fd));
      ::close(fd);
      if (err != EWOULDBLOCK)
        return sys_error(path, "flock", err);
      return make_error(errc::already_exists,
                        what + " is already running ("
                          + (holder > 0 ? "pid " + std::to_string(holder)
                                        : std::string{"pid unknown"})
                          + ")");
    }
    struct stat by_fd, by_path;
    if (::fstat(fd, &by_fd) != 0 || ::stat(path.c_str(), &by_path) != 0
        || by_fd.st_ino != by_path.st_ino || by_fd.st_dev != by_path.st_dev) {
      ::close(fd);
      continue;
    }
    auto text = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd, 0) != 0
        || ::pwrite(fd, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())
        || ::fsync(fd) != 0) {
      auto err = errno;
      ::close(fd);
      return sys_error(path, "write", err);
    }
    return pid_lock{fd, path};
  }
  return make_error(errc::conflict, "cannot lock pid file " + path
                                      + ": it kept being replaced by other processes");
}

pid_lock::pid_lock(pid_lock&& other) noexcept
  : fd_(other.fd_), path_(std::move(other.path_)) {
  other.fd_ = -1;
}

pid_lock& pid_lock::operator=(pid_lock&& other) noexcept {
  if (this != &other) {
    release();
    fd_ = other.fd_;
    path_ = std::move(other.path_);
    other.fd_ = -1;
  }
  return *this;
}

pid_lock::~pid_lock() {
  release();
}

void pid_lock::release() {
  if (fd_ < 0)
    return;
  // Unlink while still holding the lock: nobody can have taken it over.
  ::unlink(path_.c_str());
  ::close(fd_);
  fd_ = -1;
}

caf::expected<pid_t> lock_holder(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT)
      return make_error(errc::not_found, "no pid file: " + path);
    return sys_error(path, "open", errno);
  }
  if (::flock(fd, LOCK_SH | LOCK_NB) == 0) {
    ::close(fd);
    return make_error(errc::not_found, "no process holds " + path);
  }
  auto err = errno;
  auto pid = parse_pid(read_fd(fd));
  ::close(fd);
  if (err != EWOULDBLOCK)
    return sys_error(path, "flock", err);
  return pid;
}

caf::error write_pid_file(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0)
    if (auto err = make_dirs(path.substr(0, slash), 0700))
      return err;
  return write_file_atomic(path, std::to_string(::getpid()) + "\n", 0644);
}

caf::error remove_pid_file(const std::string& path) {
  auto pid = read_pid_file(path);
  if (!pid)
    return error_code(pid.error()) == errc::not_found ? caf::none : pid.error();
  if (*pid != ::getpid())
    return make_error(errc::conflict, "pid file " + path + " belongs to pid "
                                        + std::to_string(*pid) + ", not to us");
  if (auto err = remove_file(path))
    return err;
  return caf::none;
}

} // namespace hal9000
