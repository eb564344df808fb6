#include "runtime/late_bind.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstring>
#include <fstream>
#include <sstream>

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "messages/error.hpp"
#include "runtime/validate.hpp"

namespace hal9000::late_bind {

namespace {

std::string errno_text(int err) {
  return std::strerror(err);
}

caf::error sys_error(const std::string& what, int err) {
  return make_error(errc::internal, what + ": " + errno_text(err));
}

// mkdir -p for absolute paths; existing directories are fine.
caf::error make_dirs(const std::string& path, mode_t mode) {
  std::string cur;
  std::istringstream in{path};
  std::string part;
  while (std::getline(in, part, '/')) {
    if (part.empty())
      continue;
    cur += "/" + part;
    if (::mkdir(cur.c_str(), mode) != 0 && errno != EEXIST)
      return sys_error("cannot create directory " + cur, errno);
  }
  return caf::none;
}

// /proc/self/mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      auto oct = s.substr(i + 1, 3);
      if (oct.size() == 3 && std::all_of(oct.begin(), oct.end(),
                                         [](char c) { return c >= '0' && c <= '7'; })) {
        out += static_cast<char>(std::stoi(oct, nullptr, 8));
        i += 3;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

struct mountinfo_row {
  std::string mount_point;
  bool shared = false;
  bool slave = false;
  std::string dev;   // "major:minor" of the filesystem
  std::string root;  // the mount's root within that filesystem
};

std::vector<mountinfo_row> read_mountinfo() {
  std::vector<mountinfo_row> rows;
  std::ifstream in{"/proc/self/mountinfo"};
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields{line};
    std::string id, parent, dev, root, point, opts, tag;
    if (!(fields >> id >> parent >> dev >> root >> point >> opts))
      continue;
    mountinfo_row row{unescape(point), false, false, dev, unescape(root)};
    while (fields >> tag && tag != "-")
      if (tag.rfind("shared:", 0) == 0)
        row.shared = true;
      else if (tag.rfind("master:", 0) == 0)
        row.slave = true;
    rows.push_back(std::move(row));
  }
  return rows;
}

// Names in dir but "." and ".." (none when it cannot be read).
std::vector<std::string> dir_entries(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (auto* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name != "." && name != "..")
        out.push_back(std::move(name));
    }
    ::closedir(d);
  }
  return out;
}

std::string real_path(const std::string& path) {
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf))
    return buf;
  return path;
}

} // namespace

std::string mounts_dir(const std::string& home) {
  return home + "/mounts";
}

std::string entrypoint_path(const std::string& home) {
  return home + "/bin/worker-entrypoint.sh";
}

std::string project_workdir(const std::string& project_realpath) {
  return std::string{container_projects} + "/" + default_session_name(project_realpath);
}

slot_paths slot_for(const std::string& home, const std::string& worker_id) {
  slot_paths s;
  s.root = mounts_dir(home) + "/" + worker_id;
  s.workspace = s.root + "/workspace";
  s.projects = s.root + "/projects";
  s.claude = s.root + "/claude";
  s.secrets = s.root + "/secrets";
  s.stage = s.root + "/stage";
  s.control = s.root + "/control";
  s.claim_fifo = s.control + "/claim";
  s.ack_fifo = s.control + "/ack";
  return s;
}

caf::expected<std::string> with_env(const std::vector<std::string>& env,
                                    const std::string& cmd) {
  if (env.empty())
    return cmd;
  std::string out = "export";
  for (auto& kv : env) {
    auto eq = kv.find('=');
    bool ok = eq != std::string::npos && eq > 0
              && (std::isalpha(static_cast<unsigned char>(kv[0])) || kv[0] == '_');
    for (size_t i = 0; ok && i < eq; ++i)
      ok = std::isalnum(static_cast<unsigned char>(kv[i])) || kv[i] == '_';
    for (size_t i = eq + 1; ok && i < kv.size(); ++i)
      ok = std::isgraph(static_cast<unsigned char>(kv[i]))
           && std::string{"'\"$\\;&|<>`()"}.find(kv[i]) == std::string::npos;
    if (!ok)
      return make_error(errc::invalid_argument,
                        "session environment entry '" + kv.substr(0, kv.find('='))
                          + "' is not NAME=plain-value");
    out += " " + kv;
  }
  return out + "; " + cmd;
}

