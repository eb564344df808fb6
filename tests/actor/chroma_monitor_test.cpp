// The ChromaDB monitor against a real ChromaDB server (the pinned npm
// packages, run as a child process) and, for fault injection, fake servers.
#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <httplib.h>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/chroma_monitor.hpp"
#include "actors/docker_actor.hpp"
#include "support/chroma_server.hpp"
#include "messages/error.hpp"
#include "support/test_env.hpp"

using namespace hal9000;
using namespace hal9000::test;
using namespace std::chrono_literals;

namespace {

// Events a sink received, readable from the test thread.
struct event_log {
  std::mutex mtx;
  std::vector<chroma::event> events;
  void add(chroma::event e) {
    std::lock_guard<std::mutex> guard{mtx};
    events.push_back(std::move(e));
  }
  size_t count(chroma::event_kind k, chroma::health state) {
    std::lock_guard<std::mutex> guard{mtx};
    size_t n = 0;
    for (auto& e : events)
      if (e.kind == k && (k != chroma::event_kind::state_changed || e.current.state == state))
        ++n;
    return n;
  }
  size_t count(chroma::event_kind k) { return count(k, chroma::health::unknown); }
};

chroma::sink_actor spawn_sink(caf::actor_system& sys, std::shared_ptr<event_log> log) {
  return sys.spawn([log](chroma::sink_actor::pointer) -> chroma::sink_actor::behavior_type {
    return {[log](chroma::event& e) { log->add(std::move(e)); }};
  });
}

// A restarter that runs a blocking function (restarting a process) on its
// own thread, as the real one's Docker calls would not run on the scheduler.
chroma::restarter_actor spawn_fn_restarter(caf::actor_system& sys,
                                           std::function<std::string()> fn,
                                           std::shared_ptr<std::atomic<int>> calls) {
  return sys.spawn<caf::detached>(
    [fn, calls](chroma::restarter_actor::pointer) -> chroma::restarter_actor::behavior_type {
      return {[fn, calls](chroma::restart_req&) -> caf::result<void> {
        ++*calls;
        auto err = fn();
        if (!err.empty())
          return make_error(errc::internal, err);
        return caf::unit;
      }};
    });
}

chroma::options fast_options(const std::string& url) {
  chroma::options o;
  o.url = url;
  o.interval = 100ms;
  o.connect_timeout = 300ms;
  o.read_timeout = 500ms;
  o.slow = 400ms;
  o.failure_threshold = 3;
  o.restart_backoff_min = 500ms;
  o.restart_backoff_max = 2s;
  o.restart_timeout = 30s;
  return o;
}

chroma_status get_status(caf::actor_system& sys, const chroma_monitor_actor& m) {
  chroma_status result;
  caf::scoped_actor self{sys};
  self->request(m, 5s, status_atom::value)
    .receive([&](chroma_status& st) { result = std::move(st); },
             [&](caf::error& err) { ADD_FAILURE() << "status: " << error_message(err); });
  return result;
}

bool wait_state(caf::actor_system& sys, const chroma_monitor_actor& m,
                chroma::health want, std::chrono::milliseconds deadline) {
  return wait_for([&] { return get_status(sys, m).state == want; }, deadline);
}

// A fake ChromaDB for fault injection: answers whatever the test installs.
struct fake_server {
  httplib::Server srv;
  int port = 0;
  std::thread thread;
  fake_server() = default;
  void start() {
    port = srv.bind_to_any_port("127.0.0.1");
    thread = std::thread{[this] { srv.listen_after_bind(); }};
    wait_for([this] { return srv.is_running(); }, 5s);
  }
  ~fake_server() {
    srv.stop();
    if (thread.joinable())
      thread.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
};

class chroma_monitor_test : public ::testing::Test {
protected:
  void TearDown() override {
    if (monitor)
      caf::anon_send_exit(monitor, caf::exit_reason::user_shutdown);
    monitor = nullptr;  // a handle keeps its actor alive
    sys_.reset();  // awaits every actor: fails the test by hanging if one leaks
  }
  caf::actor_system& sys() { return sys_->sys; }
  std::unique_ptr<system_holder> sys_ = std::make_unique<system_holder>();
  chroma_monitor_actor monitor;
};

std::string temp_dir(const std::string& name) {
  auto dir = "/tmp/hal9000-chroma-" + run_id() + "-" + name;
  sh("rm -rf '" + dir + "'");
  return dir;
}

} // namespace

// -- fault injection with fake servers ----------------------------------------------------

TEST_F(chroma_monitor_test, fake_server_answering_500_is_not_healthy) {
  fake_server fake;
  fake.srv.Get("/api/v2/heartbeat", [](const httplib::Request&, httplib::Response& res) {
    res.status = 500;
    res.set_content(R"({"nanosecond heartbeat": 1})", "application/json");
  });
  fake.start();
  monitor = spawn_chroma_monitor(sys(), fast_options(fake.url()), {});
  ASSERT_TRUE(wait_state(sys(), monitor, chroma::health::down, 5s));
  auto st = get_status(sys(), monitor);
  EXPECT_GE(st.consecutive_failures, 3u);
  EXPECT_NE(st.last_error.find("HTTP 500"), std::string::npos) << st.last_error;
  EXPECT_EQ(st.restarts, 0u);  // no restarter: nothing restarted
}

TEST_F(chroma_monitor_test, fake_server_with_a_wrong_body_is_not_healthy) {
  fake_server fake;
  fake.srv.Get("/api/v2/heartbeat", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"status": "ok"})", "application/json");
  });
  fake.start();
  monitor = spawn_chroma_monitor(sys(), fast_options(fake.url()), {});
  ASSERT_TRUE(wait_state(sys(), monitor, chroma::health::down, 5s));
  EXPECT_NE(get_status(sys(), monitor).last_error.find("nanosecond heartbeat"),
            std::string::npos);
}

