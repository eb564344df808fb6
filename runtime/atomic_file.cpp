#include "runtime/atomic_file.hpp"

#include <cerrno>
#include <cstring>
#include <ctime>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "messages/error.hpp"

namespace hal9000 {

namespace {

std::string dir_of(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos)
    return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string base_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

caf::error sys_error(const std::string& what, const std::string& path,
                     const char* call, int err) {
  return make_error(errc::internal, "cannot " + what + " " + path + ": " + call
                                      + ": " + std::strerror(err));
}

// Closes an fd on every path out of a function.
struct fd_guard {
  int fd;
  ~fd_guard() {
    if (fd >= 0)
      ::close(fd);
  }
};

} // namespace

namespace {

// own_new_files_under's setting: written once before any thread uses it.
struct new_file_owner {
  std::string dir;  // "" = off
  uid_t uid = 0;
  gid_t gid = 0;
};
new_file_owner& owner_setting() {
  static new_file_owner o;
  return o;
}

// Hands a file or directory just made under the configured directory to its
// owner (best effort: the caller's explicit chown, if any, comes after).
void give_to_owner(const std::string& path, int fd) {
  auto& o = owner_setting();
  if (o.dir.empty() || path.rfind(o.dir + "/", 0) != 0)
    return;
  if (fd >= 0)
    (void) ::fchown(fd, o.uid, o.gid);
  else
    (void) ::lchown(path.c_str(), o.uid, o.gid);
}

} // namespace

void own_new_files_under(const std::string& dir, uid_t uid, gid_t gid) {
  owner_setting() = new_file_owner{dir, uid, gid};
}

caf::error sync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return sys_error("sync directory", dir, "open", errno);
  fd_guard guard{fd};
  if (::fsync(fd) != 0)
    return sys_error("sync directory", dir, "fsync", errno);
  return caf::none;
}

caf::error write_file_atomic(const std::string& path, const std::string& content,
                             mode_t mode, bool durable) {
  auto dir = dir_of(path);
  auto tmp = dir + "/." + base_of(path) + ".tmp.XXXXXX";
  std::vector<char> tmpl(tmp.begin(), tmp.end());
  tmpl.push_back('\0');
  int fd = ::mkstemp(tmpl.data());
  if (fd < 0)
    return sys_error("write", path, "mkstemp", errno);
  tmp = tmpl.data();
  auto fail = [&](const char* call) {
    auto err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return sys_error("write", path, call, err);
  };
  if (::fchmod(fd, mode) != 0)
    return fail("fchmod");
  give_to_owner(path, fd);
  const char* p = content.data();
  size_t left = content.size();
  while (left > 0) {
    auto n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return fail("write");
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (durable && ::fsync(fd) != 0)
    return fail("fsync");
  if (::close(fd) != 0) {
    auto err = errno;
    ::unlink(tmp.c_str());
    return sys_error("write", path, "close", err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    auto err = errno;
    ::unlink(tmp.c_str());
    return sys_error("write", path, "rename", err);
  }
  return durable ? sync_dir(dir) : caf::error{};
}

caf::expected<std::string> read_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT)
      return make_error(errc::not_found, "no such file: " + path);
    return sys_error("read", path, "open", errno);
  }
  fd_guard guard{fd};
  std::string out;
  char buf[8192];
  for (;;) {
    auto n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return sys_error("read", path, "read", errno);
    if (n == 0)
      return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

caf::error make_dirs(const std::string& dir, mode_t mode) {
  if (dir.empty())
    return make_error(errc::invalid_argument, "cannot create a directory with an empty path");
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode))
      return caf::none;
    return make_error(errc::conflict, "not a directory: " + dir);
  }
  auto parent = dir_of(dir);
  if (parent != dir)
    if (auto err = make_dirs(parent, mode))
      return err;
  if (::mkdir(dir.c_str(), mode) != 0) {
    if (errno != EEXIST)
      return sys_error("create directory", dir, "mkdir", errno);
    return caf::none;
  }
  give_to_owner(dir, -1);
  return caf::none;
}

caf::expected<std::string> move_aside(const std::string& path,
                                      const std::string& dir) {
  if (auto err = make_dirs(dir, 0700))
    return err;
  char stamp[32];
  auto now = std::time(nullptr);
  struct tm utc;
  ::gmtime_r(&now, &utc);
  std::strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &utc);
  auto target = dir + "/" + base_of(path) + "." + stamp;
  // link(2) fails on an existing name, so no earlier file is ever replaced;
  // unlink afterwards completes the move. Same filesystem: the dir is a
  // subdirectory of the file's own in our layout.
  for (int n = 1; ::link(path.c_str(), target.c_str()) != 0; ++n) {
    if (errno != EEXIST || n > 1000)
      return sys_error("move aside", path, "link", errno);
    target = dir + "/" + base_of(path) + "." + stamp + "." + std::to_string(n);
  }
  if (::unlink(path.c_str()) != 0)
    return sys_error("move aside", path, "unlink", errno);
  if (auto err = sync_dir(dir))
    return err;
  if (auto err = sync_dir(dir_of(path)))
    return err;
  return target;
}

caf::error remove_file(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    return sys_error("remove", path, "unlink", errno);
  return caf::none;
}

} // namespace hal9000