const std::string& entrypoint_script() {
  static const std::string text = R"(#!/bin/sh
# hal9000 worker entrypoint, written by the daemon at every start: do not edit.
# Waits for one session on the control FIFO (three lines: session name, working
# directory, command), starts the command in that directory (the project's own
# path; /workspace shows the same tree), acknowledges with its pid, and lives as
# long as the command does. A worker serves one session, then it is removed.
ctl=${HAL9000_CONTROL:-/hal9000/control}
{ read -r HAL9000_SESSION && read -r dir && read -r cmd; } < "$ctl/claim" || exit 70
export HAL9000_SESSION
# HAL9000_WORKSPACE: only where the script runs outside a worker (tests).
cd "${HAL9000_WORKSPACE:-${dir:-/workspace}}" || exit 71
/bin/sh -c "$cmd" &
pid=$!
echo "started $pid" > "$ctl/ack"
wait "$pid"
)";
  return text;
}

caf::expected<std::string> write_entrypoint(const std::string& home) {
  auto dir = home + "/bin";
  if (auto err = make_dirs(dir, 0755))
    return err;
  auto path = entrypoint_path(home);
  auto tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
  if (fd < 0)
    return sys_error("cannot write " + tmp, errno);
  const auto& text = entrypoint_script();
  auto ok = ::write(fd, text.data(), text.size())
            == static_cast<ssize_t>(text.size());
  int err = errno;
  ok = ok && ::fchmod(fd, 0755) == 0 && ::fsync(fd) == 0;
  if (!ok)
    err = errno;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    err = ok ? errno : err;
    ::unlink(tmp.c_str());
    return sys_error("cannot write " + path, err);
  }
  if (int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return path;
}

mount_info inspect_mount(const std::string& path) {
  auto target = real_path(path);
  mount_info info;
  // The last row for a path is the mount on top.
  for (auto& row : read_mountinfo())
    if (row.mount_point == target)
      info = mount_info{true, row.shared};
  return info;
}

std::string bind_source(const std::string& mount_point,
                        const std::string& exclude_under) {
  auto rows = read_mountinfo();
  auto target = real_path(mount_point);
  const mountinfo_row* top = nullptr;
  for (auto& row : rows)
    if (row.mount_point == target)
      top = &row;
  struct stat want;
  if (!top || ::stat(target.c_str(), &want) != 0)
    return {};
  auto under = [](const std::string& p, const std::string& base) {
    return !base.empty() && (p == base || p.rfind(base + "/", 0) == 0);
  };
  auto excluded = real_path(exclude_under);
  // Another mount of the same filesystem whose root contains ours: the
  // source is where that one is mounted plus the rest of our root. The
  // longest root wins; the inode check proves the candidate.
  std::vector<std::pair<size_t, std::string>> candidates;
  for (auto& row : rows) {
    if (&row == top || row.dev != top->dev || under(row.mount_point, excluded))
      continue;
    auto& r = row.root;
    if (r != "/" && !under(top->root, r))
      continue;
    auto rest = r == "/" ? top->root : top->root.substr(r.size());
    auto path = row.mount_point == "/" ? rest : row.mount_point + rest;
    candidates.emplace_back(r == "/" ? 0 : r.size(), path.empty() ? "/" : path);
  }
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  for (auto& c : candidates) {
    struct stat got;
    if (!under(c.second, excluded) && ::stat(c.second.c_str(), &got) == 0
        && got.st_dev == want.st_dev && got.st_ino == want.st_ino)
      return c.second;
  }
  return {};
}

