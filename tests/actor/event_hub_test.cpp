// The event hub on the real scheduler: publish, subscribe, replay, drop on
// down, metrics from events, and a sink in a second actor system connected
// over loopback TCP (the path `claudy events --follow` takes).
#include <memory>
#include <mutex>
#include <vector>

#include <gtest/gtest.h>

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/event_hub.hpp"
#include "cli/events_command.hpp"
#include "messages/error.hpp"
#include "runtime/system_config.hpp"
#include "support/test_env.hpp"

using namespace hal9000;
using namespace hal9000::test;
using namespace std::chrono_literals;

namespace {

// Events a sink received, readable from the test thread.
struct event_log {
  std::mutex mtx;
  std::vector<lifecycle_event> events;
  bool hub_down = false;
  size_t size() {
    std::lock_guard<std::mutex> guard{mtx};
    return events.size();
  }
  std::vector<lifecycle_event> all() {
    std::lock_guard<std::mutex> guard{mtx};
    return events;
  }
};

// A sink that can also be told to monitor the hub (as claudy's does).
using test_sink = event_sink::extend<caf::reacts_to<caf::actor>>;

test_sink spawn_sink(caf::actor_system& sys, std::shared_ptr<event_log> log) {
  return sys.spawn([log](test_sink::pointer self) -> test_sink::behavior_type {
    self->set_down_handler([log](caf::down_msg&) {
      std::lock_guard<std::mutex> guard{log->mtx};
      log->hub_down = true;
    });
    return {
      [log](lifecycle_event& e) {
        std::lock_guard<std::mutex> guard{log->mtx};
        log->events.push_back(std::move(e));
      },
      [self](caf::actor& hub) { self->monitor(hub); },
    };
  });
}

lifecycle_event ev(const char* kind, std::string worker = {}) {
  lifecycle_event e;
  e.kind = kind;
  e.worker_id = std::move(worker);
  return e;
}

caf::expected<events_subscribe_reply> subscribe(caf::actor_system& sys,
                                                const event_hub_actor& hub,
                                                events_subscribe_req req) {
  caf::expected<events_subscribe_reply> result{caf::error{}};
  caf::scoped_actor self{sys, true};
  self->request(hub, 5s, std::move(req))
    .receive([&](events_subscribe_reply& r) { result = std::move(r); },
             [&](caf::error& err) { result = std::move(err); });
  return result;
}

events_subscribe_reply recent(caf::actor_system& sys, const event_hub_actor& hub) {
  auto r = subscribe(sys, hub, events_subscribe_req{{}, {}, false, true});
  EXPECT_TRUE(r) << (r ? "" : error_message(r.error()));
  return r ? *r : events_subscribe_reply{};
}

std::vector<std::string> kinds(const std::vector<lifecycle_event>& events) {
  std::vector<std::string> out;
  for (auto& e : events)
    out.push_back(e.kind + ":" + e.worker_id);
  return out;
}

struct event_hub_test : ::testing::Test {
  system_holder h;
  std::shared_ptr<metrics::daemon_metrics> m = std::make_shared<metrics::daemon_metrics>();
  event_hub_actor hub;

  void SetUp() override { hub = spawn_event_hub(h.sys, {4, m}); }
  void TearDown() override { caf::anon_send_exit(hub, caf::exit_reason::user_shutdown); }
};

} // namespace

TEST_F(event_hub_test, replays_recent_events_then_streams_new_ones_in_order) {
  caf::anon_send(hub, ev(event_kinds::worker_creating, "w-1"));
  caf::anon_send(hub, ev(event_kinds::worker_warm, "w-1"));
  auto log = std::make_shared<event_log>();
  auto sink = spawn_sink(h.sys, log);
  auto r = subscribe(h.sys, hub,
                     events_subscribe_req{{}, caf::actor_cast<event_sink>(sink), true, true});
  ASSERT_TRUE(r) << error_message(r.error());
  EXPECT_EQ(r->replayed, 2u);
  EXPECT_EQ(r->sinks, 1u);
  EXPECT_TRUE(r->recent.empty());
  caf::anon_send(hub, ev(event_kinds::worker_claimed, "w-1"));
  ASSERT_TRUE(wait_for([&] { return log->size() == 3; }, 5s));
  EXPECT_EQ(kinds(log->all()), (std::vector<std::string>{"worker.creating:w-1",
                                                         "worker.warm:w-1",
                                                         "worker.claimed:w-1"}));
  // The hub stamps a time when the publisher gave none.
  for (auto& e : log->all()) {
    ASSERT_EQ(e.time.size(), 24u) << e.time;
    EXPECT_EQ(e.time.back(), 'Z');
  }
  caf::anon_send_exit(sink, caf::exit_reason::user_shutdown);
}

