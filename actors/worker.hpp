#pragma once
// Spawns one worker actor (interface: messages/worker.hpp), which owns one
// container and, for a warm worker, its slot under HAL9000_HOME/mounts.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "messages/docker.hpp"
#include "messages/worker.hpp"
#include "runtime/late_bind.hpp"
#include "runtime/session_mounts.hpp"

namespace hal9000 {

/// What a claim hands to the session's entrypoint over the control FIFO.
struct handshake_spec {
  std::string session_name;
  std::string workdir;        // the project's own path inside the worker
  std::string command;        // with the claim's exports in front
  std::chrono::milliseconds deadline{5000};  // the ack wait
};

/// The worker's host-side steps: its slot under HAL9000_HOME/mounts and the
/// FIFO handshake with its entrypoint. Every one blocks (mkdir, mount(2),
/// rmdir, the ack wait): the worker runs them with run_blocking
/// (runtime/blocking.hpp), never on the scheduler. real_host_steps() are the
/// kernel's; tests inject their own so the worker's state machine runs on
/// CAF's test coordinator without root (tests/actor/worker_steps_test.cpp).
struct worker_host_steps {
  /// Makes the slot's directories. An error fails the worker while creating.
  std::function<caf::error(const late_bind::slot_paths&)> make_slot;
  /// Mounts what plan says into the slot; replies warnings (a fallback
  /// taken). An error fails the claim (or the cold worker's create).
  std::function<caf::expected<std::vector<std::string>>(const late_bind::slot_paths&,
                                                        const session_mount_plan&)>
    mount;
  /// Hands the session to the entrypoint; replies the command's pid once it
  /// acknowledged its start. deadline_exceeded when it did not in time.
  std::function<caf::expected<int64_t>(const late_bind::slot_paths&, const handshake_spec&)>
    handshake;
  /// Unmounts the slot (when unmount) and removes it: "" when clean, else
  /// what failed. Never recurses into a mount point.
  std::function<std::string(const std::string& home, const std::string& worker_id,
                            bool unmount)>
    cleanup;
};

/// The real steps (runtime/late_bind.hpp, runtime/session_mounts.hpp).
std::shared_ptr<const worker_host_steps> real_host_steps();

struct worker_options {
  std::string id;                // unique; part of the container name and labels
  std::string home;              // HAL9000_HOME
  std::string host_home;         // HAL9000_HOME as the engine sees it ("" = home)
  std::string daemon_id = "default";
  std::string image;
  resource_limits limits;        // at create (typed: the numbers go to Docker as they are)
  std::string network_mode = "bridge";  // "container:hal9000-parent" once it exists
  std::vector<std::string> cap_add;     // on top of --cap-drop ALL
  std::map<std::string, std::string> extra_labels;  // tests: test_labels()
  std::string default_command;   // when a claim names none
  /// Named volumes every worker mounts (Memory Bank, plugins: type "volume").
  std::vector<docker::mount_spec> volumes;
  /// Where ~/.claude is in the image; a claim's user gets their
  /// HAL9000_HOME/users/<user>/claude there and their secrets at
  /// /run/secrets (read-only). Empty: no per-user state at all.
  std::string claude_home;
  /// The uid:gid the image runs as: the project, the user's claude/ and
  /// secrets/ are id-mapped to it (runtime/session_mounts.hpp).
  uint32_t user_uid = 1000;
  uint32_t user_gid = 1000;
  /// Id-mapped mounts work here (idmap::probe at pool start); false: the
  /// documented fallback (plain recursive binds; runtime/session_mounts.hpp).
  bool idmap = true;
  /// Cold: made for one claim (cold_claim), its project bound at create.
  bool cold = false;
  claim_request cold_claim;
  /// The control FIFO works only when the engine shares this host's files;
  /// without it a cold worker runs its command as the container's command.
  bool local_control = true;
  /// Reply to a claim only once the container carries the session's name.
  /// false: reply once the command started; the rename completes a few ms
  /// later and a failure is reported as a transition reason, not a claim error.
  bool rename_before_reply = true;
  std::chrono::milliseconds ack_timeout{5000};
  std::chrono::milliseconds docker_timeout{30000};
  /// Take over a running session of an earlier run instead of creating a
  /// container: the worker starts in busy (adopt.worker_id must equal id).
  bool adopted = false;
  adopted_session adopt;
  /// The host-side steps; null: real_host_steps().
  std::shared_ptr<const worker_host_steps> host;
};

// -- one timeout budget: the worker's own deadlines -----------------------------
// Callers wait longer than these (plus their own margin), so a worker that
// can still complete a step is never abandoned by its caller.

/// The longest a claim may take to be answered: its steps run in parallel
/// (rename, update: one Docker call each; mounts + handshake: a Docker
/// call's time plus the ack wait), so the slowest bounds it.
std::chrono::milliseconds worker_claim_deadline(const worker_options& opts);

/// The longest a stop may take to be answered: the container's removal
/// (one Docker call), then the slot's cleanup (bounded like a Docker call).
/// A worker still creating or being claimed finishes that step first (its
/// create, or worker_claim_deadline): a caller that gives up then only loses
/// the reply; the teardown still runs to its end.
std::chrono::milliseconds worker_stop_deadline(const worker_options& opts);

/// Container name of a worker: hal9000-warm-<id> or hal9000-cold-<id>.
std::string worker_container_name(const worker_options& opts);

/// The labels every worker carries (DESIGN §2) plus extra_labels.
std::map<std::string, std::string> worker_labels(const worker_options& opts);

/// The container a worker creates (hardening, limits, mounts, entrypoint).
/// Limits must already be valid (invalid ones are left unset).
docker::container_spec worker_container_spec(const worker_options& opts);

/// A one-shot helper (runtime/blocking.hpp) that runs host->cleanup (null:
/// the real one): unmounts the slot's workspace, projects/*, claude and
/// secrets (when unmount) and removes the slot of worker_id under home. It
/// answers start_atom with "" when clean, else what failed, then exits.
/// rmdir(2) takes ~4 ms on this machine: this never runs on the scheduler.
caf::actor spawn_slot_cleanup(caf::actor_system& sys, std::string home,
                              std::string worker_id, bool unmount,
                              std::shared_ptr<const worker_host_steps> host = nullptr);

/// Spawns the worker; it creates its container at once (or, adopted, starts
/// in busy with "adopted after a daemon restart") and reports every
/// transition to pool and observer (either may be invalid). It exits once gone
/// or when pool exits.
worker_actor spawn_worker(caf::actor_system& sys, worker_options opts,
                          docker::docker_actor docker,
                          worker_observer_actor pool,
                          worker_observer_actor observer);

} // namespace hal9000