caf::error ensure_rshared(const std::string& dir) {
  if (auto err = make_dirs(dir, 0711))
    return err;
  auto info = inspect_mount(dir);
  if (info.mounted && info.shared)
    return caf::none;
  if (!info.mounted) {
    if (::mount(dir.c_str(), dir.c_str(), nullptr, MS_BIND, nullptr) != 0)
      return sys_error("cannot bind-mount " + dir + " onto itself", errno);
    // A peer group of its own: a bind of a shared / would join /'s group, and
    // every slot mount would be copied to / at the same path as well.
    if (::mount(nullptr, dir.c_str(), nullptr, MS_PRIVATE, nullptr) != 0)
      return sys_error("cannot make " + dir + " private", errno);
  }
  if (::mount(nullptr, dir.c_str(), nullptr, MS_SHARED | MS_REC, nullptr) != 0)
    return sys_error("cannot make " + dir + " rshared", errno);
  return caf::none;
}

// dst becomes a slave of src's peer group: it receives src's new mounts but
// an unmount under dst never propagates back to src (see idmap.cpp attach).
caf::error make_slave(const std::string& dst) {
  if (::mount(nullptr, dst.c_str(), nullptr, MS_SLAVE | MS_REC, nullptr) == 0)
    return caf::none;
  auto err = errno;
  ::umount2(dst.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW);
  return sys_error("cannot make " + dst + " a slave mount", err);
}

caf::error bind_mount(const std::string& src, const std::string& dst) {
  if (::mount(src.c_str(), dst.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
    return sys_error("cannot bind-mount " + src + " onto " + dst, errno);
  return make_slave(dst);
}

caf::error unmount(const std::string& dst) {
  if (::umount2(dst.c_str(), UMOUNT_NOFOLLOW) == 0)
    return caf::none;
  auto err = errno;
  if (err == EINVAL || err == ENOENT)
    return caf::none;  // not a mount point (any more)
  if (err == EBUSY && ::umount2(dst.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) == 0)
    return caf::none;
  return sys_error("cannot unmount " + dst, err == EBUSY ? errno : err);
}

std::vector<std::string> mounts_under(const std::string& path) {
  auto base = real_path(path);
  std::vector<std::string> out;
  for (auto& row : read_mountinfo()) {
    auto& p = row.mount_point;
    if (p == base || p.rfind(base + "/", 0) == 0)
      out.push_back(p);
  }
  // Deepest first; stacked mounts of one path appear once per layer.
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return std::count(a.begin(), a.end(), '/') > std::count(b.begin(), b.end(), '/');
  });
  return out;
}

caf::error unmount_all_under(const std::string& path) {
  // A submount of an id-mapped tree cannot be unmounted on its own (EPERM);
  // detaching its parent takes it along, so only what is left counts.
  for (auto& p : mounts_under(path))
    ::umount2(p.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW);
  if (auto left = mounts_under(path); !left.empty())
    return make_error(errc::internal, "still mounted after unmounting: " + left.front());
  return caf::none;
}

caf::error make_slot(const slot_paths& slot, bool with_workspace) {
  if (auto err = make_dirs(slot.control, 0755))
    return err;
  // Only root walks the slot on the host: what is bound into it (a user's
  // Claude home) is owned by the worker's uid, which may be a host user's too.
  ::chmod(slot.root.c_str(), 0700);
  if (with_workspace)
    for (auto* dir : {&slot.workspace, &slot.projects, &slot.claude, &slot.secrets,
                      &slot.stage})
      if (::mkdir(dir->c_str(), 0755) != 0 && errno != EEXIST)
        return sys_error("cannot create " + *dir, errno);
  // The entrypoint may run as a non-root user: it reads claim, writes ack.
  for (auto [path, mode] : {std::pair{&slot.claim_fifo, 0644},
                            std::pair{&slot.ack_fifo, 0622}}) {
    if (::mkfifo(path->c_str(), static_cast<mode_t>(mode)) != 0 && errno != EEXIST)
      return sys_error("cannot create FIFO " + *path, errno);
    ::chmod(path->c_str(), static_cast<mode_t>(mode));  // umask-independent
  }
  return caf::none;
}