TEST_F(event_hub_test, keeps_only_the_last_n_and_keeps_given_times) {
  for (int i = 0; i < 6; ++i) {
    auto e = ev(event_kinds::worker_warm, "w-" + std::to_string(i));
    if (i == 5)
      e.time = "2026-01-26T12:00:00.000Z";
    caf::anon_send(hub, e);
  }
  auto r = recent(h.sys, hub);
  ASSERT_EQ(r.recent.size(), 4u);  // capacity 4
  EXPECT_EQ(r.recent.front().worker_id, "w-2");
  EXPECT_EQ(r.recent.back().worker_id, "w-5");
  EXPECT_EQ(r.recent.back().time, "2026-01-26T12:00:00.000Z");
  auto no_replay = subscribe(h.sys, hub, events_subscribe_req{{}, {}, false, false});
  ASSERT_TRUE(no_replay);
  EXPECT_TRUE(no_replay->recent.empty());
}

TEST_F(event_hub_test, follow_without_a_sink_is_refused) {
  auto r = subscribe(h.sys, hub, events_subscribe_req{{}, {}, true, true});
  ASSERT_FALSE(r);
  EXPECT_EQ(error_code(r.error()), errc::invalid_argument);
}

TEST_F(event_hub_test, drops_a_sink_that_goes_down_and_on_unsubscribe) {
  auto log = std::make_shared<event_log>();
  auto a = spawn_sink(h.sys, log);
  auto b = spawn_sink(h.sys, log);
  ASSERT_TRUE(subscribe(h.sys, hub, {{}, caf::actor_cast<event_sink>(a), true, false}));
  auto r = subscribe(h.sys, hub, {{}, caf::actor_cast<event_sink>(b), true, false});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->sinks, 2u);
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  ASSERT_TRUE(wait_for([&] { return recent(h.sys, hub).sinks == 1; }, 5s));
  {
    caf::scoped_actor self{h.sys, true};
    self->request(hub, 5s, events_unsubscribe_req{caf::actor_cast<event_sink>(b)})
      .receive([] {}, [](caf::error& err) { FAIL() << error_message(err); });
  }
  EXPECT_EQ(recent(h.sys, hub).sinks, 0u);
  caf::anon_send(hub, ev(event_kinds::worker_warm, "w-9"));
  EXPECT_EQ(recent(h.sys, hub).recent.size(), 1u);  // the hub still works
  EXPECT_EQ(log->size(), 0u);                       // and sent nothing to b
  caf::anon_send_exit(b, caf::exit_reason::user_shutdown);
}

TEST_F(event_hub_test, derives_metrics_from_events) {
  caf::anon_send(hub, ev(event_kinds::worker_creating, "w-1"));
  caf::anon_send(hub, ev(event_kinds::worker_warm, "w-1"));
  caf::anon_send(hub, ev(event_kinds::worker_creating, "w-2"));
  auto started = ev(event_kinds::session_started, "w-1");
  started.session = "s1";
  started.details = {{"served", "warm"}, {"claim_latency_ms", "0.4"}};
  caf::anon_send(hub, started);
  // An OOM kill inside the session is counted when it happens (session.oom),
  // not again when the session's container dies of it.
  auto kill = ev(event_kinds::session_oom, "w-1");
  kill.session = "s1";
  kill.oom = true;
  kill.details = {{"oom_kills", "1"}, {"new_kills", "1"}};
  caf::anon_send(hub, kill);
  auto died = ev(event_kinds::worker_died, "w-1");
  died.session = "s1";
  died.oom = true;
  died.exit_code = 137;
  died.memory_limit = 64 << 20;
  caf::anon_send(hub, died);
  auto ended = died;
  ended.kind = event_kinds::session_ended;
  caf::anon_send(hub, ended);
  chroma::event ce;
  ce.current.state = chroma::health::healthy;
  ce.current.latency_ms = 2.5;
  caf::anon_send(hub, ce);
  ASSERT_TRUE(wait_for([&] {
    auto r = recent(h.sys, hub).recent;
    return !r.empty() && r.back().kind == event_kinds::chromadb_health;
  }, 5s));
  auto last = recent(h.sys, hub).recent.back();
  EXPECT_EQ(last.kind, "chromadb.health");
  EXPECT_EQ(last.details["state"], "healthy");
  auto text = m->reg.render();
  for (auto needle :
       {"hal9000_oom_kills_total 1", "hal9000_worker_exits_total{reason=\"oom\"} 1",
        "hal9000_session_oom_kills_total{session=\"s1\"} 1",
        "hal9000_workers{state=\"failed\"} 1", "hal9000_workers{state=\"creating\"} 1",
        "hal9000_workers{state=\"busy\"} 0", "hal9000_workers{state=\"warm\"} 0",
        "hal9000_claims_total{served=\"warm\"} 1", "hal9000_claim_latency_ms_count 1",
        "hal9000_claim_latency_ms_bucket{le=\"0.5\"} 1", "hal9000_refill_duration_ms_count 1",
        "hal9000_sessions_active 0", "hal9000_chromadb_up 1",
        "hal9000_chromadb_health{state=\"healthy\"} 1",
        "hal9000_chromadb_health{state=\"unknown\"} 0",
        "hal9000_chromadb_heartbeat_latency_ms 2.5",
        "hal9000_events_total{kind=\"worker.died\"} 1"})
    EXPECT_NE(text.find(needle), std::string::npos) << needle << "\n" << text;
  // pool.cleanup forgets the failures.
  caf::anon_send(hub, ev(event_kinds::pool_cleanup));
  ASSERT_TRUE(wait_for([&] {
    return m->reg.render().find("hal9000_workers{state=\"failed\"} 0") != std::string::npos;
  }, 5s));
}

