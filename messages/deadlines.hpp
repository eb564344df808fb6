#pragma once
// One timeout budget across the wire (issue 11, deliverable 5): how long the
// daemon may take to answer a session start or a terminal open, and how long
// claudy waits for it, derived from the same figures on both sides. The only
// configured one is the claim timeout (HAL9000_CLAIM_TIMEOUT, which claudy and
// the daemon read from the same environment and config.json: `claudy daemon
// start` hands it on); the daemon's own deadlines are the constants below,
// which its actors take as their defaults (pool_options, worker_options,
// sessions_options, terminals_options). Every caller waits its callee's
// budget plus a margin, so nothing is abandoned while its callee can still
// complete it:
//
//   claudy ──start_wait──► sessions ──start──► pool ──claim──► worker
//                            (store calls around the claim)   (Docker call
//                                                              ∥ command ack)
//   claudy ──terminal_open_wait──► bridge ──terminal_open──► terminals ─► relay
//
// All durations in milliseconds.

#include <chrono>

namespace hal9000::deadlines {

using ms = std::chrono::milliseconds;

/// One Docker Engine call (create, rename, update, remove, exec).
constexpr ms docker_call{30000};
/// A warm worker's entrypoint acknowledging the session command's start.
constexpr ms command_ack{5000};
/// One session store request (a write with its fsync).
constexpr ms store_call{10000};
/// What each caller adds to its callee's budget (its own hop, a busy
/// mailbox).
constexpr ms step_margin{5000};
/// What claudy adds to the daemon's budget: the link, the bridge.
constexpr ms link_margin{5000};
/// The terminal service: its store lookup, and creating and starting one exec.
constexpr ms terminal_store{5000};
constexpr ms terminal_exec_open{15000};

/// A worker's claim: its Docker calls (rename, update) run beside the mounts
/// and the command's ack, so the longest is a Docker call and the ack.
constexpr ms worker_claim(ms docker, ms ack) {
  return docker + ack;
}

/// The pool's answer to a claim: queued up to claim_timeout, then its
/// worker's claim, the worker's margin and its own.
constexpr ms pool_claim(ms claim_timeout, ms docker = docker_call, ms ack = command_ack) {
  return claim_timeout + worker_claim(docker, ack) + step_margin + step_margin;
}

/// The sessions actor's answer to a start: the plan (its realpath checks, a
/// store call's budget), the "already running?" query and the sandbox's
/// grant, one store call each, then the claim (the "starting" record is
/// written beside it) and the complete record.
constexpr ms session_start(ms claim_timeout) {
  return store_call * 3 + pool_claim(claim_timeout) + store_call;
}

/// How long claudy waits for a start's reply.
constexpr ms session_start_wait(ms claim_timeout) {
  return session_start(claim_timeout) + link_margin;
}

/// A release (and the worker's stop: removal, then the slot's cleanup).
constexpr ms pool_release(ms docker = docker_call) {
  return docker * 2 + step_margin + step_margin;
}

/// How long claudy waits for `claudy restart`: the plan, the old session's
/// release and its record, then a start.
constexpr ms session_restart_wait(ms claim_timeout) {
  return store_call + pool_release() + store_call + session_start(claim_timeout)
         + link_margin;
}

/// The terminal service's answer to an open: its store lookup, the relay's
/// exec open and the relay's own margin, and the service's.
constexpr ms terminal_open(ms store = terminal_store, ms exec_open = terminal_exec_open) {
  return store + exec_open + step_margin + step_margin;
}

/// How long claudy waits for a terminal to open (`claudy attach`, and
/// `claudy PATH` once its session runs).
constexpr ms terminal_open_wait() {
  return terminal_open() + link_margin;
}

} // namespace hal9000::deadlines
