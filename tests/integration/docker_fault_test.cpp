// The docker actor when the connection misbehaves. A fake proxy (the only
// fake here) sits in front of the real socket and injects the faults; the
// actor must answer with clean errors within its timeouts, never hang or crash,
// and work again once the faults stop.
#include <atomic>
#include <thread>

#include <caf/scoped_actor.hpp>
#include <gtest/gtest.h>

#include "actors/docker_actor.hpp"
#include "support/docker_events.hpp"
#include "support/fake_docker_proxy.hpp"
#include "support/test_env.hpp"

using namespace hal9000;
using namespace hal9000::docker;
using namespace std::chrono_literals;
using test::ask;
using test::ask_void;
using proxy_mode = test::fake_docker_proxy::mode;

namespace {

std::string unique_name(const std::string& what) {
  static std::atomic<int> n{0};
  return "h9t-" + what + "-" + test::run_id() + "-" + std::to_string(++n);
}

struct DockerFaultTest : ::testing::Test {
  test::fake_docker_proxy proxy;
  test::system_holder h;
  caf::scoped_actor self{h.sys};
  docker_actor docker;  // through the proxy
  docker_actor direct;  // straight to the engine, to act behind the proxy's back

  void SetUp() override {
    options o;
    o.host = proxy.host();
    o.timeout = 500ms;
    o.concurrency = 2;
    o.reconnect_min = 50ms;
    o.reconnect_max = 200ms;
    docker = spawn_docker(h.sys, o);
    direct = spawn_docker(h.sys, options{});
    auto p = ask<std::string>(self, docker, ping_req{});
    ASSERT_TRUE(p) << error_message(p.error());
  }

  void TearDown() override {
    proxy.set_mode(proxy_mode::pass);
    test::remove_test_containers();
    self->send_exit(docker, caf::exit_reason::user_shutdown);
    self->send_exit(direct, caf::exit_reason::user_shutdown);
  }

  // Back to normal: the same actor answers again.
  void expect_recovers() {
    proxy.set_mode(proxy_mode::pass);
    auto p = ask<std::string>(self, docker, ping_req{}, 5s);
    ASSERT_TRUE(p) << error_message(p.error());
    EXPECT_EQ(*p, "OK");
    auto v = ask<version_info>(self, docker, version_req{}, 5s);
    EXPECT_TRUE(v);
  }

  std::string run(const std::string& name, const std::map<std::string, std::string>& labels) {
    container_spec s;
    s.name = name;
    s.image = "hal9000/test:busybox";
    s.cmd = {"sleep", "300"};
    s.labels = labels;
    s.init = true;
    s.network_mode = "none";
    auto c = ask<container_created>(self, direct, create_req{s});
    EXPECT_TRUE(c) << error_message(c.error());
    if (!c)
      return {};
    EXPECT_FALSE(ask_void(self, direct, start_req{c->id}));
    return c->id;
  }
};

} // namespace

TEST_F(DockerFaultTest, SlowRepliesTimeOutWithDeadlineExceeded) {
  proxy.set_mode(proxy_mode::delay, 3s);
  auto t0 = std::chrono::steady_clock::now();
  auto p = ask<std::string>(self, docker, ping_req{}, 10s);
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(p);
  EXPECT_EQ(error_code(p.error()), errc::deadline_exceeded) << error_message(p.error());
  EXPECT_NE(error_message(p.error()).find("timed out after 500 ms"), std::string::npos)
    << error_message(p.error());
  EXPECT_GE(took, 450ms);
  EXPECT_LT(took, 1500ms);
  expect_recovers();
}

TEST_F(DockerFaultTest, NeverAnsweringEngineTimesOutEveryQueuedCall) {
  proxy.set_mode(proxy_mode::hang);
  // More callers than workers: some wait in the front; every call must end.
  std::vector<caf::error> errors(6);
  std::vector<std::thread> callers;
  auto t0 = std::chrono::steady_clock::now();
  for (size_t i = 0; i < errors.size(); ++i)
    callers.emplace_back([&, i] {
      caf::scoped_actor me{h.sys};
      auto r = ask<container_info>(me, docker, inspect_req{"whatever"}, 10s);
      errors[i] = r ? caf::error{} : r.error();
    });
  for (auto& t : callers)
    t.join();
  auto took = std::chrono::steady_clock::now() - t0;
  for (auto& e : errors) {
    ASSERT_TRUE(e);
    EXPECT_EQ(error_code(e), errc::deadline_exceeded) << error_message(e);
  }
  // Two workers, 500 ms each, three rounds; a queued call may also give up
  // early because it waited longer than a call may take.
  EXPECT_LT(took, 3s);
  expect_recovers();
}