TEST(event_hub_remote, a_sink_in_another_actor_system_over_tcp) {
  system_config server_cfg{true};
  caf::actor_system server{server_cfg};
  auto m = std::make_shared<metrics::daemon_metrics>();
  auto hub = spawn_event_hub(server, {256, m});
  caf::anon_send(hub, ev(event_kinds::worker_warm, "w-1"));
  auto port = server.middleman().publish(hub, 0, "127.0.0.1", true);
  ASSERT_TRUE(port) << server.render(port.error());

  auto log = std::make_shared<event_log>();
  {
    system_config client_cfg{true};
    caf::actor_system client{client_cfg};
    auto remote = client.middleman().remote_actor<event_hub_actor>("127.0.0.1", *port);
    ASSERT_TRUE(remote) << client.render(remote.error());
    auto sink = spawn_sink(client, log);
    auto r = subscribe(client, *remote,
                       events_subscribe_req{{}, caf::actor_cast<event_sink>(sink), true, true});
    ASSERT_TRUE(r) << error_message(r.error());
    EXPECT_EQ(r->replayed, 1u);
    ASSERT_TRUE(r->hub);
    caf::anon_send(sink, r->hub);
    // An OOM death crosses the wire with every field.
    auto died = ev(event_kinds::worker_died, "w-1");
    died.oom = true;
    died.exit_code = 137;
    died.memory_limit = 64 << 20;
    died.end = end_reason{end_kind::oom_killed, -1, "64m", ""};
    died.reason = to_string(died.end);
    died.details = {{"from", "busy"}};
    caf::anon_send(hub, died);
    ASSERT_TRUE(wait_for([&] { return log->size() == 2; }, 5s));
    auto got = log->all()[1];
    EXPECT_EQ(got.kind, "worker.died");
    EXPECT_TRUE(got.oom);
    EXPECT_EQ(got.exit_code, 137);
    EXPECT_EQ(got.memory_limit, 64 << 20);
    EXPECT_EQ(got.details.at("from"), "busy");
    EXPECT_EQ(got.end, died.end);
    EXPECT_EQ(cli::format_event(got).substr(25),
              "worker.died w-1 exit 137 (OOM-killed (memory limit 64m)) from=busy");
    EXPECT_EQ(recent(server, hub).sinks, 1u);
    // The client process goes away without unsubscribing: the hub drops it.
    caf::anon_send_exit(sink, caf::exit_reason::user_shutdown);
  }
  ASSERT_TRUE(wait_for([&] { return recent(server, hub).sinks == 0; }, 5s));

  // A follower notices the daemon's hub going away.
  auto log2 = std::make_shared<event_log>();
  system_config client_cfg{true};
  caf::actor_system client{client_cfg};
  auto remote = client.middleman().remote_actor<event_hub_actor>("127.0.0.1", *port);
  ASSERT_TRUE(remote);
  auto sink = spawn_sink(client, log2);
  auto r = subscribe(client, *remote,
                     events_subscribe_req{{}, caf::actor_cast<event_sink>(sink), true, false});
  ASSERT_TRUE(r);
  caf::anon_send(sink, r->hub);
  caf::anon_send_exit(hub, caf::exit_reason::user_shutdown);
  EXPECT_TRUE(wait_for([&] {
    std::lock_guard<std::mutex> guard{log2->mtx};
    return log2->hub_down;
  }, 5s));
  caf::anon_send_exit(sink, caf::exit_reason::user_shutdown);
}

