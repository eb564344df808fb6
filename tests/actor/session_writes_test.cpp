// Only the sessions actor writes session records (issue #11): the worker
// recorder reports a served worker's end and a running session's news to the
// sessions actor, the start-up reconciliation reports what it adopted and
// what ended while the daemon was down, and the sessions actor writes the
// store. A fake store records who sent each write (fault injection the real
// store cannot give: it does not say who wrote); a fake engine lists the
// containers the reconciliation judges.

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <gtest/gtest.h>

#include "actors/session_reconciler.hpp"
#include "actors/sessions.hpp"
#include "actors/worker_recorder.hpp"
#include "messages/error.hpp"
#include "runtime/names.hpp"
#include "support/fake_engine_actor.hpp"
#include "support/temp_dir.hpp"
#include "support/test_env.hpp"

using namespace hal9000;
using namespace std::chrono_literals;

namespace {

// One write the fake store received: what, of which record, from whom.
struct write_seen {
  std::string what;  // "put session", "end", "note", "usage", "put worker", ...
  std::string name;  // session name or worker id
  caf::actor_id from = 0;
};

// What the fake store holds and saw; shared with the test thread.
struct fake_store_data {
  std::mutex mx;
  std::map<std::string, session_record> sessions;
  std::vector<write_seen> writes;

  std::vector<write_seen> session_writes() {
    std::lock_guard<std::mutex> g{mx};
    std::vector<write_seen> out;
    for (auto& w : writes)
      if (w.what != "put worker" && w.what != "delete worker")
        out.push_back(w);
    return out;
  }

  session_record get(const std::string& name) {
    std::lock_guard<std::mutex> g{mx};
    return sessions[name];
  }
};

using fake_ptr = std::shared_ptr<fake_store_data>;

// A fake session store: keeps records in memory, answers like the store
// (messages/session_store.hpp) and records the sender of every write.
session_store_actor spawn_fake_store(caf::actor_system& sys, fake_ptr d) {
  return sys.spawn([d](session_store_actor::pointer self) -> session_store_actor::behavior_type {
    auto saw = [self, d](std::string what, std::string name) {
      auto from = self->current_sender() ? self->current_sender()->id() : caf::actor_id{0};
      d->writes.push_back(write_seen{std::move(what), std::move(name), from});
    };
    auto end = [d](const std::string& name, const end_reason& why, const std::string& at,
                   const std::string& worker) -> caf::result<session_record> {
      auto i = d->sessions.find(name);
      if (i == d->sessions.end())
        return make_error(errc::not_found, "no session " + name);
      auto& r = i->second;
      if (r.state == session_state::ended || (!worker.empty() && r.worker_id != worker))
        return r;
      r.state = session_state::ended;
      r.end = why;
      r.ended_at = at.empty() ? "now" : at;
      return r;
    };
    return {
      [=](caf::put_atom, session_record& r) {
        std::lock_guard<std::mutex> g{d->mx};
        saw("put session", r.name);
        d->sessions[r.name] = r;
      },
      [=](caf::get_atom, std::string& name) -> caf::result<session_record> {
        std::lock_guard<std::mutex> g{d->mx};
        auto i = d->sessions.find(name);
        if (i == d->sessions.end())
          return make_error(errc::not_found, "no session " + name);
        return i->second;
      },
      [=](list_atom) {
        std::lock_guard<std::mutex> g{d->mx};
        std::vector<session_record> out;
        for (auto& [n, r] : d->sessions)
          out.push_back(r);
        return out;
      },
      [=](caf::get_atom, std::string& name, std::string& project) {
        std::lock_guard<std::mutex> g{d->mx};
        std::vector<session_record> out;
        for (auto& [n, r] : d->sessions)
          if (is_live(r.state) && (n == name || r.project_dir == project))
            out.push_back(r);
        return out;
      },
      [=](end_atom, std::string& name, end_reason& why,
          std::string& at) -> caf::result<session_record> {
        std::lock_guard<std::mutex> g{d->mx};
        saw("end", name);
        return end(name, why, at, "");
      },
      [=](end_atom, std::string& name, end_reason& why, std::string& at,
          std::string& worker) -> caf::result<session_record> {
        std::lock_guard<std::mutex> g{d->mx};
        saw("end", name);
        return end(name, why, at, worker);
      },
      [=](session_note& n) -> caf::result<session_record> {
        std::lock_guard<std::mutex> g{d->mx};
        saw("note", n.name);
        auto i = d->sessions.find(n.name);
        if (i == d->sessions.end())
          return make_error(errc::not_found, "no session " + n.name);
        if (n.oom_kills > i->second.oom_kills)
          i->second.oom_kills = n.oom_kills;
        if (n.network_lost)
          i->second.state = session_state::network_lost;
        return i->second;
      },
      [=](usage_atom, std::string& name, session_usage&) {
        std::lock_guard<std::mutex> g{d->mx};
        saw("usage", name);
      },
      [=](caf::put_atom, worker_record& w) {
        std::lock_guard<std::mutex> g{d->mx};
        saw("put worker", w.id);
      },
      [=](caf::delete_atom, workers_atom, std::string& id) {
        std::lock_guard<std::mutex> g{d->mx};
        saw("delete worker", id);
      },
      [=](list_atom, workers_atom) { return std::vector<worker_record>{}; },
      [=](caf::put_atom, pid_atom, bool) {},
      [=](load_atom) { return store_load_report{}; },
      [=](sync_atom) {},
    };
  });
}

session_record live(const std::string& name, const std::string& worker,
                    const std::string& container) {
  session_record r;
  r.name = name;
  r.project_dir = "/srv/" + name;
  r.created_at = "2026-01-26T12:00:00Z";
  r.state = session_state::running;
  r.worker_id = worker;
  r.container_id = container;
  r.served = "warm";
  return r;
}

caf::actor_id id_of(const sessions_actor& a) {
  return caf::actor_cast<caf::strong_actor_ptr>(a)->id();
}

struct session_writes_test : ::testing::Test {
  test::system_holder sys;
  fake_ptr data = std::make_shared<fake_store_data>();
  session_store_actor store;
  sessions_actor sessions;

