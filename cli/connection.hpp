#pragma once
// claudy's link to the daemon: connect with a deadline (remote_actor alone
// waits forever on a hung peer), then one request with a timeout.

#include <chrono>
#include <memory>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/expected.hpp>
#include <caf/scoped_actor.hpp>

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

  /// Sends req and waits for the reply of type Reply, or the timeout, or
  /// the daemon going away (a monitor notices that within milliseconds,
  /// where a request alone would wait out its whole timeout).
  template <class Reply, class Request>
  caf::expected<Reply> call(Request req, std::chrono::milliseconds timeout) {
    caf::expected<Reply> result{caf::error{}};
    auto bridge = bridge_;
    auto where = ep_.str();
    auto asker = sys_->spawn([=](caf::event_based_actor* self) -> caf::behavior {
      return {
        [=](caf::get_atom) -> caf::result<Reply> {
          auto rp = self->make_response_promise<Reply>();
          self->monitor(bridge);
          self->set_down_handler([=](caf::down_msg& dm) {
            auto promise = rp;  // copies share the one pending reply
            if (dm.source == bridge)
              promise.deliver(make_error(errc::unavailable,
                                         "lost the connection to hal9000d at " + where));
          });
          self->request(bridge, timeout, req)
            .then([=](Reply& r) mutable { rp.deliver(std::move(r)); },
                  [=](caf::error& err) mutable { rp.deliver(std::move(err)); });
          return rp;
        },
      };
    });
    {
      caf::scoped_actor self{*sys_, true};
      self->request(asker, timeout + std::chrono::seconds(1), caf::get_atom::value)
        .receive([&](Reply& r) { result = std::move(r); },
                 [&](caf::error& err) { result = lost_or(std::move(err)); });
    }
    caf::anon_send_exit(asker, caf::exit_reason::user_shutdown);
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
