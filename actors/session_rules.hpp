#pragma once
// The sessions actor's rules as plain code (no actors, unit-tested in
// tests/unit/session_rules_test.cpp): what a start asks for once validated,
// and what to do given the sessions that already run; and what happened to a
// session that ended or was cut off (the worker, the reconciliation and the
// sessions actor apply those).

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/meta/type_name.hpp>

#include "messages/docker.hpp"
#include "messages/end_reason.hpp"
#include "messages/sessions.hpp"
#include "runtime/limits.hpp"

namespace hal9000 {

/// What the Docker host can give one container; 0: unknown (not checked).
struct host_capacity {
  int64_t nano_cpus = 0;     // CPUs x 1e9
  int64_t memory_bytes = 0;  // RAM
};

/// This machine's online CPUs and physical memory (sysconf).
host_capacity local_host_capacity();

/// NCPU and MemTotal from the Engine's /info JSON; fallback for what it
/// does not say or when the text is not JSON.
host_capacity capacity_from_docker_info(const std::string& info_json,
                                        host_capacity fallback);

/// Whether limits fit what the host can give one container: a CPU count above
/// host.nano_cpus, or memory above host.memory_bytes (when checked and the
/// figure is known), is invalid_argument naming it as `<cpus_label><text>`
/// ("--cpus 4", "WORKER_CPUS=4") with the host's figure. The one check for
/// a start's --cpus/--memory (plan_start) and the daemon's WORKER_CPUS and
/// WORKER_MEMORY at its start (spawn_runtime).
struct capacity_check {
  std::string cpus_label;    // "--cpus " or "WORKER_CPUS="
  std::string memory_label;  // "--memory " or "WORKER_MEMORY="
  bool cpus = true;          // check the CPUs
  bool memory = true;        // check the memory
  std::string advice;        // appended to the message ("" for none)
};
caf::error check_host_capacity(const resource_limits& limits, const host_capacity& host,
                               const capacity_check& how);

/// The settings a start is checked against (from the daemon's config).
struct session_settings {
  std::vector<std::string> allowed_roots;  // HAL9000_ALLOWED_ROOTS
  std::string home;                        // HAL9000_HOME (never a project)
  /// HAL9000_HOST_HOME: in its container the daemon also sees the state
  /// directory at its host path (under an allowed root): never a project
  /// either. "" = none.
  std::string host_home;
  std::string parent_prefix = "hal9000";   // HAL9000_PARENT_PREFIX
  resource_limits defaults;                // WORKER_MEMORY, _CPUS, _PIDS_LIMIT (parsed:
                                           // runtime/config.hpp worker_limits)
  host_capacity host;
  std::map<std::string, std::string> tls_users;  // HAL9000_TLS_USERS (runtime/acting_user.hpp)
};

/// A validated start.
struct start_plan {
  std::string name;         // valid_name, not reserved
  std::string project_dir;  // realpath under an allowed root
  bool named = false;       // the user chose the name (--name)
  bool has_limits = false;  // any of --memory, --cpus, --pids-limit, --no-limits
  resource_limits limits;   // flags (parsed here) over the defaults
  // Which flags were given (a running session keeps the others).
  bool memory_given = false;
  bool cpus_given = false;
  bool pids_given = false;
  // Whose ids the session acts with (runtime/acting_user.hpp): -1 is the
  // project directory's owner.
  int64_t uid = -1;
  int64_t gid = -1;
};

// A local message only (from the sessions actor's blocking helper).
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, start_plan& x) {
  return f(caf::meta::type_name("start_plan"), x.name, x.project_dir, x.named, x.has_limits,
           x.limits, x.memory_given, x.cpus_given, x.pids_given, x.uid, x.gid);
}

/// Checks a start before anything is claimed: the path (realpath, allowed
/// root, not sensitive), the name (Docker's rule, not the daemon's own), the
/// limits (syntax, and given ones within the host's CPUs and memory).
/// invalid_argument naming what is wrong.
caf::expected<start_plan> plan_start(const session_settings& s, const session_start& req);

/// plan_start, then the acting user (resolve_acting_user): whether the
/// token's user may use the project, and with which ids. Blocking (realpath,
/// NSS, a thread with the user's ids): the sessions actor runs it off the
/// scheduler. invalid_argument or unauthenticated naming why.
caf::expected<start_plan> plan_start_as_user(const session_settings& s,
                                             const session_start& req);

/// What a start does, given the live sessions named like it or running its
/// project (the store's one "already running?" answer).
enum class start_action : uint8_t {
  claim,          // nothing runs: claim a worker
  attach,         // the same project runs: return it as is
  update_limits,  // it runs with other limits: apply `limits` to it
  conflict,       // refused: `message` says why
};

struct start_decision {
  start_action action = start_action::claim;
  session_record existing;  // attach and update_limits: the running session
  resource_limits limits;   // update_limits: what it should run with
  std::string message;      // conflict: why; update_limits: what changes
};

start_decision decide(const start_plan& plan, const std::vector<session_record>& live);

/// True when b must wait for a start a that is in flight: the same name, or
/// the same project without a name of its own choosing.
bool converges(const start_plan& a, const start_plan& b);

