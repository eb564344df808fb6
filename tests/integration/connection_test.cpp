// claudy's connection notices a daemon that goes away in the middle of a
// request at once, instead of waiting out the request's timeout. The daemon
// here is a fake (named so): a bridge that takes a request and never answers,
// in an actor system of its own that is then torn down, closing the TCP
// connection exactly as a killed process would.
#include <atomic>
#include <chrono>
#include <thread>
#include <memory>

#include <caf/io/middleman.hpp>
#include <caf/io/publish.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <gtest/gtest.h>

#include "cli/connection.hpp"
#include "messages/error.hpp"
#include "runtime/system_config.hpp"
#include "support/temp_dir.hpp"
#include "support/test_env.hpp"

using namespace hal9000;
using namespace std::chrono_literals;

namespace {

std::atomic<bool> request_arrived{false};

template <class T>
caf::result<T> never() {
  return caf::delegated<T>{};  // the request stays pending forever
}

cli_bridge_actor::behavior_type fake_hanging_bridge(cli_bridge_actor::pointer) {
  return {
    [](daemon_status_req&) {
      request_arrived = true;
      return never<daemon_status>();
    },
    [](daemon_stop_req&) { return never<daemon_stop_reply>(); },
    [](pool_op_req&) { return never<pool_op_reply>(); },
    [](pool_scale_req&) { return never<pool_op_reply>(); },
    [](session_start_req&) { return never<session_reply>(); },
    [](sessions_req&) { return never<std::vector<session_record>>(); },
    [](session_req&) { return never<session_reply>(); },
    [](session_restart_req&) { return never<session_reply>(); },
    [](events_subscribe_req&) { return never<events_subscribe_reply>(); },
    [](user_setup_req&) { return never<user_setup_reply>(); },
    [](mcp_check_req&) { return never<mcp_report>(); },
    [](terminal_open_req&) { return never<terminal_open_reply>(); },
  };
}

} // namespace

TEST(connection, a_daemon_gone_mid_request_is_noticed_at_once) {
  test::temp_dir home;
  auto server_cfg = std::make_unique<system_config>(true);
  auto server = std::make_unique<caf::actor_system>(*server_cfg);
  auto bridge = server->spawn(fake_hanging_bridge);
  auto port = caf::io::publish(bridge, 0, "127.0.0.1", true);
  ASSERT_TRUE(port) << server->render(port.error());

  cli::endpoint ep;
  ep.port = *port;
  cli::connection conn{ep};
  ASSERT_FALSE(conn.connect(2s));
  caf::expected<daemon_status> result{caf::error{}};
  auto t0 = std::chrono::steady_clock::now();
  std::thread client{[&] { result = conn.call<daemon_status>(daemon_status_req{}, 60s); }};
  // The request is pending at the fake; now the "process" goes away.
  ASSERT_TRUE(test::wait_for([] { return request_arrived.load(); }, 10s));
  caf::anon_send_exit(bridge, caf::exit_reason::kill);
  bridge = nullptr;
  server.reset();
  server_cfg.reset();
  client.join();
  auto waited = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(result);
  EXPECT_EQ(error_code(result.error()), errc::unavailable) << error_message(result.error());
  EXPECT_LT(waited, 10s);  // not the request's 60 s
}