caf::error remove_slot(const slot_paths& slot) {
  // rmdir(2) never recurses and fails with EBUSY on a mount point, so a
  // mounted project is never touched. (Reading /proc/self/mountinfo first
  // would cost milliseconds with many containers running.)
  for (auto& entry : dir_entries(slot.projects)) {
    auto dir = slot.projects + "/" + entry;
    if (::rmdir(dir.c_str()) != 0 && errno != ENOENT) {
      if (errno == EBUSY)
        return make_error(errc::conflict, "refusing to remove " + slot.root
                                            + ": something is still mounted at " + dir);
      return sys_error("cannot remove " + dir, errno);
    }
  }
  for (auto* dir : {&slot.workspace, &slot.projects, &slot.claude, &slot.secrets,
                    &slot.stage})
    if (::rmdir(dir->c_str()) != 0 && errno != ENOENT) {
      if (errno == EBUSY)
        return make_error(errc::conflict, "refusing to remove " + slot.root
                                            + ": something is still mounted at " + *dir);
      return sys_error("cannot remove " + *dir, errno);
    }
  for (auto* path : {&slot.claim_fifo, &slot.ack_fifo})
    if (::unlink(path->c_str()) != 0 && errno != ENOENT)
      return sys_error("cannot remove " + *path, errno);
  for (auto* dir : {&slot.control, &slot.root})
    if (::rmdir(dir->c_str()) != 0 && errno != ENOENT)
      return sys_error("cannot remove " + *dir, errno);
  return caf::none;
}

caf::error bind_user(const slot_paths& slot, const std::string& claude_dir,
                     const std::string& secrets_dir) {
  if (auto err = bind_mount(claude_dir, slot.claude))
    return err;
  if (secrets_dir.empty())
    return caf::none;
  auto undo = [&](caf::error err) {
    unmount(slot.stage);
    unmount(slot.claude);
    return err;
  };
  if (auto err = bind_mount(secrets_dir, slot.stage))
    return undo(std::move(err));
  constexpr auto ro = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
  if (::mount(nullptr, slot.stage.c_str(), nullptr, ro, nullptr) != 0)
    return undo(sys_error("cannot make " + slot.stage + " read-only", errno));
  if (auto err = bind_mount(slot.stage, slot.secrets))
    return undo(std::move(err));
  // The read-only copy stays at secrets; the stage is free again.
  if (::umount2(slot.stage.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) != 0) {
    auto err = sys_error("cannot unmount " + slot.stage, errno);
    unmount(slot.secrets);
    return undo(std::move(err));
  }
  return caf::none;
}

