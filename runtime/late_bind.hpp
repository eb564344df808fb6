#pragma once
// The late-bound workspace (DESIGN §3): slot directories under
// HAL9000_HOME/mounts, bind mounts with mount(2), and the control FIFOs a
// warm worker's entrypoint waits on. No shell anywhere.
//
// Layout (one slot per worker):
//   HAL9000_HOME/bin/worker-entrypoint.sh   the entrypoint, bound read-only at
//                                           /hal9000/entrypoint.sh
//   HAL9000_HOME/mounts/                    an rshared mount point
//   HAL9000_HOME/mounts/<id>/workspace      bound rslave at /workspace; the
//                                           project is mounted here, id-mapped
//                                           and recursive (runtime/idmap.hpp)
//   HAL9000_HOME/mounts/<id>/projects/<k>   bound rslave at /projects; the
//                                           same project tree again at its own
//                                           path /projects/<k> (project_workdir),
//                                           the session's working directory
//   HAL9000_HOME/mounts/<id>/claude         bound rslave at the image's
//                                           ~/.claude; the claiming user's
//                                           users/<user>/claude is bound here
//   HAL9000_HOME/mounts/<id>/secrets        bound rslave, read-only, at
//                                           /run/secrets; the user's
//                                           users/<user>/secrets goes here,
//                                           read-only (through stage)
//   HAL9000_HOME/mounts/<id>/stage          where that read-only bind is made
//                                           before it is moved into secrets
//   HAL9000_HOME/mounts/<id>/control/claim  FIFO: daemon -> entrypoint, three
//                                           lines: session name, working
//                                           directory, command
//   HAL9000_HOME/mounts/<id>/control/ack    FIFO: entrypoint -> daemon,
//                                           "started <pid>"
//
// Timing on this machine (claim_bench): mount_mapped (runtime/idmap.hpp) and
// bind_mount 3 us p50 and make_slot
// 0.15 ms p50, called inline by the worker actor; unmount 0.07 ms p50 but
// 1.2 ms p99, remove_slot ~12 ms (each rmdir(2) waits ~4 ms in the kernel)
// and handshake() (blocks up to its deadline) run in detached actors.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "runtime/idmap.hpp"

