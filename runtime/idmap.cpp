#include "runtime/idmap.hpp"

#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>
#include <tuple>

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "messages/error.hpp"

namespace hal9000::idmap {

namespace {

caf::error sys_error(const std::string& what, int err) {
  return make_error(errc::internal, what + ": " + std::strerror(err));
}

bool write_text(const std::string& path, const std::string& text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  auto n = ::write(fd, text.data(), text.size());
  int err = errno;
  ::close(fd);
  errno = err;
  return n == static_cast<ssize_t>(text.size());
}

// The clone child: holds its new user namespace until the parent closes
// the pipe. Only async-signal-safe calls (the daemon has many threads).
// arg: the pipe's two ends; the child has a copy of both and closes the
// write end, so the parent's close is the last one and read sees EOF.
int hold_namespace(void* arg) {
  auto* fds = static_cast<int*>(arg);
  ::close(fds[1]);
  char c;
  while (::read(fds[0], &c, 1) < 0 && errno == EINTR) {
  }
  ::_exit(0);
}

caf::expected<int> make_userns(const mapping& m) {
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0)
    return sys_error("cannot create a pipe", errno);
  constexpr size_t stack_size = 64 * 1024;
  std::vector<char> stack(stack_size);
  pid_t pid = ::clone(hold_namespace, stack.data() + stack_size, CLONE_NEWUSER | SIGCHLD,
                      pipefd);
  if (pid < 0) {
    auto err = errno;
    ::close(pipefd[0]);
    ::close(pipefd[1]);
    return sys_error("cannot create a user namespace (clone CLONE_NEWUSER)", err);
  }
  ::close(pipefd[0]);
  auto proc = "/proc/" + std::to_string(pid);
  caf::error err;
  // A privileged writer (root in the parent namespace) may map any ids;
  // no setgroups "deny" is needed then.
  if (!write_text(proc + "/uid_map", std::to_string(m.disk_uid) + " "
                                        + std::to_string(m.seen_uid) + " 1\n"))
    err = sys_error("cannot write " + proc + "/uid_map", errno);
  else if (!write_text(proc + "/gid_map", std::to_string(m.disk_gid) + " "
                                             + std::to_string(m.seen_gid) + " 1\n"))
    err = sys_error("cannot write " + proc + "/gid_map", errno);
  int ns = -1;
  if (!err) {
    ns = ::open((proc + "/ns/user").c_str(), O_RDONLY | O_CLOEXEC);
    if (ns < 0)
      err = sys_error("cannot open " + proc + "/ns/user", errno);
  }
  ::close(pipefd[1]);  // the child exits; the fd keeps the namespace
  while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
  if (err)
    return err;
  return ns;
}

std::mutex cache_mtx;
std::map<std::tuple<uint32_t, uint32_t, uint32_t, uint32_t>, int> cache;

caf::error attach(int dir_fd, const std::string& path, const std::string& target,
                  const mount_attr* attr, bool* unsupported) {
  unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE;
  if (path.empty())
    flags |= AT_EMPTY_PATH;
  int tree = ::open_tree(dir_fd, path.c_str(), flags);
  auto shown = path.empty() ? "fd " + std::to_string(dir_fd) : path;
  if (tree < 0)
    return sys_error("cannot clone the mount tree of " + shown, errno);
  // A clone of a shared mount joins its peer group (most hosts' / is shared:
  // systemd). As a peer, an unmount under the clone at teardown would
  // propagate back and unmount the user's own mounts inside the project on
  // the host. A slave still receives the host's new mounts (a disk mounted
  // into the project later reaches the session) and sends nothing back.
  if (attr) {
    auto a = *attr;
    a.propagation = MS_SLAVE;
    if (::mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof(a)) != 0) {
      auto err = errno;
      ::close(tree);
      if (unsupported)
        *unsupported = err == EINVAL || err == ENOSYS || err == EPERM || err == EOPNOTSUPP;
      return sys_error((a.attr_set & MOUNT_ATTR_IDMAP ? "cannot id-map " : "cannot set the "
                                                                           "attributes of ")
                         + shown,
                       err);
    }
  }
  if (::move_mount(tree, "", AT_FDCWD, target.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0) {
    auto err = errno;
    ::close(tree);
    return sys_error("cannot attach " + shown + " at " + target, err);
  }
  ::close(tree);
  // Without attributes (mount_setattr may be missing: Linux < 5.12), by mount(2).
  if (!attr && ::mount(nullptr, target.c_str(), nullptr, MS_SLAVE | MS_REC, nullptr) != 0) {
    auto err = errno;
    ::umount2(target.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW);
    return sys_error("cannot make " + target + " a slave mount", err);
  }
  return caf::none;
}

constexpr uint64_t ro_attrs
  = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;

std::string octal_mode(mode_t m) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "%04o", static_cast<unsigned>(m & 07777));
  return buf;
}

