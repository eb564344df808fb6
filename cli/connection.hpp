#pragma once
// claudy's link to the daemon: connect with a deadline (remote_actor alone
// waits forever on a hung peer), then one request with a timeout.

#include <chrono>
#include <memory>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/after.hpp>
#include <caf/expected.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/system_messages.hpp>

#include "messages/cli_bridge.hpp"
#include "messages/error.hpp"
#include "runtime/system_config.hpp"

namespace hal9000::cli {

struct endpoint {
  std::string host = "127.0.0.1";
  uint16_t port = 7700;
  tls_files tls;           // client bundle; empty: plain TCP
  std::string token_file;  // where the token is read from
  std::string str() const { return host + ":" + std::to_string(port); }
};

class connection {
public:
  explicit connection(endpoint ep);
  ~connection();

  /// Connects within timeout. unavailable "hal9000d is not running ..." when
  /// nothing listens, deadline_exceeded when the peer never answers.
  caf::error connect(std::chrono::milliseconds timeout);

  /// The credentials every request carries (reads the token file once).
  caf::expected<credentials> who();

  /// Sends req and waits for the reply of type Reply.
  template <class Reply, class Request>
  caf::expected<Reply> call(Request req, std::chrono::milliseconds timeout) {
    caf::expected<Reply> result{caf::error{}};
    caf::scoped_actor self{*sys_, true};
    // Monitored, and the reply awaited as a message: a daemon killed while it
    // handles the request is noticed at once (a reply from a lost node never
    // comes, so a plain request would wait out its whole timeout).
    self->monitor(bridge_);
    self->send(bridge_, std::move(req));
    self->receive([&](Reply& r) { result = std::move(r); },
                  [&](caf::error& err) { result = lost_or(std::move(err)); },
                  [&](caf::down_msg& dm) {
                    result = make_error(errc::unavailable,
                                        "lost the connection to hal9000d at " + ep_.str()
                                          + " before it replied: " + sys_->render(dm.reason));
                  },
                  caf::after(timeout) >> [&] {
                    result = make_error(errc::deadline_exceeded,
                                        "hal9000d at " + ep_.str() + " did not reply in time");
                  });
    self->demonitor(bridge_.address());
    return result;
  }

  const endpoint& where() const { return ep_; }
  caf::actor_system& system() { return *sys_; }

private:
  caf::error lost_or(caf::error err);

  endpoint ep_;
  system_config cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  cli_bridge_actor bridge_;
  std::string token_;
};

} // namespace hal9000::cli