TEST_F(chroma_monitor_test, falls_back_to_v1_when_v2_is_404) {
  fake_server fake;
  std::atomic<int> v2_calls{0};
  fake.srv.Get("/api/v2/heartbeat", [&](const httplib::Request&, httplib::Response& res) {
    ++v2_calls;
    res.status = 404;
  });
  fake.srv.Get("/api/v1/heartbeat", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"nanosecond heartbeat": 1732000000000000000})", "application/json");
  });
  fake.start();
  monitor = spawn_chroma_monitor(sys(), fast_options(fake.url()), {});
  ASSERT_TRUE(wait_state(sys(), monitor, chroma::health::healthy, 5s));
  auto st = get_status(sys(), monitor);
  EXPECT_EQ(st.endpoint, "/api/v1/heartbeat");
  EXPECT_GE(st.latency_ms, 0);
  // v1 is kept: later probes do not ask v2 again.
  auto calls = v2_calls.load();
  caf::scoped_actor self{sys()};
  for (int i = 0; i < 3; ++i)
    self->request(monitor, 5s, chroma::check_req{}).receive(
      [](chroma_status&) {}, [](caf::error& err) { FAIL() << error_message(err); });
  EXPECT_EQ(v2_calls.load(), calls);
}

TEST_F(chroma_monitor_test, nothing_listening_is_down_and_asks_for_a_restart) {
  auto port = free_loopback_port();
  auto calls = std::make_shared<std::atomic<int>>(0);
  auto restarter = spawn_fn_restarter(
    sys(), [] { return std::string{"no such container: hal9000-chromadb"}; }, calls);
  auto log = std::make_shared<event_log>();
  monitor = spawn_chroma_monitor(
    sys(), fast_options("http://127.0.0.1:" + std::to_string(port)), restarter);
  caf::anon_send(monitor, chroma::subscribe_req{spawn_sink(sys(), log)});
  ASSERT_TRUE(wait_state(sys(), monitor, chroma::health::down, 5s));
  ASSERT_TRUE(wait_for([&] { return log->count(chroma::event_kind::restart_failed) >= 1; }, 5s));
  EXPECT_GE(calls->load(), 1);
  auto st = get_status(sys(), monitor);
  EXPECT_EQ(st.restarts, 0u);
  EXPECT_NE(st.last_error.find("no such container"), std::string::npos) << st.last_error;
  EXPECT_GE(log->count(chroma::event_kind::restarting), 1u);
  caf::anon_send_exit(restarter, caf::exit_reason::user_shutdown);
}

