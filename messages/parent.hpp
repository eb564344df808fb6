#pragma once
// The parent keeper's typed interface. The keeper owns three things on the
// Docker engine, all through the docker actor:
//   - the shared volumes <prefix>-chromadb, <prefix>-memorybank and
//     <prefix>-plugins (created when missing, never removed);
//   - <prefix>-parent, the network namespace workers join; it publishes
//     CHROMADB_PORT on 127.0.0.1 and carries the daemon's configuration in its
//     environment. It is never recreated while it runs: workers joined to its
//     namespace would keep only loopback. A running parent with another
//     configuration is reported, with the command that applies the new one;
//   - <prefix>-chromadb, the ChromaDB server joined to the parent's namespace;
//     it holds no namespace, so it is recreated whenever it does not match.
// The prefix is "hal9000" for the daemon; tests use their own.

#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "messages/atoms.hpp"
#include "messages/chroma.hpp"
#include "messages/events.hpp"

namespace hal9000 {

// -- value types ---------------------------------------------------------------

enum class container_state : uint8_t {
  unknown = 0,       // not inspected yet, or the engine did not answer
  running,
  stopped,           // exists, not running
  missing,           // no container by that name
  different_config,  // running, but not with the configured settings
};

/// "unknown", "running", "stopped", "missing", "different-config".
std::string to_string(container_state x);

enum class volume_state : uint8_t {
  unknown = 0,
  exists,   // was there already
  created,  // created by this ensure
  missing,  // neither there nor creatable (see error)
};

/// "unknown", "exists", "created", "missing".
std::string to_string(volume_state x);

struct volume_report {
  std::string name;
  volume_state state = volume_state::unknown;
  std::string error;  // why it is missing; "" otherwise
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, volume_report& x) {
  return f(caf::meta::type_name("hal9000::volume_report"), x.name, x.state,
           x.error);
}

/// What the keeper knows (`claudy daemon status`). Volumes and notes come
/// from the last ensure; container states from the engine when asked.
struct parent_status {
  std::string parent_name;  // e.g. "hal9000-parent"
  container_state parent = container_state::unknown;
  std::string parent_id;    // "" while missing
  std::string chroma_name;  // e.g. "hal9000-chromadb"
  container_state chroma = container_state::unknown;
  std::string chroma_id;
  /// The port ChromaDB is published on at 127.0.0.1 (and reachable at
  /// localhost inside the namespace): the configured CHROMADB_PORT, or the
  /// running parent's when it runs with a different configuration.
  uint16_t chromadb_port = 0;
  std::vector<volume_report> volumes;
  /// What the user should know: what was created or started, differences
  /// between the running parent and the configuration, with the fix.
  std::vector<std::string> notes;
  /// The last ensure's failure ("" when it succeeded or none ran).
  std::string error;
  /// What happened to the parent under this daemon, oldest first (the last
  /// few): "2026-...Z: hal9000-parent was removed from outside; 2 sessions
  /// cut off (restore each with `claudy restart NAME`); recreated".
  std::vector<std::string> incidents;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, parent_status& x) {
  return f(caf::meta::type_name("hal9000::parent_status"), x.parent_name,
           x.parent, x.parent_id, x.chroma_name, x.chroma, x.chroma_id,
           x.chromadb_port, x.volumes, x.notes, x.error, x.incidents);
}

/// The namespace owner's fate, as the keeper tells its watcher (the pool).
/// up=false: it stopped, restarted or was removed under the daemon: every
/// container that joined its namespace keeps only loopback for good.
/// up=true: it runs again (started or recreated with the same configuration),
/// so new workers reach ChromaDB again.
struct parent_change {
  bool up = false;
  std::string reason;  // "hal9000-parent was removed from outside", ...
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, parent_change& x) {
  return f(caf::meta::type_name("hal9000::parent_change"), x.up, x.reason);
}

using parent_watcher_actor = caf::typed_actor<caf::reacts_to<parent_change>>;

/// Starts watching the parent (Docker events and the engine's restarts):
/// changes go to watcher, lifecycle events (parent.lost, parent.restored,
/// engine.down, engine.up) to hub. Either may be invalid.
struct parent_watch_req {
  parent_watcher_actor watcher;
  event_hub_actor hub;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, parent_watch_req& x) {
  return f(caf::meta::type_name("hal9000::parent_watch_req"), x.watcher, x.hub);
}

// -- requests ---------------------------------------------------------------------

/// Stops the containers. all=false changes nothing (the parent and ChromaDB
/// outlive a plain `claudy daemon stop`); all=true stops and removes
/// <prefix>-chromadb, then <prefix>-parent. Volumes are always kept.
struct parent_stop_req {
  bool all = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, parent_stop_req& x) {
  return f(caf::meta::type_name("hal9000::parent_stop_req"), x.all);
}

/// What a stop did, in words for the user.
struct parent_stop_reply {
  std::vector<std::string> done;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, parent_stop_reply& x) {
  return f(caf::meta::type_name("hal9000::parent_stop_reply"), x.done);
}

// -- the interface -------------------------------------------------------------------

using parent_actor = caf::typed_actor<
  /// Makes the volumes, the parent and ChromaDB exist and run (see above);
  /// replies the status afterwards. Errors (hal9000::errc) name the fix:
  ///   not_found       an image is missing and cannot be pulled ("... build
  ///                   it with scripts/build-images parent")
  ///   conflict        CHROMADB_PORT is in use on 127.0.0.1, or a container
  ///                   by our name was not made by this daemon
  ///   unavailable / deadline_exceeded / internal  from the docker actor.
  /// A running parent with another configuration is no error: the status
  /// says different-config and its notes say how to apply the new one.
  caf::replies_to<ensure_atom>::with<parent_status>,
  /// The status with both containers inspected now; never fails (an engine
  /// that does not answer gives unknown states and a note).
  caf::replies_to<status_atom>::with<parent_status>,
  /// See parent_stop_req; errors name the container that could not be removed.
  caf::replies_to<parent_stop_req>::with<parent_stop_reply>,
  /// The ChromaDB monitor's restarter (a parent_actor converts to
  /// chroma::restarter_actor): restarts <prefix>-chromadb, recreating it in
  /// the parent's namespace when it is gone. Never touches the parent.
  caf::replies_to<chroma::restart_req>::with<void>,
  /// See parent_watch_req. When the parent goes away from outside (or the
  /// engine restarts under it), the keeper tells the watcher at once, then
  /// brings the parent back with the daemon's configuration and restarts
  /// ChromaDB in its new namespace, and tells the watcher again. A stop --all
  /// of its own is no loss.
  caf::reacts_to<parent_watch_req>>;

} // namespace hal9000