caf::error bind_workdir(const slot_paths& slot, const std::string& workdir) {
  auto dir = slot.projects + workdir.substr(workdir.rfind('/'));
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
    return sys_error("cannot create " + dir, errno);
  if (::mount(slot.workspace.c_str(), dir.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
    return sys_error("cannot bind " + slot.workspace + " at " + dir, errno);
  return make_slave(dir);
}

caf::error bind_user_mapped(const slot_paths& slot, const std::string& claude_dir,
                            const std::string& secrets_dir, const idmap::mapping& m,
                            bool* unsupported) {
  if (auto err = idmap::mount_mapped(AT_FDCWD, claude_dir, slot.claude, m, {}, unsupported))
    return err;
  if (secrets_dir.empty())  // the key stays on the host (messages/sandbox.hpp)
    return caf::none;
  if (auto err = idmap::mount_mapped(AT_FDCWD, secrets_dir, slot.secrets, m,
                                     idmap::mount_flags{true}, unsupported)) {
    unmount(slot.claude);
    return err;
  }
  return caf::none;
}

caf::error unmount_slot(const slot_paths& slot) {
  for (auto& entry : dir_entries(slot.projects))
    if (auto err = unmount(slot.projects + "/" + entry))
      return err;
  for (auto* dir : {&slot.workspace, &slot.claude, &slot.secrets, &slot.stage})
    if (auto err = unmount(*dir))
      return err;
  return caf::none;
}

bool propagates(const std::string& path) {
  auto target = real_path(path);
  const mountinfo_row* best = nullptr;
  auto rows = read_mountinfo();
  for (auto& row : rows) {
    auto& p = row.mount_point;
    bool holds = p == "/" || target == p || target.rfind(p + "/", 0) == 0;
    // The last row of the deepest mount point is the mount on top.
    if (holds && (!best || p.size() >= best->mount_point.size()))
      best = &row;
  }
  return best && (best->shared || best->slave);
}

availability check(const std::string& home, const std::string& docker_host,
                   bool force_cold, bool in_container) {
  if (force_cold)
    return {false, "late binding switched off (force_cold / HAL9000_FORCE_COLD)"};
  if (::geteuid() != 0)
    return {false, "the daemon is not root: binding a project into a running "
                   "worker needs mount(2)"};
  if (docker_host.rfind("unix://", 0) != 0)
    return {false, "the Docker engine is remote (" + docker_host
                     + "): its containers cannot see this host's mounts"};
  auto mounts = mounts_dir(home);
  if (in_container) {
    auto info = inspect_mount(mounts);
    if (!info.mounted || !info.shared)
      return {false, "hal9000d runs in its parent container and " + mounts
                       + " is not shared with the host (its host directory was not a "
                         "shared mount when the container was made): run `claudy daemon "
                         "start` as root, which makes it one, then reset with `claudy daemon "
                         "stop; docker rm -f <prefix>-parent; claudy daemon start`"};
    return {true, "hal9000d in its parent container with CAP_SYS_ADMIN, " + mounts
                    + " shared with the host"};
  }
  if (auto err = ensure_rshared(mounts))
    return {false, error_message(err)};
  return {true, "hal9000d is root on the engine's host, " + mounts + " is rshared"};
}

caf::expected<int64_t> handshake(const slot_paths& slot,
                                 const std::string& session_name,
                                 const std::string& workdir,
                                 const std::string& command,
                                 std::chrono::milliseconds deadline) {
  using clock = std::chrono::steady_clock;
  auto until = clock::now() + deadline;
  if (session_name.find('\n') != std::string::npos
      || workdir.find('\n') != std::string::npos
      || command.find('\n') != std::string::npos)
    return make_error(errc::invalid_argument,
                      "session name, working directory and command must be one line each");
  auto spec = session_name + "\n" + workdir + "\n" + command + "\n";
  if (spec.size() > PIPE_BUF)  // one atomic write
    return make_error(errc::invalid_argument,
                      "session command too long: at most "
                        + std::to_string(PIPE_BUF - session_name.size() - workdir.size() - 3)
                        + " bytes");
  // O_RDWR on a FIFO never blocks and keeps the pipe open: the spec waits in
  // the pipe until the entrypoint reads it, and the ack FIFO never reports HUP.
  int ack = ::open(slot.ack_fifo.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (ack < 0)
    return sys_error("cannot open " + slot.ack_fifo, errno);
  int claim = ::open(slot.claim_fifo.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (claim < 0) {
    auto err = errno;
    ::close(ack);
    return sys_error("cannot open " + slot.claim_fifo, err);
  }
  auto close_both = [&] {
    ::close(claim);
    ::close(ack);
  };
  if (::write(claim, spec.data(), spec.size()) != static_cast<ssize_t>(spec.size())) {
    auto err = errno;
    close_both();
    return sys_error("cannot write the session to " + slot.claim_fifo, err);
  }
  std::string got;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - clock::now());
    if (left.count() <= 0) {
      close_both();
      return make_error(errc::deadline_exceeded,
                        "the worker's entrypoint did not acknowledge the session "
                        "within " + std::to_string(deadline.count()) + " ms");
    }
    pollfd p{ack, POLLIN, 0};
    auto n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n < 0 && errno != EINTR) {
      auto err = errno;
      close_both();
      return sys_error("cannot wait on " + slot.ack_fifo, err);
    }
    if (n <= 0)
      continue;
    char buf[128];
    auto r = ::read(ack, buf, sizeof(buf));
    if (r > 0)
      got.append(buf, static_cast<size_t>(r));
    if (auto nl = got.find('\n'); nl != std::string::npos) {
      close_both();
      auto line = got.substr(0, nl);
      if (line.rfind("started ", 0) != 0)
        return make_error(errc::internal, "unexpected ack from the worker: " + line);
      try {
        return static_cast<int64_t>(std::stoll(line.substr(8)));
      } catch (...) {
        return make_error(errc::internal, "unexpected ack from the worker: " + line);
      }
    }
  }
}

} // namespace hal9000::late_bind