TEST_F(chroma_monitor_test, docker_restarter_never_restarts_the_parent) {
  auto docker = docker::spawn_docker(sys(), docker::options{});
  auto restarter = chroma::spawn_docker_restarter(sys(), docker, "hal9000-parent");
  caf::scoped_actor self{sys()};
  bool refused = false;
  self->request(restarter, 5s, chroma::restart_req{"test", 1})
    .receive([] { ADD_FAILURE() << "restarted the parent"; },
             [&](caf::error& err) {
               refused = error_code(err) == errc::invalid_argument;
               EXPECT_NE(error_message(err).find("hal9000-parent"), std::string::npos)
                 << error_message(err);
             });
  EXPECT_TRUE(refused);
  caf::anon_send_exit(docker, caf::exit_reason::user_shutdown);
}

// Issue 11: the parent's name comes from HAL9000_PARENT_PREFIX; the literal
// "hal9000-parent" protected nothing under another prefix.
TEST_F(chroma_monitor_test, docker_restarter_never_restarts_the_parent_of_its_prefix) {
  auto docker = docker::spawn_docker(sys(), docker::options{});
  auto restarter = chroma::spawn_docker_restarter(sys(), docker, "i11x-parent", 1, "i11x");
  caf::scoped_actor self{sys()};
  bool refused = false;
  self->request(restarter, 5s, chroma::restart_req{"test", 1})
    .receive([] { ADD_FAILURE() << "restarted the parent"; },
             [&](caf::error& err) {
               refused = error_code(err) == errc::invalid_argument;
               EXPECT_NE(error_message(err).find("i11x-parent"), std::string::npos)
                 << error_message(err);
             });
  EXPECT_TRUE(refused);
  caf::anon_send_exit(docker, caf::exit_reason::user_shutdown);
}

// -- a real ChromaDB server ---------------------------------------------------------------------

class real_chroma_test : public chroma_monitor_test {
protected:
  void SetUp() override {
    auto err = chroma_server::install();
    ASSERT_EQ(err, "") << err;
    data_dir = temp_dir("data");
    server = std::make_unique<chroma_server>(data_dir);
    err = server->start();
    ASSERT_EQ(err, "") << err;
  }
  void TearDown() override {
    chroma_monitor_test::TearDown();
    server.reset();
    if (!data_dir.empty())
      sh("rm -rf '" + data_dir + "' '" + data_dir + ".log'");
  }
  std::string data_dir;
  std::unique_ptr<chroma_server> server;
};

TEST_F(real_chroma_test, healthy_with_latency) {
  auto log = std::make_shared<event_log>();
  monitor = spawn_chroma_monitor(sys(), fast_options(server->url()), {});
  caf::anon_send(monitor, chroma::subscribe_req{spawn_sink(sys(), log)});
  ASSERT_TRUE(wait_state(sys(), monitor, chroma::health::healthy, 5s));
  auto st = get_status(sys(), monitor);
  EXPECT_GT(st.latency_ms, 0);
  EXPECT_LT(st.latency_ms, 400);
  EXPECT_EQ(st.endpoint, "/api/v2/heartbeat");
  EXPECT_EQ(st.url, server->url());
  EXPECT_EQ(st.consecutive_failures, 0u);
  EXPECT_GT(st.checked_at_ms, 0);
  ASSERT_TRUE(wait_for(
    [&] { return log->count(chroma::event_kind::state_changed, chroma::health::healthy) >= 1; },
    2s));
}