TEST(event_building, worker_changes_become_lifecycle_events) {
  using ws = worker_state;
  using sk = served_kind;
  auto warm = worker_change_events("w-1", "c1", ws::creating, ws::warm,
                                   "", 1769428800123, "", sk::none);
  ASSERT_EQ(warm.size(), 1u);
  EXPECT_EQ(warm[0].kind, "worker.warm");
  EXPECT_EQ(warm[0].time, "2026-01-26T12:00:00.123Z");
  auto started = worker_change_events("w-1", "c1", ws::claimed, ws::busy,
                                      "", 0, "s1", sk::warm);
  ASSERT_EQ(started.size(), 1u);
  EXPECT_EQ(started[0].kind, "session.started");
  EXPECT_EQ(started[0].details["served"], "warm");
  auto oom = worker_change_events("w-1", "c1", ws::busy, ws::failed, "", 0, "s1", sk::warm,
                                  64 << 20, end_reason{end_kind::oom_killed, -1, "64m", ""});
  ASSERT_EQ(oom.size(), 2u);
  EXPECT_EQ(oom[0].kind, "worker.died");
  EXPECT_TRUE(oom[0].oom);
  EXPECT_EQ(oom[0].exit_code, 137);
  EXPECT_EQ(oom[0].memory_limit, 64 << 20);
  EXPECT_EQ(oom[1].kind, "session.ended");
  EXPECT_TRUE(oom[1].oom);
  EXPECT_EQ(oom[1].reason, "OOM-killed (memory limit 64m)");
  EXPECT_EQ(oom[1].end.kind, end_kind::oom_killed);
  auto exited = worker_change_events("w-2", "c2", ws::warm, ws::failed, "", 0, "", sk::none, 0,
                                     end_reason{end_kind::exited, 3, "", ""});
  ASSERT_EQ(exited.size(), 1u);
  EXPECT_EQ(exited[0].exit_code, 3);
  EXPECT_FALSE(exited[0].oom);
  auto gone = worker_change_events("w-1", "c1", ws::stopping, ws::gone,
                                   "stopped", 0, "s1", sk::warm);
  ASSERT_EQ(gone.size(), 2u);
  EXPECT_EQ(gone[0].kind, "worker.removed");
  EXPECT_EQ(gone[1].kind, "session.ended");
  EXPECT_TRUE(worker_change_events("w-1", "c1", ws::busy, ws::stopping,
                                   "", 0, "s1", sk::none).empty());
  // News about a running worker (an OOM kill inside it) is no state change.
  EXPECT_TRUE(worker_change_events("w-1", "c1", ws::busy, ws::busy,
                                   "oom", 0, "s1", sk::none).empty());
  auto killed = worker_change_events("w-3", "c3", ws::busy, ws::stopping,
                                     "", 0, "s3", sk::none, 0,
                                     end_reason{end_kind::signaled, 9, "", ""});
  EXPECT_TRUE(killed.empty());
  auto killed_gone = worker_change_events("w-3", "c3", ws::stopping, ws::gone,
                                          "", 0, "s3", sk::none, 0,
                                          end_reason{end_kind::signaled, 9, "", ""});
  ASSERT_EQ(killed_gone.size(), 2u);
  EXPECT_EQ(killed_gone[1].exit_code, 137);
  EXPECT_FALSE(killed_gone[1].oom);
  EXPECT_EQ(killed_gone[1].reason, "killed by signal 9");
}

TEST(event_building, human_and_json_lines) {
  lifecycle_event e;
  e.time = "2026-01-26T12:00:00.000Z";
  e.kind = event_kinds::session_ended;
  e.session = "myproj";
  e.reason = "stopped";
  EXPECT_EQ(cli::format_event(e), "2026-01-26T12:00:00.000Z session.ended session myproj (stopped)");
  auto j = cli::event_to_json(e);
  EXPECT_EQ(j["kind"], "session.ended");
  EXPECT_TRUE(j["exit_code"].is_null());
  EXPECT_EQ(j["oom"], false);
  EXPECT_EQ(cli::format_memory(4LL << 30), "4g");
  EXPECT_EQ(cli::format_memory(1536 << 10), "1536k");
  EXPECT_EQ(cli::format_memory(100), "100b");
}
