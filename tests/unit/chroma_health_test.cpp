// The monitor's logic without actors: what counts as a heartbeat, and how
// probe results turn into states and restart decisions.
#include <gtest/gtest.h>

#include "actors/chroma_health.hpp"

using namespace hal9000::chroma;
using namespace std::chrono_literals;

namespace {

probe_result ok(double ms = 1.0) {
  return probe_result{true, ms, heartbeat_v2, ""};
}

probe_result fail(std::string why = "connection refused") {
  return probe_result{false, 0.5, heartbeat_v2, std::move(why)};
}

health_policy policy() {
  health_policy p;
  p.failure_threshold = 3;
  p.slow = 100ms;
  p.backoff_min = 1s;
  p.backoff_max = 4s;
  return p;
}

} // namespace

TEST(check_heartbeat, accepts_only_200_with_the_number) {
  EXPECT_EQ(check_heartbeat(200, R"({"nanosecond heartbeat": 1732000000000000000})"), "");
  EXPECT_NE(check_heartbeat(500, R"({"nanosecond heartbeat": 1})"), "");
  EXPECT_NE(check_heartbeat(200, R"({"ok": true})"), "");
  EXPECT_NE(check_heartbeat(200, R"({"nanosecond heartbeat": "soon"})"), "");
  EXPECT_NE(check_heartbeat(200, "OK"), "");
  EXPECT_NE(check_heartbeat(200, ""), "");
  EXPECT_NE(check_heartbeat(204, ""), "");
  EXPECT_NE(check_heartbeat(500, "Internal Server Error").find("HTTP 500"), std::string::npos);
}

TEST(health_tracker, unknown_then_healthy_with_latency) {
  health_tracker t{policy(), "http://127.0.0.1:1"};
  auto now = health_tracker::clock::now();
  EXPECT_EQ(t.current().state, health::unknown);
  EXPECT_TRUE(t.on_probe(ok(2.5), now, 1000));
  EXPECT_EQ(t.current().state, health::healthy);
  EXPECT_DOUBLE_EQ(t.current().latency_ms, 2.5);
  EXPECT_EQ(t.current().checked_at_ms, 1000);
  EXPECT_EQ(t.current().url, "http://127.0.0.1:1");
  EXPECT_FALSE(t.on_probe(ok(), now, 1001));  // no change
}

TEST(health_tracker, slow_success_is_degraded) {
  health_tracker t{policy(), "u"};
  t.on_probe(ok(150), health_tracker::clock::now(), 1);
  EXPECT_EQ(t.current().state, health::degraded);
  EXPECT_NE(t.current().last_error.find("slow"), std::string::npos);
}

TEST(health_tracker, failures_degrade_then_down_at_threshold) {
  health_tracker t{policy(), "u"};
  auto now = health_tracker::clock::now();
  t.on_probe(ok(), now, 1);
  t.on_probe(fail("boom"), now, 2);
  EXPECT_EQ(t.current().state, health::degraded);
  EXPECT_EQ(t.current().consecutive_failures, 1u);
  EXPECT_EQ(t.current().last_error, "boom");
  EXPECT_FALSE(t.take_restart(now));  // not down yet
  t.on_probe(fail(), now, 3);
  EXPECT_EQ(t.current().state, health::degraded);
  EXPECT_TRUE(t.on_probe(fail(), now, 4));
  EXPECT_EQ(t.current().state, health::down);
  EXPECT_EQ(t.current().consecutive_failures, 3u);
  t.on_probe(ok(), now, 5);
  EXPECT_EQ(t.current().state, health::healthy);
  EXPECT_EQ(t.current().consecutive_failures, 0u);
}

TEST(health_tracker, restarts_with_exponential_backoff) {
  health_tracker t{policy(), "u"};
  auto now = health_tracker::clock::now();
  for (int i = 0; i < 3; ++i)
    t.on_probe(fail(), now, i);
  auto a1 = t.take_restart(now);
  ASSERT_TRUE(a1);
  EXPECT_EQ(*a1, 1u);
  EXPECT_FALSE(t.take_restart(now));  // one in flight
  t.on_restart_done(now);
  EXPECT_EQ(t.current().restarts, 1u);
  EXPECT_EQ(t.backoff(), 2s);
  // A restart needs threshold new failures and the backoff to pass.
  for (int i = 0; i < 3; ++i)
    t.on_probe(fail(), now, i);
  EXPECT_FALSE(t.take_restart(now + 999ms));
  auto a2 = t.take_restart(now + 1s);
  ASSERT_TRUE(a2);
  EXPECT_EQ(*a2, 2u);
  t.on_restart_failed("no such container: hal9000-chromadb", now + 1s);
  EXPECT_EQ(t.current().restarts, 1u);
  EXPECT_NE(t.current().last_error.find("restart failed: no such container"),
            std::string::npos);
  EXPECT_EQ(t.backoff(), 4s);
  for (int i = 0; i < 3; ++i)
    t.on_probe(fail(), now, i);
  EXPECT_FALSE(t.take_restart(now + 2999ms));  // waits the 2 s backoff
  ASSERT_TRUE(t.take_restart(now + 3s));
  t.on_restart_done(now + 3s);
  EXPECT_EQ(t.backoff(), 4s);  // capped at max
  // Healthy again: backoff and attempts start over.
  t.on_probe(ok(), now + 4s, 10);
  EXPECT_EQ(t.backoff(), 1s);
  for (int i = 0; i < 3; ++i)
    t.on_probe(fail(), now + 5s, i);
  auto a = t.take_restart(now + 5s);
  ASSERT_TRUE(a);
  EXPECT_EQ(*a, 1u);
}