TEST_F(real_chroma_test, kill_9_is_down_within_3s_restarted_and_data_survives) {
  // A collection made before the kill.
  const std::string coll = "hal9000-test-" + run_id();
  const std::string colls = "/api/v2/tenants/default_tenant/databases/default_database/collections";
  auto [code, body] = http_post(server->url(), colls, R"({"name": ")" + coll + R"("})");
  ASSERT_EQ(code, 200) << body;
  ASSERT_NE(body.find(coll), std::string::npos) << body;

  auto calls = std::make_shared<std::atomic<int>>(0);
  auto* srv = server.get();
  auto restarter = spawn_fn_restarter(sys(), [srv] { return srv->start(); }, calls);
  auto log = std::make_shared<event_log>();
  monitor = spawn_chroma_monitor(sys(), fast_options(server->url()), restarter);
  caf::anon_send(monitor, chroma::subscribe_req{spawn_sink(sys(), log)});
  ASSERT_TRUE(wait_state(sys(), monitor, chroma::health::healthy, 5s));

  auto killed_at = std::chrono::steady_clock::now();
  server->kill9();
  // Down within 3 s, then restarted by the restarter, then healthy again.
  ASSERT_TRUE(wait_for(
    [&] { return log->count(chroma::event_kind::state_changed, chroma::health::down) >= 1; },
    3s));
  auto took = std::chrono::steady_clock::now() - killed_at;
  EXPECT_LT(took, 3s);
  ASSERT_TRUE(wait_for([&] { return log->count(chroma::event_kind::restarted) >= 1; }, 30s));
  EXPECT_EQ(calls->load(), 1);
  ASSERT_TRUE(wait_state(sys(), monitor, chroma::health::healthy, 10s));
  auto st = get_status(sys(), monitor);
  EXPECT_EQ(st.restarts, 1u);
  EXPECT_EQ(st.consecutive_failures, 0u);
  EXPECT_GE(log->count(chroma::event_kind::state_changed, chroma::health::healthy), 2u);

  auto [code2, body2] = http_get(server->url(), colls + "/" + coll);
  EXPECT_EQ(code2, 200) << body2;
  EXPECT_NE(body2.find(coll), std::string::npos) << body2;
  caf::anon_send_exit(restarter, caf::exit_reason::user_shutdown);
}

TEST_F(chroma_monitor_test, status_answers_while_a_probe_blocks) {
  // A server that accepts but never answers: the probe blocks up to its read
  // timeout on the detached prober, and the monitor still answers at once.
  fake_server fake;
  fake.srv.Get("/api/v2/heartbeat", [](const httplib::Request&, httplib::Response& res) {
    std::this_thread::sleep_for(1500ms);
    res.set_content(R"({"nanosecond heartbeat": 1})", "application/json");
  });
  fake.start();
  auto opts = fast_options(fake.url());
  opts.read_timeout = 1s;
  monitor = spawn_chroma_monitor(sys(), opts, {});
  auto t0 = std::chrono::steady_clock::now();
  auto st = get_status(sys(), monitor);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 200ms);
  EXPECT_NE(st.state, chroma::health::healthy);
  ASSERT_TRUE(wait_for([&] { return get_status(sys(), monitor).consecutive_failures >= 1; }, 5s));
  EXPECT_NE(get_status(sys(), monitor).last_error.find("Read"), std::string::npos)
    << get_status(sys(), monitor).last_error;
}

// -- failing probes retry fast -------------------------------------------------------------

TEST_F(chroma_monitor_test, failing_probes_retry_at_the_retry_interval_not_the_tick) {
  fake_server fake;
  fake.srv.Get("/api/v2/heartbeat", [](const httplib::Request&, httplib::Response& res) {
    res.status = 500;
  });
  fake.start();
  auto o = fast_options(fake.url());
  o.interval = 20s;  // three failures at this pace would take 40 s
  o.retry_interval = 100ms;
  auto calls = std::make_shared<std::atomic<int>>(0);
  auto restarter = spawn_fn_restarter(sys(), [] { return std::string{}; }, calls);
  auto began = std::chrono::steady_clock::now();
  monitor = spawn_chroma_monitor(sys(), o, restarter);
  // Down after threshold failures within a second, and a restart asked.
  ASSERT_TRUE(wait_state(sys(), monitor, chroma::health::down, 3s));
  EXPECT_TRUE(wait_for([&] { return calls->load() >= 1; }, 3s));
  EXPECT_LT(std::chrono::steady_clock::now() - began, 5s);
  caf::anon_send_exit(restarter, caf::exit_reason::user_shutdown);
}