// -- what happened to a session ------------------------------------------------

/// An OOM kill counts as the main process's when it happened this close to
/// the container's exit (before it, or, as the engine's "oom" and "die"
/// events may arrive in either order, after it).
constexpr std::chrono::milliseconds oom_window{2000};

/// How long a worker waits, after a die with exit code 137 and no OOM kill
/// seen, for an "oom" event that the engine sends late.
constexpr std::chrono::milliseconds oom_event_grace{500};

/// The end of a session whose container stopped with exit_code (the die
/// event's exitCode, or State.ExitCode): the container's exit code is its
/// main process's (an init forwards it: 128+S for a signal S).
///   kill_signal S > 0 and exit_code > 128    -> signaled (exit_code - 128)
///   exit_code 137 (SIGKILL) and oom_at_end   -> oom_killed (memory_limit)
///   128 < exit_code < 128+65                 -> signaled (exit_code - 128)
///   exit_code >= 0                           -> exited (exit_code)
///   exit_code < 0                            -> exited, code unknown
/// oom_at_end: the kernel's OOM-kill count of the container's cgroup rose
/// within oom_window of the exit. An OOM kill of a child long before a clean
/// exit therefore never makes the end "OOM-killed".
/// kill_signal: the signal of the engine's last "kill" event before the die
/// (`docker kill`, `docker stop`), 0 when there was none. Someone killed the
/// container from outside: that is its end, even when a child was
/// OOM-killed just before (Docker's State.OOMKilled says only that some
/// process of the cgroup was).
end_reason end_from_exit(int64_t exit_code, bool oom_at_end,
                         const std::string& memory_limit, int kill_signal = 0);

/// The end of a session whose container was found stopped when the daemon
/// came back (no events to time): Docker's State.OOMKilled sticks for the
/// container's life, so it only counts together with exit code 137.
end_reason end_from_stopped(const docker::container_info& info,
                            const std::string& memory_limit);

/// Why a session could not start, from the claim's error: the engine's
/// not_found on create is a missing image; other engine errors of a create
/// are create_failed with the engine's message; anything else start_failed.
end_reason end_from_claim_error(const caf::error& err);

/// The end of a session whose worker stopped or failed while serving it
/// (session_ended from the worker recorder): the worker's typed end as it
/// is; with none, kind other with the worker's words ("worker failed" /
/// "worker gone" when it gave none).
end_reason end_of_worker(const session_ended& e);

// -- OOM kills counted by the kernel ----------------------------------------------

/// The files that hold a container's cgroup OOM-kill counter under
/// cgroup_root (normally /sys/fs/cgroup), most likely first, for the
/// cgroupfs and systemd drivers: cgroup v2 memory.events, v1
/// memory/.../memory.oom_control.
std::vector<std::string> oom_counter_files(const std::string& cgroup_root,
                                           const std::string& container_id);

/// The "oom_kill N" line of memory.events (v2) or memory.oom_control (v1,
/// kernel >= 4.13); -1 when there is none.
int64_t parse_oom_kill(const std::string& text);

/// The session's OOM-kill count after one read of the kernel's counter.
/// kernel: what the read gave (-1: no counter readable); counted: the count so
/// far; readable: whether an earlier read of this container's counter worked;
/// engine_events: the engine's "oom" events since the previous read. The
/// kernel's counter is the truth when readable (the engine sends an "oom" per
/// OOM notification of the cgroup, hundreds for one kill on cgroup v1, so its
/// events only say "read the counter"). When no counter was ever readable
/// (another cgroup driver, a daemon in a container) each engine event counts
/// as one kill. When a counter that was readable is gone (the cgroup is
/// removed as the container dies, before a late read), the engine's events
/// since stand for one kill.
struct oom_count {
  uint32_t count = 0;     // the session's OOM kills now
  bool readable = false;  // the kernel's counter has been read
  bool rose = false;      // count > counted: news (one event for the batch)
};
oom_count next_oom_count(uint32_t counted, int64_t kernel, bool readable,
                         uint32_t engine_events);

/// Reads the first of oom_counter_files that exists; -1 when none does or
/// has the counter. A few small reads of /sys: run it off the scheduler.
int64_t read_oom_kills(const std::string& cgroup_root,
                       const std::string& container_id);

// -- the network namespace owner -------------------------------------------------

/// The one command that gives a cut-off session a new container with the
/// same name, project, user home and limits.
std::string restore_command(const std::string& session);

/// What a session's record and events say when the namespace owner that it
/// joined went away: "network lost: <why>; restore with `claudy restart N`".
std::string network_lost_reason(const std::string& session, const std::string& why);

/// The owner rule for anything that acts on a session (stop, restart,
/// attach, exec, logs, lookup): its owner (rec.user_id, the authenticated
/// user who started it) or root. none when user may; otherwise
/// errc::unauthenticated (claudy exits 4): "session 'NAME' belongs to another
/// user (only its owner or root may WHAT it)".
caf::error owner_refusal(const session_record& rec, const std::string& user,
                         const std::string& what);

/// Whether user sees rec in `claudy sessions`: root sees every session,
/// anyone else only their own.
bool visible_to(const session_record& rec, const std::string& user);

} // namespace hal9000