  void SetUp() override {
    store = spawn_fake_store(sys.sys, data);
    sessions_options o;
    o.ask_host = false;  // no engine to ask
    sessions = spawn_sessions(sys.sys, o, pool_actor{}, store, docker::docker_actor{});
  }

  void TearDown() override {
    caf::scoped_actor self{sys.sys};
    for (caf::actor a : {caf::actor_cast<caf::actor>(sessions), caf::actor_cast<caf::actor>(store)}) {
      self->monitor(a);
      self->send_exit(a, caf::exit_reason::user_shutdown);
      self->receive([](const caf::down_msg&) {}, caf::after(5s) >> [] {});
    }
  }

  void put(session_record r) {
    std::lock_guard<std::mutex> g{data->mx};
    data->sessions[r.name] = std::move(r);
  }

  // Every session write so far came from the sessions actor.
  void expect_only_sessions_wrote() {
    auto writes = data->session_writes();
    ASSERT_FALSE(writes.empty());
    for (auto& w : writes)
      EXPECT_EQ(w.from, id_of(sessions))
        << w.what << " of session " << w.name << " came from actor " << w.from
        << ", not from the sessions actor";
  }
};

worker_transition ended(const std::string& worker, const std::string& session,
                        const std::string& to) {
  worker_transition t;
  t.worker_id = worker;
  t.container_id = "c-" + worker;
  t.from = "busy";
  t.to = to;
  t.session_name = session;
  t.served = "warm";
  t.time_ms = 1769428800000;  // 2026-01-26T12:00:00Z
  return t;
}

} // namespace

// A worker that stopped or failed while serving a session: the recorder tells
// the sessions actor, which applies the end rules and writes the store.
TEST_F(session_writes_test, worker_ends_reach_the_store_only_through_the_sessions_actor) {
  put(live("quiet", "w1", "c-w1"));
  put(live("greedy", "w2", "c-w2"));
  put(live("noisy", "w3", "c-w3"));
  auto recorder = spawn_worker_recorder(sys.sys, store, sessions, event_hub_actor{});

  // No typed end from the worker: "other", with the worker's state.
  caf::anon_send(recorder, ended("w1", "quiet", "gone"));
  // A typed end (OOM-killed) is kept as it is.
  auto oom = ended("w2", "greedy", "failed");
  oom.reason = "OOM-killed";
  oom.end.kind = end_kind::oom_killed;
  oom.end.memory_limit = "64m";
  caf::anon_send(recorder, oom);
  // News of a running session: an OOM kill inside it, the session goes on.
  auto news = ended("w3", "noisy", "busy");
  news.oom_kills = 2;
  caf::anon_send(recorder, news);

  ASSERT_TRUE(test::wait_for(
    [&] {
      return data->get("quiet").state == session_state::ended
             && data->get("greedy").state == session_state::ended
             && data->get("noisy").oom_kills == 2;
    },
    10s));
  EXPECT_EQ(data->get("quiet").end.kind, end_kind::other);
  EXPECT_EQ(data->get("quiet").end.detail, "worker gone");
  EXPECT_EQ(data->get("quiet").ended_at, "2026-01-26T12:00:00Z");
  EXPECT_EQ(data->get("greedy").end.kind, end_kind::oom_killed);
  EXPECT_EQ(data->get("greedy").end.memory_limit, "64m");
  EXPECT_TRUE(is_live(data->get("noisy").state));
  expect_only_sessions_wrote();

  caf::scoped_actor self{sys.sys};
  self->monitor(recorder);
  self->send_exit(recorder, caf::exit_reason::user_shutdown);
  self->receive([](const caf::down_msg&) {}, caf::after(5s) >> [] {});
}