TEST_F(DockerFaultTest, DroppedConnectionsAreUnavailable) {
  proxy.set_mode(proxy_mode::drop);
  for (int i = 0; i < 3; ++i) {  // the kept-alive connection and fresh ones alike
    auto r = ask<container_info>(self, docker, inspect_req{"whatever"}, 5s);
    ASSERT_FALSE(r);
    EXPECT_EQ(error_code(r.error()), errc::unavailable) << error_message(r.error());
    EXPECT_NE(error_message(r.error()).find(proxy.host()), std::string::npos)
      << error_message(r.error());
  }
  expect_recovers();
}

TEST_F(DockerFaultTest, GarbageRepliesAreCleanInternalErrors) {
  proxy.set_mode(proxy_mode::garbage);
  auto r = ask<std::vector<container_summary>>(self, docker, list_req{test::test_labels(), true},
                                               5s);
  ASSERT_FALSE(r);
  EXPECT_EQ(error_code(r.error()), errc::internal) << error_message(r.error());
  EXPECT_NE(error_message(r.error()).find("malformed reply from the Docker engine"),
            std::string::npos)
    << error_message(r.error());
  expect_recovers();
}

TEST_F(DockerFaultTest, ProxyGoneIsUnavailableNamingThePath) {
  test::fake_docker_proxy doomed;
  options o;
  o.host = doomed.host();
  o.timeout = 500ms;
  auto d = spawn_docker(h.sys, o);
  ASSERT_TRUE(ask<std::string>(self, d, ping_req{}));
  doomed.set_mode(proxy_mode::drop);
  doomed.drop_all();
  auto r = ask<std::string>(self, d, ping_req{}, 5s);
  ASSERT_FALSE(r);
  EXPECT_EQ(error_code(r.error()), errc::unavailable);
  self->send_exit(d, caf::exit_reason::user_shutdown);
}

TEST_F(DockerFaultTest, EventStreamSurvivesDroppedConnectionsAndReplaysMissedEvents) {
  auto log = std::make_shared<test::event_log>();
  auto sink = test::spawn_event_recorder(h.sys, log);
  auto group = test::test_labels({{"h9t.events", unique_name("fault")}});
  ASSERT_FALSE(ask_void(self, docker, subscribe_req{sink, group}));
  ASSERT_TRUE(log->wait_status(true, 0, 2s));
  auto before = log->status_count();
  // The engine "goes away": every connection is cut and new ones are refused.
  proxy.set_mode(proxy_mode::drop);
  proxy.drop_all();
  ASSERT_TRUE(log->wait_status(false, before, 2s));
  {
    std::lock_guard<std::mutex> guard{log->mtx};
    EXPECT_NE(log->statuses.back().reason.find(proxy.host()), std::string::npos)
      << log->statuses.back().reason;
  }
  // Something happens while the stream is down...
  auto id = run(unique_name("during"), group);
  ASSERT_FALSE(id.empty());
  proxy.set_mode(proxy_mode::pass);
  ASSERT_TRUE(log->wait_status(true, before, 3s));
  {
    std::lock_guard<std::mutex> guard{log->mtx};
    EXPECT_EQ(log->statuses.back().reason, "reconnected");
  }
  // ...and is delivered after the reconnect (asked for `since` the last event).
  EXPECT_TRUE(log->wait_event([&](const event& e) { return e.id == id && e.action == "start"; },
                              2s));
  // Live events flow again.
  EXPECT_FALSE(ask_void(self, direct, kill_req{id, "KILL"}));
  EXPECT_TRUE(log->wait_event([&](const event& e) { return e.id == id && e.action == "die"; },
                              2s));
}

TEST_F(DockerFaultTest, GarbageOnTheEventStreamIsSurvived) {
  auto log = std::make_shared<test::event_log>();
  auto sink = test::spawn_event_recorder(h.sys, log);
  auto group = test::test_labels({{"h9t.events", unique_name("junk")}});
  ASSERT_FALSE(ask_void(self, docker, subscribe_req{sink, group}));
  ASSERT_TRUE(log->wait_status(true, 0, 2s));
  auto before = log->status_count();
  proxy.set_mode(proxy_mode::garbage);
  proxy.drop_all();
  ASSERT_TRUE(log->wait_status(false, before, 2s));
  proxy.set_mode(proxy_mode::pass);
  ASSERT_TRUE(log->wait_status(true, before, 3s));
  auto id = run(unique_name("after-junk"), group);
  EXPECT_TRUE(log->wait_event([&](const event& e) { return e.id == id && e.action == "start"; },
                              2s));
}
