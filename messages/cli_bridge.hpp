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

namespace hal9000 {

/// Who asks: the token, and the name the client gives itself (audit only).
struct credentials {
  std::string token;
  std::string client;  // e.g. "claudy pid 1234 uid 0"
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, credentials& x) {
  return f(caf::meta::type_name("hal9000::credentials"), x.token, x.client);
}

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
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, daemon_status& x) {
  return f(caf::meta::type_name("hal9000::daemon_status"), x.pid, x.version,
           x.wire_version, x.uptime_s, x.home, x.docker_reachable,
           x.docker_version, x.docker_host, x.docker_error, x.parent_state,
           x.chroma_state, x.chroma_latency_ms, x.pool_running, x.warm,
           x.creating, x.busy, x.min_warm, x.max_warm, x.sessions,
           x.late_bind, x.listen, x.tls, x.notes);
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

// -- the interface -----------------------------------------------------------------

using cli_bridge_actor = caf::typed_actor<
  /// daemon_status; unauthenticated on a bad token.
  caf::replies_to<daemon_status_req>::with<daemon_status>,
  /// What was stopped; the daemon exits right after replying.
  caf::replies_to<daemon_stop_req>::with<daemon_stop_reply>>;

} // namespace hal9000
