#include "runtime/acting_user.hpp"

#include "messages/error.hpp"
#include "runtime/idmap.hpp"
#include "runtime/validate.hpp"

namespace hal9000 {

caf::expected<claim_request> resolve_acting_user(claim_request req,
                                                 const acting_user_rules& rules) {
  auto project = validate_project_path(req.project_dir, rules.allowed_roots, rules.home);
  if (!project)
    return project.error();
  req.project_dir = *project;
  const auto& user = req.user_id;
  if (user == "root" || user.empty()) {
    req.uid = -1;  // the directory's owner, read where it is mounted
    req.gid = -1;
    return req;
  }
  idmap::identity who;
  if (user.rfind("uid-", 0) == 0) {
    auto n = idmap::lookup_user(user.substr(4));
    if (!n)
      return make_error(errc::unauthenticated, "unknown user " + user);
    who = std::move(*n);
  } else if (user.rfind("tls-", 0) == 0) {
    auto client = user.substr(4);
    auto i = rules.tls_users.find(client);
    if (i == rules.tls_users.end())
      return make_error(errc::unauthenticated,
                        "TLS client '" + client + "' is not mapped to a local user: the "
                        "daemon's HAL9000_TLS_USERS must name it (" + client + "=LOGIN)");
    auto n = idmap::lookup_user(i->second);
    if (!n)
      return make_error(errc::unauthenticated, "HAL9000_TLS_USERS maps '" + client
                                                 + "' to '" + i->second + "': "
                                                 + error_message(n.error()));
    who = std::move(*n);
  } else {
    return make_error(errc::unauthenticated, "unknown user " + user);
  }
  if (who.uid != 0)
    if (auto err = idmap::check_access(who, req.project_dir))
      return err;
  req.uid = who.uid == 0 ? -1 : static_cast<int64_t>(who.uid);
  req.gid = who.uid == 0 ? -1 : static_cast<int64_t>(who.gid);
  return req;
}

} // namespace hal9000