// Why uid cannot enter or read `path` (stat as the daemon).
std::string why_not(const std::string& path, int err) {
  struct stat st;
  std::string out = std::strerror(err);
  if (err == EACCES && ::stat(path.c_str(), &st) == 0)
    out += " (mode " + octal_mode(st.st_mode) + ", owner uid " + std::to_string(st.st_uid)
           + ")";
  return out;
}

// As the user: the first path from "/" to dir that cannot be searched (or
// dir itself read); "" when all can. err receives errno.
std::string first_denied(const std::string& dir, int& err) {
  std::string cur;
  size_t pos = 1;
  while (true) {
    auto next = dir.find('/', pos);
    cur = dir.substr(0, next);
    if (cur.empty())
      cur = "/";
    int mode = next == std::string::npos ? (R_OK | X_OK) : X_OK;
    if (::access(cur.c_str(), mode) != 0) {
      err = errno;
      return cur;
    }
    if (next == std::string::npos)
      return "";
    pos = next + 1;
  }
}

} // namespace

caf::expected<int> userns_for(const mapping& m) {
  auto key = std::make_tuple(m.disk_uid, m.disk_gid, m.seen_uid, m.seen_gid);
  std::lock_guard<std::mutex> guard{cache_mtx};
  if (auto i = cache.find(key); i != cache.end())
    return i->second;
  auto ns = make_userns(m);
  if (!ns)
    return ns.error();
  cache.emplace(key, *ns);
  return *ns;
}

caf::error mount_mapped(int dir_fd, const std::string& path, const std::string& target,
                        const mapping& m, mount_flags flags, bool* unsupported) {
  if (unsupported)
    *unsupported = false;
  auto ns = userns_for(m);
  if (!ns) {
    if (unsupported)
      *unsupported = true;
    return ns.error();
  }
  mount_attr a{};
  a.attr_set = MOUNT_ATTR_IDMAP | (flags.read_only ? ro_attrs : 0);
  a.userns_fd = static_cast<uint64_t>(*ns);
  return attach(dir_fd, path, target, &a, unsupported);
}

caf::error mount_recursive(int dir_fd, const std::string& path, const std::string& target,
                           mount_flags flags) {
  if (!flags.read_only)
    return attach(dir_fd, path, target, nullptr, nullptr);
  mount_attr a{};
  a.attr_set = ro_attrs;
  return attach(dir_fd, path, target, &a, nullptr);
}

std::string probe(const std::string& dir) {
  auto base = dir + "/.idmap-probe-" + std::to_string(::getpid());
  auto src = base + "-src";
  auto dst = base + "-dst";
  if (::mkdir(src.c_str(), 0700) != 0 && errno != EEXIST)
    return "cannot create " + src + ": " + std::strerror(errno);
  if (::mkdir(dst.c_str(), 0700) != 0 && errno != EEXIST) {
    auto err = errno;
    ::rmdir(src.c_str());
    return "cannot create " + dst + ": " + std::strerror(err);
  }
  std::string why;
  // Owned by root on disk, seen as uid:gid 1:1 (made for the probe only:
  // not cached, closed again).
  auto ns = make_userns(mapping{0, 0, 1, 1});
  if (!ns) {
    why = error_message(ns.error());
  } else {
    mount_attr a{};
    a.attr_set = MOUNT_ATTR_IDMAP;
    a.userns_fd = static_cast<uint64_t>(*ns);
    if (auto err = attach(AT_FDCWD, src, dst, &a, nullptr)) {
      why = error_message(err);
    } else {
      struct stat st;
      if (::stat(dst.c_str(), &st) != 0 || st.st_uid != 1 || st.st_gid != 1)
        why = "an id-mapped mount did not show the mapped owner";
      ::umount2(dst.c_str(), MNT_DETACH);
    }
    ::close(*ns);
  }
  ::rmdir(dst.c_str());
  ::rmdir(src.c_str());
  return why;
}

