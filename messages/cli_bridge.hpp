#pragma once
// The control endpoint's typed interface: what `claudy` (or any CAF node) may
// ask the daemon. Published by the daemon on HAL9000_LISTEN (default
// 127.0.0.1:7700). Every request carries the token from
// HAL9000_HOME/auth/token; a missing or wrong one is refused with
// errc::unauthenticated and written to the audit log.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "messages/credentials.hpp"
#include "messages/events.hpp"
#include "messages/mcp.hpp"
#include "messages/parent.hpp"
#include "messages/sandbox.hpp"
#include "messages/pool.hpp"
#include "messages/resource_limits.hpp"
#include "messages/session_store.hpp"
#include "messages/sessions.hpp"
#include "messages/terminal.hpp"

namespace hal9000 {

/// The daemon's health at a glance (`claudy daemon status`).
struct daemon_status {
  int64_t pid = 0;
  std::string version;
  std::string wire_version;
  int64_t uptime_s = 0;
  std::string home;
  // Docker engine
  bool docker_reachable = false;
  std::string docker_version;
  std::string docker_host;
  std::string docker_error;
  // Parent container and ChromaDB
  std::string parent_state;    // running, missing, ...
  std::string chroma_state;    // healthy, degraded, down, unknown
  double chroma_latency_ms = 0;
  // Pool and sessions
  bool pool_running = false;
  uint32_t warm = 0;
  uint32_t creating = 0;
  uint32_t busy = 0;
  uint32_t min_warm = 0;
  uint32_t max_warm = 0;
  uint32_t sessions = 0;
  std::string late_bind;  // "late-bind" or "cold: <reason>"
  // Control endpoint
  std::string listen;  // host:port
  bool tls = false;
  std::vector<std::string> notes;  // anything the user should know
  // Appended in hal9000-proto-2:
  std::string user;  // who the daemon took the asker for (its token's user)
  /// Memory Bank, plugins (and ChromaDB's with a parent): exists / created /
  /// missing as the last start found them.
  std::vector<volume_report> volumes;
  // Appended in hal9000-proto-3: the credential proxy and the egress policy.
  sandbox_status sandbox;
  /// Where hal9000d runs: "container (hal9000d in hal9000-parent, workers
  /// join hal9000-netns)" or "host process".
  std::string mode;
  /// The container hal9000d runs in ("" for a host process): what `claudy
  /// daemon stop` waits on and `stop --all` removes.
  std::string container;
  // Appended in hal9000-proto-6: the daemon's configuration as NAME=VALUE
  // (daemon_env of its config): what `claudy daemon start` compares the
  // settings it was given with when the daemon runs already.
  std::map<std::string, std::string> settings;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, daemon_status& x) {
  return f(caf::meta::type_name("hal9000::daemon_status"), x.pid, x.version,
           x.wire_version, x.uptime_s, x.home, x.docker_reachable,
           x.docker_version, x.docker_host, x.docker_error, x.parent_state,
           x.chroma_state, x.chroma_latency_ms, x.pool_running, x.warm,
           x.creating, x.busy, x.min_warm, x.max_warm, x.sessions,
           x.late_bind, x.listen, x.tls, x.notes, x.user, x.volumes, x.sandbox, x.mode,
           x.container, x.settings);
}

// -- requests -------------------------------------------------------------------

struct daemon_status_req {
  credentials who;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, daemon_status_req& x) {
  return f(caf::meta::type_name("hal9000::daemon_status_req"), x.who);
}

/// Shuts the daemon down cleanly. all=false: refills stop, warm workers are
/// removed, sessions and the parent keep running (adopted at the next start).
/// all=true: sessions and the parent are stopped too.
struct daemon_stop_req {
  credentials who;
  bool all = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, daemon_stop_req& x) {
  return f(caf::meta::type_name("hal9000::daemon_stop_req"), x.who, x.all);
}

/// What a stop did, in words for the user.
struct daemon_stop_reply {
  std::vector<std::string> done;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, daemon_stop_reply& x) {
  return f(caf::meta::type_name("hal9000::daemon_stop_reply"), x.done);
}

// -- pool ---------------------------------------------------------------------------

/// `claudy pool <op>`: op is status, start, stop, cleanup or warm (scale has
/// its own request). Replies the pool's status after the operation.
struct pool_op_req {
  credentials who;
  std::string op;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, pool_op_req& x) {
  return f(caf::meta::type_name("hal9000::pool_op_req"), x.who, x.op);
}

/// What a pool operation did, with the status afterwards.
struct pool_op_reply {
  std::string op;
  std::vector<std::string> done;      // e.g. "removed hal9000-warm-3"
  std::vector<std::string> warnings;  // e.g. "capped at MAX_WARM_WORKERS (5)"
  pool_status status;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, pool_op_reply& x) {
  return f(caf::meta::type_name("hal9000::pool_op_reply"), x.op, x.done,
           x.warnings, x.status);
}

/// `claudy pool scale N`.
struct pool_scale_req {
  credentials who;
  int32_t n = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, pool_scale_req& x) {
  return f(caf::meta::type_name("hal9000::pool_scale_req"), x.who, x.n);
}

// -- sessions ---------------------------------------------------------------------

/// `claudy PATH`: a session for the project at path (on the daemon's host),
/// forwarded to the sessions actor as a session_start (messages/sessions.hpp)
/// with the token's user.
struct session_start_req {
  credentials who;
  std::string path;
  std::string name;
  bool no_limits = false;
  std::string memory;      // empty: the configured default
  std::string cpus;
  std::string pids_limit;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, session_start_req& x) {
  return f(caf::meta::type_name("hal9000::session_start_req"), x.who, x.path,
           x.name, x.no_limits, x.memory, x.cpus, x.pids_limit);
}

/// `claudy sessions`: every session (ended ones with all = true).
struct sessions_req {
  credentials who;
  bool all = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, sessions_req& x) {
  return f(caf::meta::type_name("hal9000::sessions_req"), x.who, x.all);
}

/// `claudy attach NAME` (stop = false) and `claudy stop NAME` (stop = true).
struct session_req {
  credentials who;
  std::string name;
  bool stop = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, session_req& x) {
  return f(caf::meta::type_name("hal9000::session_req"), x.who, x.name, x.stop);
}

/// `claudy restart NAME`: a new container for the session NAME with the same
/// project, user home and limits (the record's); the old container, if any,
/// is removed first (its end: replaced). For a session cut off from its
/// network, or one that ended. not_found for an unknown session.
struct session_restart_req {
  credentials who;
  std::string name;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, session_restart_req& x) {
  return f(caf::meta::type_name("hal9000::session_restart_req"), x.who, x.name);
}

// -- users ------------------------------------------------------------------------

/// `claudy setup`: stores an Anthropic API key for the user the token names,
/// at HAL9000_HOME/users/<user>/secrets/anthropic_key (0400); sessions read
/// it at /run/secrets/anthropic_key. key empty: nothing stored. for_user
/// (root only): a login name or uid on the daemon's host; its token
/// (auth/users/<uid>/token) is issued when missing and the key, if any, is
/// stored for that user instead. The key is never logged or echoed.
struct user_setup_req {
  credentials who;
  std::string key;
  std::string for_user;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, user_setup_req& x) {
  return f(caf::meta::type_name("hal9000::user_setup_req"), x.who, x.key, x.for_user);
}

struct user_setup_reply {
  std::string user_id;             // whose state was set up
  std::vector<std::string> done;   // in words, e.g. "stored the API key in ..."
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, user_setup_reply& x) {
  return f(caf::meta::type_name("hal9000::user_setup_reply"), x.user_id, x.done);
}

// -- the interface -----------------------------------------------------------------

using cli_bridge_actor = caf::typed_actor<
  /// daemon_status; unauthenticated on a bad token.
  caf::replies_to<daemon_status_req>::with<daemon_status>,
  /// What was stopped; the daemon exits right after replying.
  caf::replies_to<daemon_stop_req>::with<daemon_stop_reply>,
  /// invalid_argument for an unknown op; conflict for warm at MAX.
  caf::replies_to<pool_op_req>::with<pool_op_reply>,
  /// invalid_argument for a negative count; above MAX is capped with a warning.
  caf::replies_to<pool_scale_req>::with<pool_op_reply>,
  /// The sessions actor's answer (messages/sessions.hpp): invalid_argument
  /// for a bad path, name or limit (nothing is claimed); conflict when the
  /// name is taken by another project's running session; deadline_exceeded
  /// when no worker served the claim in time.
  caf::replies_to<session_start_req>::with<session_reply>,
  caf::replies_to<sessions_req>::with<std::vector<session_record>>,
  /// not_found for an unknown session (attach: or an ended one; stop of an
  /// ended session succeeds with existing = true).
  caf::replies_to<session_req>::with<session_reply>,
  /// not_found for an unknown session; otherwise like session_start_req.
  caf::replies_to<session_restart_req>::with<session_reply>,
  /// Subscribes at the event hub; unavailable without a hub.
  caf::replies_to<events_subscribe_req>::with<events_subscribe_reply>,
  /// permission denied (unauthenticated) for for_user unless root;
  /// invalid_argument for a malformed key or unknown user.
  caf::replies_to<user_setup_req>::with<user_setup_reply>,
  /// `claudy attach|exec|logs`: a relayed exec in the session's container
  /// (messages/terminal.hpp); unauthenticated for another user's session.
  caf::replies_to<terminal_open_req>::with<terminal_open_reply>,
  /// not_found for an unknown or ended session; the report carries what
  /// each MCP server answered (messages/mcp.hpp).
  caf::replies_to<mcp_check_req>::with<mcp_report>>;

} // namespace hal9000
