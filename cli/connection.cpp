#include "cli/connection.hpp"

#include <pwd.h>
#include <unistd.h>

#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>

#include "messages/wire.hpp"
#include "runtime/auth_token.hpp"
#include "runtime/tls_library.hpp"

namespace hal9000::cli {

connection::connection(endpoint ep)
  : ep_(std::move(ep)), cfg_(true, ep_.tls) {
  // One request at a time and a sink that never blocks: one scheduler
  // thread is enough, and each thread less is less start-up and fewer
  // wake-ups competing for the CPU on a loaded host.
  cfg_.set("scheduler.max-threads", 1);
  sys_ = std::make_unique<caf::actor_system>(cfg_);
}

connection::~connection() {
  bridge_ = nullptr;
  sys_.reset();
}

caf::error connection::connect(std::chrono::milliseconds timeout) {
  if (ep_.tls.enabled() && !sys_->has_openssl_manager())
    return make_error(errc::unavailable, "TLS is unavailable here: "
                                           + error_message(tls_library::load()));
  auto mm = ep_.tls.enabled() ? sys_->openssl_manager().actor_handle()
                              : sys_->middleman().actor_handle();
  caf::error result;
  caf::scoped_actor self{*sys_, true};
  self->request(mm, timeout, caf::connect_atom::value, ep_.host, ep_.port)
    .receive(
      [&](const caf::node_id&, caf::strong_actor_ptr& ptr,
          const std::set<std::string>& ifs) {
        if (!ptr)
          result = make_error(errc::unavailable,
                              "nothing is published at " + ep_.str());
        else if (!sys_->assignable<cli_bridge_actor>(ifs))
          result = make_error(errc::unavailable,
                              "the daemon at " + ep_.str()
                                + " speaks another protocol version");
        else
          bridge_ = caf::actor_cast<cli_bridge_actor>(std::move(ptr));
      },
      [&](caf::error& err) {
        auto code = error_code(err);
        if (code == errc::deadline_exceeded)
          result = make_error(errc::deadline_exceeded,
                              "hal9000d at " + ep_.str() + " did not answer within "
                                + std::to_string(timeout.count()) + " ms");
        else if (err == caf::sec::incompatible_application_ids)
          result = make_error(errc::unavailable,
                              "the daemon at " + ep_.str()
                                + " speaks another protocol version (ours: "
                                + wire_version + ")");
        else if (ep_.tls.enabled() && err == caf::sec::disconnect_during_handshake)
          result = make_error(errc::unauthenticated,
                              "the daemon at " + ep_.str()
                                + " refused our TLS certificate (or we refused its)");
        else if (err == caf::sec::cannot_connect_to_node)
          result = make_error(errc::unavailable,
                              "hal9000d is not running at " + ep_.str()
                                + " (start it with: claudy daemon start)");
        else
          result = make_error(errc::unavailable,
                              "cannot connect to hal9000d at " + ep_.str() + ": "
                                + error_message(err)
                                + (ep_.tls.enabled() ? "" : " (does it require TLS? use --tls-dir)"));
      });
  return result;
}

namespace {

// A token that cannot be read is a refusal (exit 4), never "not found"
// (exit 5 is for sessions and images): the caller is told who can fix it.
// root without auth/token: no daemon ever started with this HAL9000_HOME;
// anyone else: root has not issued them a token (`claudy setup --user`).
caf::error no_token(const caf::error& err) {
  auto uid = ::getuid();
  std::string fix;
  if (uid == 0) {
    fix = "start the daemon with `claudy daemon start` (it writes the token), or set "
          "HAL9000_HOME to the daemon's state directory";
  } else {
    std::string login = std::to_string(uid);
    struct passwd pw;
    struct passwd* found = nullptr;
    char buf[4096];
    if (::getpwuid_r(uid, &pw, buf, sizeof(buf), &found) == 0 && found)
      login = found->pw_name;
    fix = "this user (uid " + std::to_string(uid) + ") has no token from the daemon: ask root "
          "to run `sudo claudy setup --user " + login + "`, which delivers one to "
          "~/.hal9000/auth/token (or pass --token-file)";
  }
  return make_error(errc::unauthenticated, error_message(err) + ": " + fix);
}

} // namespace

caf::expected<credentials> connection::who() {
  if (token_.empty()) {
    auto token = read_token(ep_.token_file);
    if (!token)
      return no_token(token.error());
    token_ = std::move(*token);
  }
  return credentials{token_, "claudy pid " + std::to_string(::getpid()) + " uid "
                               + std::to_string(::getuid())};
}

caf::error connection::lost_or(caf::error err) {
  if (error_code(err) == errc::deadline_exceeded)
    return make_error(errc::deadline_exceeded,
                      "hal9000d at " + ep_.str() + " did not reply in time");
  if (err.category() == caf::atom("system"))
    return make_error(errc::unavailable, "lost the connection to hal9000d at "
                                           + ep_.str() + ": " + error_message(err));
  return err;
}

} // namespace hal9000::cli