identity identity_of(uint32_t uid) {
  identity id;
  id.uid = uid;
  id.gid = uid;
  passwd pw{};
  passwd* found = nullptr;
  std::vector<char> buf(16384);
  if (::getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) == 0 && found) {
    id.gid = found->pw_gid;
    id.login = found->pw_name;
    id.home = found->pw_dir ? found->pw_dir : "";
    int n = 64;
    std::vector<gid_t> groups(static_cast<size_t>(n));
    if (::getgrouplist(found->pw_name, found->pw_gid, groups.data(), &n) < 0) {
      groups.resize(static_cast<size_t>(n));
      ::getgrouplist(found->pw_name, found->pw_gid, groups.data(), &n);
    }
    groups.resize(static_cast<size_t>(std::max(n, 0)));
    id.groups = std::move(groups);
  }
  if (id.groups.empty())
    id.groups.push_back(id.gid);
  return id;
}

caf::expected<identity> lookup_user(const std::string& who) {
  bool digits = !who.empty() && who.size() <= 10;
  for (auto c : who)
    digits = digits && c >= '0' && c <= '9';
  if (digits) {
    auto n = std::stoull(who);
    if (n > 4294967294ull)
      return make_error(errc::invalid_argument, "uid out of range: " + who);
    return identity_of(static_cast<uint32_t>(n));
  }
  passwd pw{};
  passwd* found = nullptr;
  std::vector<char> buf(16384);
  if (::getpwnam_r(who.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || !found)
    return make_error(errc::invalid_argument, "no user named '" + who + "' on the daemon's host");
  return identity_of(found->pw_uid);
}

caf::error run_as(const identity& who, const std::function<void()>& job) {
  int failed = 0;
  bool was_dumpable = ::prctl(PR_GET_DUMPABLE) == 1;
  std::thread t{[&] {
    // Raw syscalls change this thread's credentials only (glibc's wrappers
    // would change every thread's). Groups first, uid last.
    if (::syscall(SYS_setgroups, who.groups.size(), who.groups.data()) != 0
        || ::syscall(SYS_setresgid, who.gid, who.gid, who.gid) != 0
        || ::syscall(SYS_setresuid, who.uid, who.uid, who.uid) != 0) {
      failed = errno;
      return;
    }
    job();
  }};
  t.join();
  // Changing a thread's euid clears the process's dumpable flag (core
  // dumps, /proc ownership); the process itself never changed ids.
  if (was_dumpable)
    ::prctl(PR_SET_DUMPABLE, 1);
  if (failed)
    return sys_error("cannot act as uid " + std::to_string(who.uid), failed);
  return caf::none;
}

caf::error check_access(const identity& who, const std::string& dir) {
  std::string denied;
  int err = 0;
  if (auto e = run_as(who, [&] { denied = first_denied(dir, err); }))
    return e;
  if (denied.empty())
    return caf::none;
  auto user = who.login.empty() ? "uid " + std::to_string(who.uid)
                                : who.login + " (uid " + std::to_string(who.uid) + ")";
  auto verb = denied == dir ? "cannot read and enter " : "cannot enter ";
  return make_error(errc::invalid_argument, user + " " + verb + denied + ": "
                                              + why_not(denied, err)
                                              + (denied == dir ? "" : "; project " + dir));
}

caf::expected<int> open_dir_as(const identity& who, const std::string& dir) {
  int fd = -1;
  int open_err = 0;
  std::string denied;
  int err = 0;
  auto e = run_as(who, [&] {
    denied = first_denied(dir, err);
    if (!denied.empty())
      return;
    fd = ::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
      open_err = errno;
  });
  if (e)
    return e;
  if (!denied.empty() || fd < 0) {
    if (fd >= 0)
      ::close(fd);
    if (denied.empty())
      return sys_error("cannot open " + dir + " as uid " + std::to_string(who.uid), open_err);
    return check_access(who, dir);  // the same words as the early check
  }
  return fd;
}

} // namespace hal9000::idmap
