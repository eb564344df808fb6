// The metrics server scraped over real HTTP (httplib::Client on loopback):
// /metrics, /healthz, /status (from a provider and from a real CLI bridge),
// a port in use, and a clean stop.
#include <atomic>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>

#include "actors/cli_bridge.hpp"
#include "messages/error.hpp"
#include "daemon/metrics_server.hpp"
#include "support/test_env.hpp"

using namespace hal9000;
using namespace hal9000::test;
using namespace std::chrono_literals;

namespace {

std::unique_ptr<metrics_server> start_server(metrics_server_options opts) {
  auto srv = metrics_server::start(std::move(opts));
  EXPECT_TRUE(srv) << (srv ? "" : error_message(srv.error()));
  return srv ? std::move(*srv) : nullptr;
}

httplib::Result get(uint16_t port, const char* path) {
  httplib::Client cli{"127.0.0.1", port};
  cli.set_connection_timeout(2s);
  cli.set_read_timeout(10s);
  return cli.Get(path);
}

} // namespace

TEST(metrics_server, serves_metrics_that_follow_updates) {
  auto reg = std::make_shared<metrics::registry>();
  auto& served = reg->add_counter("t_claims_total", "Claims.", {"served"});
  auto srv = start_server({"127.0.0.1", 0, reg, nullptr, 2});
  ASSERT_TRUE(srv);
  ASSERT_NE(srv->port(), 0);
  auto before = get(srv->port(), "/metrics");
  ASSERT_TRUE(before) << httplib::to_string(before.error());
  EXPECT_EQ(before->status, 200);
  EXPECT_EQ(before->get_header_value("Content-Type"), metrics::content_type);
  EXPECT_EQ(before->body.find("t_claims_total{served=\"warm\"}"), std::string::npos);
  served.with({"warm"}).inc(2);
  auto after = get(srv->port(), "/metrics");
  ASSERT_TRUE(after);
  EXPECT_NE(after->body.find("# TYPE t_claims_total counter\n"), std::string::npos);
  EXPECT_NE(after->body.find("t_claims_total{served=\"warm\"} 2\n"), std::string::npos)
    << after->body;
  auto missing = get(srv->port(), "/nope");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
}

TEST(metrics_server, healthz_while_running_and_503_when_stopping) {
  auto srv = start_server({"127.0.0.1", 0, std::make_shared<metrics::registry>(), nullptr, 1});
  ASSERT_TRUE(srv);
  auto ok = get(srv->port(), "/healthz");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->body, "ok\n");
  srv->set_healthy(false);
  auto stopping = get(srv->port(), "/healthz");
  ASSERT_TRUE(stopping);
  EXPECT_EQ(stopping->status, 503);
  // No provider: /status is not served.
  auto status = get(srv->port(), "/status");
  ASSERT_TRUE(status);
  EXPECT_EQ(status->status, 404);
}

TEST(metrics_server, status_comes_from_the_provider_and_its_errors_are_503) {
  std::atomic<bool> fail{false};
  status_provider provider = [&]() -> caf::expected<std::string> {
    if (fail)
      return make_error(errc::deadline_exceeded, "bridge did not answer");
    return std::string{R"({"pid": 42})"};
  };
  auto srv = start_server({"127.0.0.1", 0, std::make_shared<metrics::registry>(), provider, 1});
  ASSERT_TRUE(srv);
  auto ok = get(srv->port(), "/status");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->get_header_value("Content-Type"), "application/json");
  EXPECT_EQ(nlohmann::json::parse(ok->body)["pid"], 42);
  fail = true;
  auto bad = get(srv->port(), "/status");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 503);
  EXPECT_EQ(nlohmann::json::parse(bad->body)["error"], "bridge did not answer");
}

TEST(metrics_server, status_from_a_real_bridge_is_claudys_json) {
  system_holder h;
  bridge_options bo;
  bo.token = "secret-token";
  bo.listen = "127.0.0.1:0";
  bo.peer_timeout = 2s;
  auto bridge = spawn_cli_bridge(h.sys, bo, bridge_peers{});
  auto srv = start_server({"127.0.0.1", 0, std::make_shared<metrics::registry>(),
                           bridge_status_provider(h.sys, bridge, {"secret-token", "metrics"}, 5s),
                           1});
  ASSERT_TRUE(srv);
  auto ok = get(srv->port(), "/status");
  ASSERT_TRUE(ok);
  ASSERT_EQ(ok->status, 200) << ok->body;
  auto j = nlohmann::json::parse(ok->body);
  EXPECT_EQ(j["pid"], static_cast<int64_t>(::getpid()));
  EXPECT_EQ(j["docker"]["error"], "no docker actor");
  EXPECT_EQ(j["control"]["listen"], "127.0.0.1:0");
  // A wrong token is the bridge's refusal, served as 503.
  auto srv2 = start_server({"127.0.0.1", 0, std::make_shared<metrics::registry>(),
                            bridge_status_provider(h.sys, bridge, {"wrong", "metrics"}, 5s), 1});
  ASSERT_TRUE(srv2);
  auto refused = get(srv2->port(), "/status");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503);
  EXPECT_NE(refused->body.find("authentication refused"), std::string::npos) << refused->body;
  srv.reset();
  srv2.reset();
  caf::anon_send_exit(bridge, caf::exit_reason::user_shutdown);
}

TEST(metrics_server, a_port_in_use_is_a_clear_error) {
  auto reg = std::make_shared<metrics::registry>();
  auto first = start_server({"127.0.0.1", 0, reg, nullptr, 1});
  ASSERT_TRUE(first);
  auto second = metrics_server::start({"127.0.0.1", first->port(), reg, nullptr, 1});
  ASSERT_FALSE(second);
  EXPECT_EQ(error_code(second.error()), errc::unavailable);
  auto text = error_message(second.error());
  EXPECT_NE(text.find("127.0.0.1:" + std::to_string(first->port()) + " is in use"),
            std::string::npos)
    << text;
  EXPECT_NE(text.find("HAL9000_METRICS_PORT"), std::string::npos) << text;
  auto none = metrics_server::start({"127.0.0.1", 0, nullptr, nullptr, 1});
  ASSERT_FALSE(none);
  EXPECT_EQ(error_code(none.error()), errc::invalid_argument);
}

TEST(metrics_server, stop_is_clean_idempotent_and_frees_the_port) {
  auto reg = std::make_shared<metrics::registry>();
  auto srv = start_server({"127.0.0.1", 0, reg, nullptr, 1});
  ASSERT_TRUE(srv);
  auto port = srv->port();
  srv->stop();
  srv->stop();
  EXPECT_FALSE(get(port, "/healthz"));
  // The same port can be served again right away.
  auto again = start_server({"127.0.0.1", port, reg, nullptr, 1});
  ASSERT_TRUE(again);
  auto ok = get(port, "/healthz");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
}