// A late end from a replaced worker never ends its successor under the same
// name (the worker id travels with the end).
TEST_F(session_writes_test, a_late_end_from_a_replaced_worker_leaves_the_successor_running) {
  put(live("again", "w-new", "c-new"));
  caf::scoped_actor self{sys.sys};
  session_ended e;
  e.name = "again";
  e.worker_id = "w-old";
  e.end.kind = end_kind::signaled;
  e.end.code = 9;
  self->request(sessions, 10s, e)
    .receive([](session_record& r) { EXPECT_TRUE(is_live(r.state)); },
             [](caf::error& err) { ADD_FAILURE() << error_message(err); });
  EXPECT_TRUE(is_live(data->get("again").state));
  expect_only_sessions_wrote();
}

// The start-up reconciliation reads the store and reports to the sessions
// actor; the records it rebuilds or ends are written by the sessions actor.
TEST_F(session_writes_test, reconciliation_writes_session_records_through_the_sessions_actor) {
  hal9000::test::temp_dir home;
  // A session whose container is gone: ended as disappeared while down.
  put(live("vanished", "w9", "c9"));
  // A session whose container Docker shows under another id: record updated.
  put(live("moved", "w5", "old-id"));
  auto engine = std::make_shared<test::fake_engine>();
  docker::container_summary c;
  c.id = "new-id";
  c.name = "moved";
  c.state = "running";
  c.labels[names::label_worker] = "w5";
  engine->containers.push_back(c);
  auto docker = test::spawn_fake_engine(sys.sys, engine);

  reconcile_options ro;
  ro.home = home.path;
  ro.daemon_id = "session-writes-test";
  auto reconciler = spawn_reconciler(sys.sys, ro, docker, store, sessions, event_hub_actor{});
  caf::scoped_actor self{sys.sys};
  reconcile_report report;
  self->request(reconciler, 60s, reconcile_atom::value)
    .receive([&](reconcile_report& r) { report = std::move(r); },
             [](caf::error& err) { ADD_FAILURE() << error_message(err); });
  EXPECT_TRUE(report.errors.empty()) << (report.errors.empty() ? "" : report.errors.front());
  ASSERT_EQ(report.adopted.size(), 1u);
  EXPECT_EQ(report.adopted[0].session_name, "moved");

  EXPECT_EQ(data->get("vanished").state, session_state::ended);
  EXPECT_EQ(data->get("vanished").end.kind, end_kind::disappeared_while_down);
  EXPECT_TRUE(is_live(data->get("moved").state));
  EXPECT_EQ(data->get("moved").container_id, "new-id");
  expect_only_sessions_wrote();

  self->monitor(docker);
  self->send_exit(docker, caf::exit_reason::user_shutdown);
  self->receive([](const caf::down_msg&) {}, caf::after(5s) >> [] {});
}

// The sessions actor refuses to "adopt" a record that is not running.
TEST_F(session_writes_test, adopting_an_ended_record_is_refused) {
  auto r = live("done", "w1", "c1");
  r.state = session_state::ended;
  caf::scoped_actor self{sys.sys};
  self->request(sessions, 10s, adopt_atom::value, r)
    .receive([] { ADD_FAILURE() << "an ended record was adopted"; },
             [](caf::error& err) { EXPECT_EQ(error_code(err), errc::invalid_argument); });
  EXPECT_TRUE(data->session_writes().empty());
}

// The credential proxy's usage counters reach the record through the
// sessions actor too.
TEST_F(session_writes_test, usage_reaches_the_store_through_the_sessions_actor) {
  put(live("busy", "w1", "c1"));
  caf::scoped_actor self{sys.sys};
  session_usage u;
  u.requests = 3;
  self->request(sessions, 10s, usage_atom::value, std::string{"busy"}, u)
    .receive([] {}, [](caf::error& err) { ADD_FAILURE() << error_message(err); });
  auto writes = data->session_writes();
  ASSERT_EQ(writes.size(), 1u);
  EXPECT_EQ(writes[0].what, "usage");
  expect_only_sessions_wrote();
}
