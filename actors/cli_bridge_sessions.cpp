// The bridge's session commands: authenticated in cli_bridge.cpp, then
// forwarded to the sessions actor (messages/sessions.hpp), which owns every
// rule. Delegated: the sessions actor answers the client directly, within
// its own deadlines, so the bridge adds no timeout of its own.
#include "actors/cli_bridge_state.hpp"

namespace hal9000::bridge {

caf::result<session_reply> start_session(pointer self, const session_start_req& req,
                                         const std::string& user) {
  auto& sessions = self->state.peers.sessions;
  if (!sessions)
    return missing("a sessions actor");
  session_start s;
  s.user_id = user;
  s.client = req.who.client;
  s.path = req.path;
  s.name = req.name;
  s.no_limits = req.no_limits;
  s.memory = req.memory;
  s.cpus = req.cpus;
  s.pids_limit = req.pids_limit;
  return self->delegate(sessions, start_atom::value, std::move(s));
}

caf::result<std::vector<session_record>> sessions_list(pointer self, const sessions_req& req,
                                                       const std::string& user) {
  auto& sessions = self->state.peers.sessions;
  if (!sessions)
    return missing("a sessions actor");
  return self->delegate(sessions, list_atom::value, req.all, user);
}

caf::result<session_reply> session_attach_or_stop(pointer self, const session_req& req,
                                                  const std::string& user) {
  auto& sessions = self->state.peers.sessions;
  if (!sessions)
    return missing("a sessions actor");
  if (req.stop)
    return self->delegate(sessions, stop_atom::value, req.name, user, req.who.client);
  return self->delegate(sessions, caf::get_atom::value, req.name, user);
}

caf::result<session_reply> session_restart(pointer self, const session_restart_req& req,
                                           const std::string& user) {
  auto& sessions = self->state.peers.sessions;
  if (!sessions)
    return missing("a sessions actor");
  return self->delegate(sessions, restart_atom::value, req.name, user, req.who.client);
}

} // namespace hal9000::bridge
