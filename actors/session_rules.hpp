#pragma once
// The rules that decide what happened to a session, as plain functions (no
// actor, no I/O beyond what a name says), unit-tested in
// tests/unit/session_rules_test.cpp. The worker, the reconciliation and the
// bridge apply them; a future sessions actor can take them as they are.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/error.hpp>

#include "messages/docker.hpp"
#include "messages/end_reason.hpp"

namespace hal9000 {

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
///   exit_code 137 (SIGKILL) and oom_at_end   -> oom_killed (memory_limit)
///   128 < exit_code < 128+65                 -> signaled (exit_code - 128)
///   exit_code >= 0                           -> exited (exit_code)
///   exit_code < 0                            -> exited, code unknown
/// oom_at_end: the kernel OOM-killed a process of the container's cgroup
/// within oom_window of the exit. An OOM kill of a child long before a clean
/// exit therefore never makes the end "OOM-killed".
end_reason end_from_exit(int64_t exit_code, bool oom_at_end,
                         const std::string& memory_limit);

/// The end of a session whose container was found stopped when the daemon
/// came back (no events to time): Docker's State.OOMKilled sticks for the
/// container's life, so it only counts together with exit code 137.
end_reason end_from_stopped(const docker::container_info& info,
                            const std::string& memory_limit);

/// Why a session could not start, from the claim's error: the engine's
/// not_found on create is a missing image; other engine errors of a create
/// are create_failed with the engine's message; anything else start_failed.
end_reason end_from_claim_error(const caf::error& err);

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

} // namespace hal9000
