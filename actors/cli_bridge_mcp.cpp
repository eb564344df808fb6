// The bridge's `claudy doctor NAME`: runs the worker image's MCP check script
// in the session's container (a Docker exec, answered by the docker actor off
// the scheduler) and replies what each MCP server answered.
#include <chrono>

#include "actors/cli_bridge_state.hpp"
#include "messages/error.hpp"
#include "runtime/mcp_config.hpp"
#include "runtime/validate.hpp"

namespace hal9000::bridge {

namespace {

using namespace std::chrono_literals;

// The check gives each server 10 s (they run side by side); the exec itself
// adds Docker's round trips.
constexpr auto check_timeout = 30s;

void run_check(pointer self, caf::typed_response_promise<mcp_report> rp, session_record rec) {
  mcp_report rep;
  rep.session = rec.name;
  rep.container = rec.container_id;
  rep.config = mcp::container_config;
  docker::exec_req ex;
  ex.id = rec.container_id;
  ex.cmd = {"node", mcp::check_script, mcp::container_config};
  ex.working_dir = "/";
  self->request(self->state.peers.docker, check_timeout, std::move(ex))
    .then(
      [rp, rep](docker::exec_result& r) mutable {
        rep.servers = mcp::parse_check_output(r.out);
        if (rep.servers.empty()) {
          auto why = r.err.empty() ? r.out : r.err;
          if (why.size() > 400)
            why = why.substr(why.size() - 400);
          rep.error = "the MCP check gave no answer (exit " + std::to_string(r.exit_code)
                      + "): " + why;
          if (r.exit_code == 2)
            rep.error += " (is " + rep.config + " bound into this session? "
                         "HAL9000_MANAGED_MCP and the daemon's status say)";
        }
        rp.deliver(std::move(rep));
      },
      [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
}

} // namespace

caf::result<mcp_report> mcp_check(pointer self, const mcp_check_req& req,
                                  const std::string& user) {
  if (!self->state.peers.store)
    return missing("a session store");
  if (!self->state.peers.docker)
    return missing("a Docker connection");
  if (auto err = valid_name(req.name))
    return err;
  auto rp = self->make_response_promise<mcp_report>();
  self->request(self->state.peers.store, self->state.opts.peer_timeout, caf::get_atom::value,
                req.name)
    .then(
      [self, rp, user](session_record& rec) mutable {
        // Only root looks into other users' sessions.
        if (rec.state == session_state::ended || (user != "root" && !rec.user_id.empty() && rec.user_id != user)) {
          rp.deliver(make_error(errc::not_found, rec.state == session_state::ended
                                  ? "session '" + rec.name + "' has ended (" + to_string(rec.end) + ")"
                                  : "no session named '" + rec.name + "' (see: claudy sessions)"));
          return;
        }
        if (rec.container_id.empty()) {
          rp.deliver(make_error(errc::unavailable, "session '" + rec.name
                                                     + "' has no container yet: try again"));
          return;
        }
        run_check(self, rp, std::move(rec));
      },
      [rp, name = req.name](caf::error& err) mutable {
        if (error_code(err) == errc::not_found)
          rp.deliver(make_error(errc::not_found, "no session named '" + name
                                                   + "' (see: claudy sessions)"));
        else
          rp.deliver(std::move(err));
      });
  return rp;
}

} // namespace hal9000::bridge
