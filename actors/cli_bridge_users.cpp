// The bridge's `claudy setup`: per-user tokens and API keys. File work (mkdir,
// chown, fsync, getpwnam) runs in a one-shot detached actor, never on the
// scheduler.
#include <chrono>

#include <caf/event_based_actor.hpp>
#include <nlohmann/json.hpp>
#include <pwd.h>
#include <sys/stat.h>

#include "actors/cli_bridge_state.hpp"
#include "messages/error.hpp"
#include "runtime/blocking.hpp"
#include "runtime/logging.hpp"
#include "runtime/users.hpp"

namespace hal9000::bridge {

namespace {

using namespace std::chrono_literals;

// A login name or a uid on the daemon's host.
caf::expected<uid_t> resolve_uid(const std::string& who) {
  bool digits = !who.empty() && who.size() <= 10;
  for (auto c : who)
    digits = digits && c >= '0' && c <= '9';
  uid_t uid = 0;
  if (digits) {
    uid = static_cast<uid_t>(std::stoul(who));
  } else {
    passwd pw{};
    passwd* found = nullptr;
    char buf[4096];
    if (::getpwnam_r(who.c_str(), &pw, buf, sizeof(buf), &found) != 0 || !found)
      return make_error(errc::invalid_argument,
                        "no user named '" + who + "' on the daemon's host");
    uid = found->pw_uid;
  }
  if (uid == 0)
    return make_error(errc::invalid_argument,
                      "root needs no per-user token: it uses auth/token");
  return uid;
}

struct setup_job {
  std::string home;
  user_tokens_ptr tokens;
  uint32_t worker_uid = 1000;
  uint32_t worker_gid = 1000;
  std::string asker;
  std::string key;
  std::string for_user;
  uint16_t port = 7700;  // the daemon's control port, for the user's config
};

caf::expected<user_setup_reply> run_setup(const setup_job& job) {
  user_setup_reply r;
  r.user_id = job.asker;
  if (!job.for_user.empty()) {
    auto uid = resolve_uid(job.for_user);
    if (!uid)
      return uid.error();
    auto token = issue_user_token(job.home, *uid);
    if (!token)
      return token.error();
    r.user_id = local_user_id(*uid);
    job.tokens->add(*token, r.user_id);
    r.done.push_back("token of " + r.user_id + " at " + user_token_path(job.home, *uid)
                     + " (0400, readable by uid " + std::to_string(*uid) + " only)");
    // Where that user's claudy looks with no variable set.
    if (auto delivered = deliver_user_token(*uid, *token, job.port))
      r.done.push_back("delivered to " + *delivered + " (with HAL9000_PORT="
                       + std::to_string(job.port) + " in its config.json): claudy "
                       "needs no settings");
    else
      r.done.push_back("not delivered into the user's home ("
                       + error_message(delivered.error()) + "): they set HAL9000_TOKEN_FILE="
                       + user_token_path(job.home, *uid));
  }
  auto up = user_paths_for(job.home, r.user_id);
  if (auto err = ensure_user_dirs(up, r.user_id, job.worker_uid, job.worker_gid))
    return err;
  r.done.push_back("Claude home of " + r.user_id + " at " + up.claude);
  if (!job.key.empty()) {
    // The key belongs to whoever owns the secrets directory: the user once a
    // session id-mapped it (runtime/session_mounts.hpp), else the worker.
    struct stat st;
    uid_t owner = job.worker_uid;
    gid_t group = job.worker_gid;
    if (::lstat(up.secrets.c_str(), &st) == 0) {
      owner = st.st_uid;
      group = st.st_gid;
    }
    if (auto err = store_anthropic_key(up, job.key, owner, group))
      return err;
    r.done.push_back("stored the API key in " + up.key
                     + " (0400); it stays on this host: sessions get a placeholder that the "
                       "daemon's credential proxy swaps for it");
  }
  return r;
}

} // namespace

caf::result<user_setup_reply> user_setup(pointer self, const user_setup_req& req,
                                         const std::string& user) {
  auto& o = self->state.opts;
  if (!req.for_user.empty() && user != "root") {
    audit("refused", {{"request", "setup --user"}, {"who", user},
                      {"result", "only root sets up another user"}});
    return make_error(errc::unauthenticated,
                      "only root may set up another user (you are " + user + ")");
  }
  if (req.key.empty() && req.for_user.empty())
    return make_error(errc::invalid_argument,
                      "nothing to set up: give the API key on standard input");
  setup_job job{o.cfg.home, o.tokens, o.cfg.worker_uid, o.cfg.worker_gid,
                user, req.key, req.for_user, o.cfg.port};
  auto rp = self->make_response_promise<user_setup_reply>();
  bool with_key = !req.key.empty();
  run_blocking(self, 30s, [job] { return run_setup(job); })
    .then(
      [rp, user, with_key](user_setup_reply& r) mutable {
        audit("user.setup", {{"who", user}, {"user", r.user_id}, {"key", with_key},
                             {"result", "ok"}});
        rp.deliver(std::move(r));
      },
      [rp, user](caf::error& err) mutable {
        audit("user.setup", {{"who", user}, {"result", error_message(err)}});
        rp.deliver(std::move(err));
      });
  return rp;
}

} // namespace hal9000::bridge
