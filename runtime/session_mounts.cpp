#include "runtime/session_mounts.hpp"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "messages/error.hpp"
#include "runtime/idmap.hpp"
#include "runtime/users.hpp"

namespace hal9000 {

namespace {

// Closes an fd when it leaves scope.
struct fd_guard {
  int fd = -1;
  ~fd_guard() {
    if (fd >= 0)
      ::close(fd);
  }
};

// What fd really is, by the kernel's word (/proc/self/fd): a path swapped
// for a symlink after validation opens the link's target, whose path then
// differs from the validated realpath.
std::string opened_path(int fd) {
  char buf[4096];
  auto link = "/proc/self/fd/" + std::to_string(fd);
  auto n = ::readlink(link.c_str(), buf, sizeof(buf) - 1);
  if (n < 0)
    return {};
  return std::string{buf, static_cast<size_t>(n)};
}

} // namespace

caf::expected<std::vector<std::string>> mount_session(const late_bind::slot_paths& slot,
                                                      const session_mount_plan& plan) {
  std::vector<std::string> warnings;
  // Whose files: the asking user's (opened as them), or the directory's owner.
  fd_guard dir;
  uint32_t uid = 0;
  uint32_t gid = 0;
  if (plan.uid >= 0) {
    auto who = idmap::identity_of(static_cast<uint32_t>(plan.uid));
    if (plan.gid >= 0)
      who.gid = static_cast<uint32_t>(plan.gid);
    auto fd = idmap::open_dir_as(who, plan.project_dir);
    if (!fd)
      return fd.error();
    dir.fd = *fd;
    uid = who.uid;
    gid = who.gid;
  } else {
    dir.fd = ::open(plan.project_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    struct stat st;
    if (dir.fd < 0 || ::fstat(dir.fd, &st) != 0)
      return make_error(errc::invalid_argument,
                        "cannot open project " + plan.project_dir + ": " + std::strerror(errno));
    uid = st.st_uid;
    gid = st.st_gid;
  }
  // The project was validated as a realpath under an allowed root; what is
  // mounted is what was opened, and it must still be that very path.
  if (auto at = opened_path(dir.fd); at != plan.project_dir)
    return make_error(errc::invalid_argument,
                      "project " + plan.project_dir + " changed after it was checked (it "
                        "now leads to " + (at.empty() ? std::string{"an unknown place"} : at)
                        + "): not mounted");
  // Who may get the unmapped fallback: root's requests and the image's own uid.
  bool plain_ok = plan.uid < 0 || uid == plan.worker_uid;
  auto refuse_plain = [&](const std::string& why) {
    return make_error(errc::invalid_argument,
                      "cannot give uid " + std::to_string(uid) + " its own files in "
                        + plan.project_dir + ": " + why + "; without an id mapping the "
                        "session would act as uid " + std::to_string(plan.worker_uid));
  };
  idmap::mapping project_map{uid, gid, plan.worker_uid, plan.worker_gid};
  if (plan.idmap) {
    bool unsupported = false;
    auto err = idmap::mount_mapped(dir.fd, "", slot.workspace, project_map, {}, &unsupported);
    if (err && !unsupported)
      return err;
    if (err) {
      if (!plain_ok)
        return refuse_plain(error_message(err));
      if (auto e = idmap::mount_recursive(dir.fd, "", slot.workspace))
        return e;
      warnings.push_back("the project's filesystem cannot be id-mapped ("
                         + error_message(err) + "): bound as it is, the session writes as uid "
                         + std::to_string(plan.worker_uid));
    }
  } else {
    if (!plain_ok)
      return refuse_plain("id-mapped mounts are unavailable on this daemon (claudy daemon status)");
    if (auto e = idmap::mount_recursive(dir.fd, "", slot.workspace))
      return e;
  }
  if (plan.workdir)
    if (auto err = late_bind::bind_workdir(slot, late_bind::project_workdir(plan.project_dir)))
      return err;
  if (!plan.bind_home || plan.user_id.empty())
    return warnings;
  // The user's Claude home and secrets: owned on disk by the user (root's
  // by root), seen by the worker as its own. Without id mapping they belong
  // to the image's uid on disk, as before.
  uint32_t home_uid = plan.user_id == "root" ? 0 : uid;
  uint32_t home_gid = plan.user_id == "root" ? 0 : gid;
  uint32_t owner = plan.idmap ? home_uid : plan.worker_uid;
  uint32_t group = plan.idmap ? home_gid : plan.worker_gid;
  auto up = user_paths_for(plan.home, plan.user_id);
  if (auto err = ensure_user_dirs(up, plan.user_id, owner, group))
    return err;
  for (auto* p : {&up.claude, &up.secrets})
    if (auto err = ensure_tree_owner(*p, owner, group))
      return err;
  // The Claude home only: the key stays on the host, behind the credential
  // proxy (messages/sandbox.hpp).
  if (plan.idmap) {
    idmap::mapping home_map{home_uid, home_gid, plan.worker_uid, plan.worker_gid};
    if (auto err = late_bind::bind_user_mapped(slot, up.claude, "", home_map))
      return err;
  } else if (auto err = late_bind::bind_user(slot, up.claude, "")) {
    return err;
  }
  return warnings;
}

} // namespace hal9000