namespace hal9000::late_bind {

/// Where a worker's control directory and entrypoint appear in its container.
constexpr const char* container_control_dir = "/hal9000/control";
constexpr const char* container_entrypoint = "/hal9000/entrypoint.sh";
constexpr const char* container_workspace = "/workspace";
constexpr const char* container_secrets = "/run/secrets";
constexpr const char* container_projects = "/projects";

/// The project's own directory inside a worker: /projects/<basename>-<8 hex
/// digits of FNV-1a of the realpath> (default_session_name of the path). It
/// is the session's working directory, so Claude Code keys its history,
/// memory and trust answer by it: one key per project, the same for every
/// session of that project. /workspace shows the same tree (its alias).
/// project_realpath: a validated realpath on the daemon's host.
std::string project_workdir(const std::string& project_realpath);

/// The command a session runs when WORKER_COMMAND is empty: Claude Code in a
/// tmux session in the project's working directory (project_workdir; the
/// entrypoint starts every command there), for as long as that tmux session
/// lives. No key is in the worker: the session's environment carries
/// ANTHROPIC_BASE_URL and a placeholder for the daemon's credential proxy
/// (messages/sandbox.hpp), which tmux passes on to the session it starts.
/// When Claude Code exits (say it cannot reach its service), a shell keeps
/// the session so the user who attaches sees why; leaving it ends the session.
constexpr const char* default_session_command
  = "tmux new-session -d -s claude -c \"$PWD\""
    " 'claude;"
    " echo \"Claude Code exited ($?); this shell keeps the session, exit ends it.\";"
    " exec bash -l'"
    " && while tmux has-session -t claude 2>/dev/null; do sleep 2; done";

/// cmd prefixed with "export NAME=value ...; " for each entry of env, so the
/// session command (and what it starts) sees them. invalid_argument for a
/// name outside [A-Za-z_][A-Za-z0-9_]* or a value with whitespace, quotes,
/// `$`, `\`, `;`, `&`, `|`, `<`, `>`, '`' or parentheses.
caf::expected<std::string> with_env(const std::vector<std::string>& env,
                                    const std::string& cmd);

struct slot_paths {
  std::string root;       // HAL9000_HOME/mounts/<id>
  std::string workspace;  // root/workspace
  std::string projects;   // root/projects
  std::string claude;     // root/claude
  std::string secrets;    // root/secrets
  std::string stage;      // root/stage
  std::string control;    // root/control
  std::string claim_fifo; // control/claim
  std::string ack_fifo;   // control/ack
};

std::string mounts_dir(const std::string& home);
std::string entrypoint_path(const std::string& home);
slot_paths slot_for(const std::string& home, const std::string& worker_id);

/// The entrypoint script's text.
const std::string& entrypoint_script();

/// Writes the entrypoint script atomically (temp, fsync, rename) with mode
/// 0755 into HAL9000_HOME/bin; returns its path.
caf::expected<std::string> write_entrypoint(const std::string& home);

/// Whether path is a mount point, and whether that mount is shared.
struct mount_info {
  bool mounted = false;
  bool shared = false;
};
mount_info inspect_mount(const std::string& path);

/// The host path bind-mounted at mount_point, read from /proc/self/mountinfo
/// (the mount's root joined to where another mount of the same filesystem is
/// seen, proved by device and inode), never a path under exclude_under. ""
/// when mount_point is not a mount or no source can be proved.
std::string bind_source(const std::string& mount_point,
                        const std::string& exclude_under);

/// Makes dir (created if missing) an rshared mount point: binds it onto itself
/// when it is not a mount point, then MS_SHARED|MS_REC.
caf::error ensure_rshared(const std::string& dir);

/// mount --rbind src dst (MS_BIND | MS_REC: what is mounted inside src comes
/// along, as with Docker's binds). The fallback when id-mapping cannot be used.
caf::error bind_mount(const std::string& src, const std::string& dst);

/// umount2(dst); falls back to MNT_DETACH when busy. Not mounted: no error.
caf::error unmount(const std::string& dst);

/// Every mount point at or below path, deepest first.
std::vector<std::string> mounts_under(const std::string& path);

/// Unmounts everything at or below path (tests' teardown, pool shutdown).
caf::error unmount_all_under(const std::string& path);

/// Creates the slot: root (0700), control with both FIFOs, and (with_workspace)
/// the empty workspace, projects, claude, secrets and stage directories.
caf::error make_slot(const slot_paths& slot, bool with_workspace);

/// Removes the slot without ever recursing: refuses while the workspace (or
/// a projects/<k>, claude, secrets) is still a mount point; fails (naming
/// the path) if one of them is not empty.
caf::error remove_slot(const slot_paths& slot);

/// Binds a user's Claude home onto slot.claude (read-write) and the user's
/// secrets directory onto slot.secrets read-only: bound at slot.stage,
/// remounted read-only there, then bound on (a bind copies the read-only
/// flag; a remount would not reach the worker's propagated copy). Five
/// mount(2) calls, tens of microseconds. On failure, what was bound is
/// unbound again.
caf::error bind_user(const slot_paths& slot, const std::string& claude_dir,
                     const std::string& secrets_dir);

/// The same with an id mapping (runtime/idmap.hpp): the Claude home id-mapped
/// read-write at slot.claude, the secrets id-mapped read-only (nosuid,
/// nodev, noexec) at slot.secrets. Two clones, two attributes, two attaches;
/// no stage. On failure, what was mounted is unmounted again; unsupported
/// as in idmap::mount_mapped.
caf::error bind_user_mapped(const slot_paths& slot, const std::string& claude_dir,
                            const std::string& secrets_dir, const idmap::mapping& m,
                            bool* unsupported = nullptr);

/// Binds the project tree already at slot.workspace (recursively, keeping its
/// id mapping) at slot.projects/<basename of workdir>, made here: the
/// worker sees it at workdir. One mkdir(2) and one mount(2).
caf::error bind_workdir(const slot_paths& slot, const std::string& workdir);

/// Unmounts the workspace, every projects/<k>, claude, secrets and stage of
/// a slot (none of them mounted: no error).
caf::error unmount_slot(const slot_paths& slot);

/// Whether warm claims are possible here, and if not, why.
struct availability {
  bool ok = false;
  std::string reason;  // why claims are cold, or (ok) why they can be warm
};

/// Not root, a tcp:// engine, force_cold, or a failing ensure_rshared all
/// mean no late binding. Calls ensure_rshared(mounts_dir(home)) when the rest
/// allows it. in_container (hal9000d inside its parent container): a shared
/// mount made here would reach nobody, so HAL9000_HOME/mounts must already be
/// a shared mount (bound rshared from a shared host mount by `claudy daemon
/// start`); otherwise cold, saying why, with mounts/ named by its host path
/// (host_home: HAL9000_HOST_HOME; "" = home).
availability check(const std::string& home, const std::string& docker_host,
                   bool force_cold, bool in_container = false,
                   const std::string& host_home = "");

/// Whether the mount holding path (the deepest mount point at or above its
/// real path) is shared or a slave: Docker binds a path with rslave or
/// rshared propagation only from such a mount.
bool propagates(const std::string& path);

/// Makes the mount holding path propagate when it does not: MS_SHARED on that
/// mount alone (not recursively), what systemd does to / at boot. Then Docker
/// binds path rslave, and a mount made under path on the host later (a tmpfs
/// inside a project) reaches a container that bound it. Replies the mount
/// point it changed, "" when it already propagated. Needs root (EPERM
/// otherwise).
caf::expected<std::string> ensure_propagates(const std::string& path);

/// Hands the session to a warm worker's entrypoint: writes the spec (name,
/// working directory, command) to the claim FIFO (non-blocking; O_RDWR so it waits in the pipe until read) and
/// waits for "started <pid>" on the ack FIFO until the deadline. Replies the
/// session command's pid inside the container. Blocks: call it off the
/// scheduler. invalid_argument for a newline in a field or a spec over 4 KiB.
caf::expected<int64_t> handshake(const slot_paths& slot,
                                 const std::string& session_name,
                                 const std::string& workdir,
                                 const std::string& command,
                                 std::chrono::milliseconds deadline);

} // namespace hal9000::late_bind
