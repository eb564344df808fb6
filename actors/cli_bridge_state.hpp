#pragma once
// The bridge's state and the handlers of each request group, shared by the
// bridge's translation units (not a public interface).

#include <chrono>

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/cli_bridge.hpp"

namespace hal9000::bridge {

struct state {
  bridge_options opts;
  bridge_peers peers;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  static inline const char* name = "hal9000.cli_bridge";
};

using pointer = cli_bridge_actor::stateful_pointer<state>;

/// none when who carries a token the daemon issued (user set to whose it
/// is: "root", "uid-<n>", "tls-<name>"); otherwise unauthenticated, audited
/// and logged.
caf::error authenticate(pointer self, const credentials& who, const char* what,
                        std::string* user = nullptr);

/// unavailable naming the missing part.
caf::error missing(const char* what);

caf::result<daemon_status> daemon_status_of(pointer self, const std::string& user);
caf::result<pool_op_reply> pool_op(pointer self, const pool_op_req& req,
                                   const std::string& user);
caf::result<pool_op_reply> pool_scale(pointer self, const pool_scale_req& req,
                                      const std::string& user);
caf::result<session_reply> start_session(pointer self, const session_start_req& req,
                                         const std::string& user);
caf::result<user_setup_reply> user_setup(pointer self, const user_setup_req& req,
                                         const std::string& user);
caf::result<std::vector<session_record>> sessions_list(pointer self, const sessions_req& req,
                                                       const std::string& user);
caf::result<session_reply> session_attach_or_stop(pointer self, const session_req& req,
                                                  const std::string& user);
/// none for root (the daemon's own token); otherwise unauthenticated,
/// audited: what (pool changes, daemon stop) is root's alone.
caf::error root_only(const std::string& user, const credentials& who, const char* what);
caf::result<session_reply> session_restart(pointer self, const session_restart_req& req,
                                           const std::string& user);
caf::result<mcp_report> mcp_check(pointer self, const mcp_check_req& req,
                                  const std::string& user);

} // namespace hal9000::bridge
