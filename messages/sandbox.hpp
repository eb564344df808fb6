#pragma once
// The sandbox boundary's typed interface (actors/sandbox.cpp): the credential
// proxy and the egress policy, both living in the parent's network namespace.
//
//   - Credential proxy: listens on 127.0.0.1:HAL9000_PROXY_PORT inside the
//     parent's namespace (only workers, ChromaDB and the parent reach it).
//     Each session of a user with a stored key gets a placeholder
//     (sk-ant-hal9000-<64 hex>) and ANTHROPIC_BASE_URL; the proxy swaps the
//     placeholder for the user's key and forwards to HAL9000_PROXY_UPSTREAM
//     over verified TLS (runtime/proxy_server.hpp). The placeholder is revoked
//     when the session ends (session.ended event) and is worthless elsewhere.
//   - Egress policy (runtime/egress.hpp): the parent namespace's packet
//     filter lets only loopback, replies and the filtering proxy's uid leave;
//     the filtering proxy (<prefix>-egress, tinyproxy) allows the host names
//     of HAL9000_EGRESS_ALLOW; other TCP is redirected to a reporter that
//     answers 403 and publishes an egress.refused event.
//
// Errors (hal9000::errc): unavailable (not attached to a parent yet: no
// placeholder is handed out, the session runs with /login only), internal
// (setns, socket, iptables failed: the message says which).

#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "messages/atoms.hpp"
#include "messages/events.hpp"
#include "messages/session_store.hpp"

namespace hal9000 {

// -- event kinds (published to the event hub) ----------------------------------

namespace event_kinds {
/// One model call through the credential proxy ended. session; details:
/// status, input_tokens, output_tokens, error (when any).
constexpr const char* model_call = "model.call";
/// A worker's connection was refused by the egress policy. session (when the
/// connecting process's container is a session's; see the README for how it
/// is attributed), container_id; details: destination ("host:port" or
/// "ip:port"), via ("packet-filter" or "filtering-proxy"), setting.
constexpr const char* egress_refused = "egress.refused";
} // namespace event_kinds

// -- value types -----------------------------------------------------------------

/// One session as the proxy sees it.
struct sandbox_session {
  std::string session;
  std::string user_id;
  session_usage usage;
  int32_t in_flight = 0;    // model calls in flight now
  std::string last_call;    // ISO-8601 UTC of the last call's end; "" none
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, sandbox_session& x) {
  return f(caf::meta::type_name("hal9000::sandbox_session"), x.session, x.user_id,
           x.usage, x.in_flight, x.last_call);
}

/// `claudy daemon status`: what the sandbox enforces right now.
struct sandbox_status {
  bool attached = false;       // listening in the parent's namespace
  int64_t parent_pid = 0;
  std::string proxy_url;       // as workers see it: http://localhost:<port>
  std::string upstream;        // HAL9000_PROXY_UPSTREAM
  std::string egress;          // "allowlist" | "open" (HAL9000_EGRESS_ALLOW=*) |
                               // "not enforced" (why in error)
  std::vector<std::string> allow;  // the allowed host names
  std::string filter_proxy;    // http://localhost:<HAL9000_EGRESS_PORT>
  uint64_t refusals = 0;       // egress.refused events since the start
  std::string error;           // what is not working, "" when all is
  std::vector<sandbox_session> sessions;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, sandbox_status& x) {
  return f(caf::meta::type_name("hal9000::sandbox_status"), x.attached, x.parent_pid,
           x.proxy_url, x.upstream, x.egress, x.allow, x.filter_proxy, x.refusals,
           x.error, x.sessions);
}

/// A session about to start: its user (the token's) and, once known, its
/// container (for attributing refusals; "" before the claim).
struct sandbox_grant_req {
  std::string session;
  std::string user_id;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, sandbox_grant_req& x) {
  return f(caf::meta::type_name("hal9000::sandbox_grant_req"), x.session, x.user_id);
}

/// What the session command gets: "NAME=value" pairs, exported before it runs
/// (ANTHROPIC_BASE_URL and ANTHROPIC_API_KEY=<placeholder> when the user has a
/// key; HTTPS_PROXY & co. when egress is filtered). Values never contain
/// quotes or whitespace. Never a real key.
struct sandbox_grant {
  std::vector<std::string> env;
  bool placeholder = false;  // a placeholder was issued (the user has a key)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, sandbox_grant& x) {
  return f(caf::meta::type_name("hal9000::sandbox_grant"), x.env, x.placeholder);
}

// -- the interface -----------------------------------------------------------------

using sandbox_actor = caf::typed_actor<
  /// The environment for a session's command (see sandbox_grant). Not
  /// attached: an empty grant (the session runs with what its Claude home
  /// holds), never an error.
  caf::replies_to<sandbox_grant_req>::with<sandbox_grant>,
  /// (attach_atom, parent pid): listens in that process's network namespace
  /// and applies the egress filter there, replacing an earlier attachment.
  /// Call it whenever the parent is (re)created (runtime.cpp does after the
  /// keeper's ensure; parent recovery calls it again). Blocks its own thread
  /// (the actor is detached), never the scheduler. Replies the status.
  caf::replies_to<attach_atom, int64_t>::with<sandbox_status>,
  caf::replies_to<status_atom>::with<sandbox_status>,
  /// Lifecycle events (the sandbox follows the hub): session.started records
  /// the container, session.ended revokes the placeholder.
  caf::reacts_to<lifecycle_event>>;

} // namespace hal9000
