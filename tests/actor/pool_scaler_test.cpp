// The pool scaler on CAF's test coordinator (virtual time, no Docker), with
// stand-in workers that the test drives: they become warm or die when the test
// sends them a Docker-like event, and report transitions like real workers.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <set>

#include <sys/stat.h>

#include <caf/all.hpp>

#include "actors/pool_scaler.hpp"
#include "messages/error.hpp"
#include "messages/wire.hpp"
#include "runtime/limits.hpp"
#include "runtime/names.hpp"
#include "support/fake_engine_actor.hpp"
#include "support/testing_config.hpp"
#include "support/temp_dir.hpp"

using namespace hal9000;
using namespace std::chrono_literals;

namespace {

using test::testing_config;

// -- stand-in workers -----------------------------------------------------------

struct stand_in_data {
  worker_options opts;
  worker_observer_actor pool;
  worker_observer_actor observer;
  worker_state state = worker_state::creating;
  std::string session;
  bool crash_on_claim = false;  // fault injection: dies instead of serving
  bool slow_claim = false;      // answers at its own claim deadline, not before
  caf::typed_response_promise<claim_reply> late;
  claim_reply late_reply;
  static constexpr const char* name = "stand_in_worker";
};

using stand_in_ptr = worker_actor::stateful_pointer<stand_in_data>;

void report(stand_in_ptr self, worker_state to, std::string reason = {}) {
  auto& st = self->state;
  // Like a real worker: no container while creating (create not answered yet).
  auto cid = to == worker_state::creating ? std::string{} : "c-" + st.opts.id;
  worker_transition t{st.opts.id, cid, st.state, to,
                      reason, 0, st.session, "",
                      st.opts.cold ? served_kind::cold : served_kind::warm};
  st.state = to;
  self->send(st.pool, t);
  if (st.observer)
    self->send(st.observer, t);
}

worker_status status_of(stand_in_ptr self) {
  worker_status s;
  s.id = self->state.opts.id;
  s.state = self->state.state;
  s.session_name = self->state.session;
  return s;
}

worker_actor::behavior_type stand_in(stand_in_ptr self, worker_options opts,
                                     worker_observer_actor pool,
                                     worker_observer_actor observer, bool auto_warm) {
  self->state.opts = std::move(opts);
  self->state.pool = pool;
  self->state.observer = observer;
  self->monitor(pool);
  self->set_down_handler([self](caf::down_msg&) { self->quit(); });
  report(self, worker_state::creating);
  if (auto_warm)
    report(self, worker_state::warm);
  return {
    [self](claim_atom, claim_request& req) -> caf::result<claim_reply> {
      if (self->state.state != worker_state::warm)
        return make_error(errc::conflict, "not warm");
      if (self->state.crash_on_claim) {  // an abnormal death mid-claim: no reply
        auto rp = self->make_response_promise<claim_reply>();
        self->quit(make_error(errc::internal, "injected crash"));
        return rp;
      }
      self->state.session = req.session_name;
      report(self, worker_state::claimed);
      claim_reply r;
      r.session_name = req.session_name;
      r.worker_id = self->state.opts.id;
      r.container_id = "c-" + self->state.opts.id;
      r.served = self->state.opts.cold ? served_kind::cold : served_kind::warm;
      if (self->state.slow_claim) {  // the reply comes at worker_claim_deadline
        self->state.late = self->make_response_promise<claim_reply>();
        self->state.late_reply = r;
        docker::event done;
        done.action = "reply-late";
        self->delayed_send(self, worker_claim_deadline(self->state.opts), done);
        return self->state.late;
      }
      report(self, worker_state::busy);
      return r;
    },
    [self](stop_atom, std::string& reason) -> worker_status {
      report(self, worker_state::stopping, reason);
      report(self, worker_state::gone);
      self->quit();
      return status_of(self);
    },
    [self](stop_atom, end_reason& end) -> worker_status {
      report(self, worker_state::stopping, to_string(end));
      report(self, worker_state::gone);
      self->quit();
      return status_of(self);
    },
    [](netlost_atom, std::string&) {},
    [self](status_atom) { return status_of(self); },
    [self](docker::event& e) {
      if (e.action == "start" && self->state.state == worker_state::creating)
        report(self, worker_state::warm);
      else if (e.action == "crash")  // an abnormal death, no transition reported
        self->quit(make_error(errc::internal, "injected crash"));
      else if (e.action == "arm")
        self->state.crash_on_claim = true;
      else if (e.action == "slow")
        self->state.slow_claim = true;
      else if (e.action == "reply-late") {
        report(self, worker_state::busy);
        self->state.late.deliver(self->state.late_reply);
      }
      else if (e.action == "die") {
        report(self, worker_state::failed, "exited with code 137");
        report(self, worker_state::gone);
        self->quit();
      }
    },
  };
}

// Checks the pool's invariant at every transition: warm + creating <= max.
struct recorder {
  std::map<std::string, std::string> state;  // warm-pool workers only
  uint32_t max = 0;
  uint32_t worst = 0;
  std::vector<worker_transition> all;
};

worker_observer_actor::behavior_type recording(worker_observer_actor::pointer,
                                               std::shared_ptr<recorder> rec) {
  return {
    [rec](worker_transition& t) {
      rec->all.push_back(t);
      if (t.served == served_kind::cold)
        return;
      if (t.to == worker_state::gone)
        rec->state.erase(t.worker_id);
      else
        rec->state[t.worker_id] = to_string(t.to);
      uint32_t n = 0;
      for (auto& [id, s] : rec->state)
        n += s == "warm" || s == "creating" ? 1 : 0;
      rec->worst = std::max(rec->worst, n);
    },
  };
}

struct pool_fixture : ::testing::Test {
  testing_config cfg;
  caf::actor_system sys{cfg};
  caf::scheduler::test_coordinator& sched
    = dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
  caf::scoped_actor self{sys};
  std::shared_ptr<std::map<std::string, worker_actor>> spawned
    = std::make_shared<std::map<std::string, worker_actor>>();
  std::shared_ptr<recorder> rec = std::make_shared<recorder>();
  pool_actor pool;
  bool auto_warm = false;

  pool_options options(uint32_t min, uint32_t max) {
    pool_options o;
    o.home = "/tmp/hal9000-not-used";
    o.image = "hal9000/test:busybox";
    o.limits = *parse_limits("512m", "1", "100");
    o.enabled = true;
    o.min_warm = min;
    o.max_warm = max;
    o.max_creating = 2;
    o.idle_timeout = 300s;
    o.check_interval = 30s;
    o.claim_timeout = 30s;
    return o;
  }

  void start(pool_options o, bool late_bind = true, docker::docker_actor docker = {}) {
    rec->max = o.max_warm;
    auto observer = sys.spawn(recording, rec);
    auto reg = spawned;
    auto aw = auto_warm;
    worker_factory factory = [reg, observer, aw](caf::actor_system& sys,
                                                 const worker_options& w,
                                                 worker_observer_actor p) {
      auto h = sys.spawn(stand_in, w, p, observer, aw);
      (*reg)[w.id] = h;
      return h;
    };
    pool = spawn_pool_with(sys, std::move(o), std::move(docker), observer, factory, late_bind,
                           late_bind ? "" : "late binding switched off");
    sched.run();
  }

  void TearDown() override {
    if (pool)
      caf::anon_send_exit(pool, caf::exit_reason::user_shutdown);
    sched.run();
  }

  template <class Result, class... Ts>
  caf::expected<Result> call(Ts&&... xs) {
    auto h = self->request(pool, caf::infinite, std::forward<Ts>(xs)...);
    sched.run();
    caf::expected<Result> out{caf::sec::unexpected_response};
    h.receive([&](Result& r) { out = std::move(r); },
              [&](caf::error& e) { out = std::move(e); });
    return out;
  }

  pool_status status() {
    auto s = call<pool_status>(status_atom::value);
    EXPECT_TRUE(s);
    return s ? *s : pool_status{};
  }

  // Sends an event to every stand-in in a state.
  void to_all(const std::string& state, const std::string& action) {
    auto st = status();
    for (auto& w : st.workers)
      if (to_string(w.state) == state && spawned->count(w.id)) {
        docker::event e;
        e.action = action;
        caf::anon_send(spawned->at(w.id), e);
      }
    sched.run();
  }

  test::temp_dir projects;

  claim_request req(const std::string& name) {
    claim_request r;
    r.session_name = name;
    r.project_dir = projects / name;
    ::mkdir(r.project_dir.c_str(), 0755);
    return r;
  }
};

} // namespace

TEST_F(pool_fixture, min_is_kept_and_a_dead_worker_is_replaced_at_once) {
  start(options(2, 4));
  auto s = status();
  EXPECT_TRUE(s.running);
  EXPECT_EQ(s.creating, 2u);
  to_all("creating", "start");
  EXPECT_EQ(status().warm, 2u);
  EXPECT_EQ(spawned->size(), 2u);
  auto victim = status().workers.front().id;
  docker::event die;
  die.action = "die";
  caf::anon_send(spawned->at(victim), die);
  sched.run();
  s = status();
  EXPECT_EQ(s.warm, 1u);
  EXPECT_EQ(s.creating, 1u) << "the replacement started without any timer";
  EXPECT_EQ(s.failed, 1u);
  EXPECT_EQ(spawned->size(), 3u);
}

// Issue 11: the pool never monitored its workers. A worker actor that died
// abnormally stayed counted as warm and took a claim that then failed.
TEST_F(pool_fixture, a_worker_actor_that_dies_abnormally_is_failed_and_replaced) {
  start(options(2, 4));
  to_all("creating", "start");
  ASSERT_EQ(status().warm, 2u);
  auto victim = status().workers.front().id;
  docker::event crash;
  crash.action = "crash";
  caf::anon_send(spawned->at(victim), crash);
  sched.run();
  auto s = status();
  EXPECT_EQ(s.warm, 1u) << "a dead worker no longer counts as warm";
  EXPECT_EQ(s.creating, 1u) << "replaced at once";
  EXPECT_EQ(s.failed, 1u);
  bool listed = false;
  for (auto& w : s.workers)
    if (w.id == victim) {
      listed = true;
      EXPECT_EQ(w.state, worker_state::failed);
      EXPECT_NE(w.reason.find("worker actor died"), std::string::npos) << w.reason;
    }
  EXPECT_TRUE(listed);
  bool observed = false;
  for (auto& t : rec->all)
    observed = observed || (t.worker_id == victim && t.to == worker_state::failed);
  EXPECT_TRUE(observed) << "the observer (session store) learns of the failure";
}

// Host steps that only record the pool's slot cleanups (worker id, unmount).
std::shared_ptr<const worker_host_steps>
recording_cleanups(std::shared_ptr<std::vector<std::pair<std::string, bool>>> cleaned) {
  auto s = std::make_shared<worker_host_steps>(*real_host_steps());
  s->cleanup = [cleaned](const std::string&, const std::string& id, bool unmount) {
    cleaned->emplace_back(id, unmount);
    return std::string{};
  };
  return s;
}

// Issue 11 (supervision): a dead worker actor's container is reconciled with
// Docker: removed, its slot unmounted and removed, a replacement created.
TEST_F(pool_fixture, a_dead_worker_actors_container_is_removed_from_docker_with_its_slot) {
  auto engine = std::make_shared<test::fake_engine>();
  auto cleaned = std::make_shared<std::vector<std::pair<std::string, bool>>>();
  auto o = options(2, 4);
  o.host = recording_cleanups(cleaned);
  start(o, true, test::spawn_fake_engine(sys, engine));
  to_all("creating", "start");
  ASSERT_EQ(status().warm, 2u);
  auto victim = status().workers.front().id;
  docker::event crash;
  crash.action = "crash";
  caf::anon_send(spawned->at(victim), crash);
  sched.run();
  EXPECT_EQ(engine->removed, (std::vector<std::string>{"c-" + victim}));
  EXPECT_EQ(*cleaned, (std::vector<std::pair<std::string, bool>>{{victim, true}}))
    << "its slot is unmounted and removed";
  auto s = status();
  EXPECT_EQ(s.warm, 1u);
  EXPECT_EQ(s.creating, 1u) << "replaced at once";
}

// A worker actor that dies before it reported its container (creating) may
// still have one in Docker: the pool asks Docker at once and removes it.
TEST_F(pool_fixture, a_worker_actor_dead_while_creating_has_its_container_found_and_removed) {
  auto engine = std::make_shared<test::fake_engine>();
  auto cleaned = std::make_shared<std::vector<std::pair<std::string, bool>>>();
  auto o = options(1, 2);
  o.host = recording_cleanups(cleaned);
  start(o, true, test::spawn_fake_engine(sys, engine));
  ASSERT_EQ(status().creating, 1u);
  auto victim = status().workers.front().id;
  docker::container_summary c;
  c.id = "c-orphan";
  c.name = std::string{names::warm_prefix} + victim;
  c.labels = {{names::label_worker, victim}};
  engine->containers.push_back(c);
  auto lists = engine->lists;
  docker::event crash;
  crash.action = "crash";
  caf::anon_send(spawned->at(victim), crash);
  sched.run();
  EXPECT_GT(engine->lists, lists) << "Docker was asked without waiting for the periodic check";
  EXPECT_EQ(engine->removed, (std::vector<std::string>{"c-orphan"}));
  EXPECT_TRUE(engine->containers.empty());
  auto s = status();
  EXPECT_EQ(s.failed, 1u);
  EXPECT_EQ(s.creating, 1u) << "replaced at once";
}

// Issue 11 (one timeout budget): the pool waits longer than its worker's own
// claim deadline, so a worker that answers at that deadline is not abandoned
// (the pool used to give up at exactly the same moment, and fired first).
TEST_F(pool_fixture, a_claim_answered_at_the_workers_own_deadline_is_not_abandoned) {
  auto o = options(1, 2);
  o.docker_timeout = 30s;
  o.ack_timeout = 5s;
  start(o);
  to_all("creating", "start");
  to_all("warm", "slow");
  auto h = self->request(pool, caf::infinite, claim_atom::value, req("patient"));
  sched.run();
  worker_options w;
  w.docker_timeout = o.docker_timeout;
  w.ack_timeout = o.ack_timeout;
  sched.advance_time(worker_claim_deadline(w));
  sched.run();
  caf::expected<claim_reply> r{caf::sec::unexpected_response};
  h.receive([&](claim_reply& x) { r = std::move(x); }, [&](caf::error& e) { r = e; });
  ASSERT_TRUE(r) << error_message(r.error());
  EXPECT_EQ(r->session_name, "patient");
  EXPECT_LT(worker_claim_deadline(w), pool_claim_budget(o));
}

TEST_F(pool_fixture, a_claim_taken_by_a_worker_that_dies_goes_to_another) {
  start(options(2, 4));
  to_all("creating", "start");
  ASSERT_EQ(status().warm, 2u);
  to_all("warm", "arm");  // both die when they take a claim
  auto h = self->request(pool, caf::infinite, claim_atom::value, req("survivor"));
  sched.run();
  EXPECT_EQ(status().failed, 2u);
  to_all("creating", "start");  // the replacements become warm and serve it
  caf::expected<claim_reply> r{caf::sec::unexpected_response};
  h.receive([&](claim_reply& x) { r = std::move(x); }, [&](caf::error& e) { r = e; });
  ASSERT_TRUE(r) << error_message(r.error());
  EXPECT_EQ(r->session_name, "survivor");
  auto s = status();
  EXPECT_EQ(s.busy, 1u);
  EXPECT_EQ(s.claimed, 0u) << "nothing sits in claimed";
}

TEST_F(pool_fixture, burst_of_claims_all_served_no_worker_twice_max_never_exceeded) {
  auto_warm = true;
  auto o = options(3, 3);
  o.max_creating = 2;
  start(o);
  ASSERT_EQ(status().warm, 3u);
  using handle = decltype(self->request(pool, caf::infinite, claim_atom::value, claim_request{}));
  std::vector<handle> handles;
  for (int i = 0; i < 20; ++i)
    handles.push_back(
      self->request(pool, caf::infinite, claim_atom::value, req("s" + std::to_string(i))));
  sched.run();
  std::vector<std::string> workers;
  int errors = 0;
  for (auto& h : handles)
    h.receive([&](claim_reply& r) { workers.push_back(r.worker_id); },
              [&](caf::error& e) {
                ++errors;
                ADD_FAILURE() << error_message(e);
              });
  EXPECT_EQ(errors, 0);
  EXPECT_EQ(workers.size(), 20u);
  EXPECT_EQ(std::set<std::string>(workers.begin(), workers.end()).size(), 20u)
    << "no worker served two claims";
  EXPECT_LE(rec->worst, 3u) << "warm + creating exceeded MAX at some transition";
  EXPECT_EQ(status().warm, 3u) << "back to MIN";
  EXPECT_EQ(status().busy, 20u);
}

// Issue 11 (claudy PATH --detach <= 12 ms): the replacement of a claimed
// worker is not created while the claim is served and answered (dockerd's
// create would take the CPU its handshake and its client need), but
// refill_quiet later, in virtual time; with refill_quiet 0 (the default of
// pool_options) at once, as before.
TEST_F(pool_fixture, a_refill_waits_refill_quiet_after_a_claim) {
  auto_warm = true;
  auto o = options(2, 2);
  o.refill_quiet = 50ms;
  start(o);
  ASSERT_EQ(status().warm, 2u);
  ASSERT_EQ(spawned->size(), 2u);
  auto h = self->request(pool, caf::infinite, claim_atom::value, req("quiet"));
  sched.run();
  bool served = false;
  h.receive([&](claim_reply&) { served = true; },
            [](caf::error& e) { ADD_FAILURE() << error_message(e); });
  ASSERT_TRUE(served);
  EXPECT_EQ(spawned->size(), 2u) << "a replacement was created while the claim was served";
  EXPECT_EQ(status().warm, 1u);
  sched.advance_time(49ms);
  sched.run();
  EXPECT_EQ(spawned->size(), 2u) << "the refill did not keep quiet for 50 ms";
  sched.advance_time(1ms);
  sched.run();
  EXPECT_EQ(spawned->size(), 3u) << "no refill once quiet";
  auto st = status();
  std::string states;
  for (auto& w : st.workers)
    states += w.id + "=" + to_string(w.state) + " ";
  EXPECT_EQ(st.warm + st.creating, 2u) << "back to MIN: " << states;
  EXPECT_EQ(st.busy, 1u) << states;
}

TEST_F(pool_fixture, claims_queue_fifo_and_are_served_in_order) {
  auto o = options(0, 1);
  o.max_creating = 1;
  o.cold_fallback = false;
  start(o);
  auto h1 = self->request(pool, caf::infinite, claim_atom::value, req("first"));
  auto h2 = self->request(pool, caf::infinite, claim_atom::value, req("second"));
  auto h3 = self->request(pool, caf::infinite, claim_atom::value, req("third"));
  sched.run();
  auto s = status();
  EXPECT_EQ(s.queued, 3u);
  EXPECT_EQ(s.creating, 1u) << "MAX 1: one creation for three claims";
  std::vector<std::string> order;
  for (int i = 0; i < 3; ++i) {
    to_all("creating", "start");
    for (auto& w : status().workers)
      if (w.state == worker_state::busy && std::find(order.begin(), order.end(), w.session_name) == order.end())
        order.push_back(w.session_name);
  }
  EXPECT_EQ(order, (std::vector<std::string>{"first", "second", "third"}));
  for (auto* h : {&h1, &h2, &h3})
    h->receive([](claim_reply&) {}, [](caf::error& e) { ADD_FAILURE() << error_message(e); });
}

TEST_F(pool_fixture, claim_times_out_in_virtual_time) {
  auto o = options(0, 1);
  o.cold_fallback = false;
  start(o);
  auto h = self->request(pool, caf::infinite, claim_atom::value, req("late"));
  sched.run();
  sched.advance_time(29s);
  sched.run();
  EXPECT_EQ(status().queued, 1u);
  sched.advance_time(1s);
  sched.run();
  bool timed_out = false;
  h.receive([](claim_reply&) { ADD_FAILURE() << "served without a warm worker"; },
            [&](caf::error& e) {
              timed_out = error_code(e) == errc::deadline_exceeded;
              EXPECT_NE(error_message(e).find("30 s"), std::string::npos) << error_message(e);
            });
  EXPECT_TRUE(timed_out);
  EXPECT_EQ(status().queued, 0u);
}

TEST_F(pool_fixture, idle_timeout_counts_from_warm_and_keeps_min) {
  start(options(1, 3));
  ASSERT_TRUE(call<std::string>(warm_atom::value));
  ASSERT_TRUE(call<std::string>(warm_atom::value));
  EXPECT_EQ(status().creating, 3u);
  auto conflict = call<std::string>(warm_atom::value);
  ASSERT_FALSE(conflict);
  EXPECT_EQ(error_code(conflict.error()), errc::conflict) << "MAX reached";
  sched.advance_time(200s);  // created long ago, warm only now
  sched.run();
  to_all("creating", "start");
  EXPECT_EQ(status().warm, 3u);
  sched.advance_time(299s);
  sched.run();
  EXPECT_EQ(status().warm, 3u) << "idle counts from warm, not from creation";
  sched.advance_time(1s);
  sched.run();
  auto s = status();
  EXPECT_EQ(s.warm, 1u) << "idle ones above MIN removed, MIN kept";
  EXPECT_EQ(s.creating, 0u);
}

TEST_F(pool_fixture, scale_up_down_cap_and_validation) {
  auto_warm = true;
  start(options(1, 4));
  auto up = call<scale_reply>(scale_atom::value, int32_t{3});
  ASSERT_TRUE(up);
  EXPECT_EQ(up->target, 3u);
  EXPECT_EQ(status().warm, 3u);
  auto capped = call<scale_reply>(scale_atom::value, int32_t{10});
  ASSERT_TRUE(capped);
  EXPECT_EQ(capped->target, 4u);
  ASSERT_FALSE(capped->warnings.empty());
  EXPECT_NE(capped->warnings[0].find("capped"), std::string::npos);
  EXPECT_EQ(status().warm, 4u);
  auto neg = call<scale_reply>(scale_atom::value, int32_t{-1});
  ASSERT_FALSE(neg);
  EXPECT_EQ(error_code(neg.error()), errc::invalid_argument);
  auto down = call<scale_reply>(scale_atom::value, int32_t{1});
  ASSERT_TRUE(down);
  EXPECT_EQ(down->removed.size(), 3u);
  auto s = status();
  EXPECT_EQ(s.warm, 1u);
  EXPECT_EQ(s.min, 1u);
}

TEST_F(pool_fixture, cleanup_removes_idle_above_min_and_failures_never_busy) {
  auto_warm = true;
  start(options(1, 4));
  ASSERT_TRUE(call<claim_reply>(claim_atom::value, req("keep")));
  ASSERT_TRUE(call<std::string>(warm_atom::value));
  ASSERT_TRUE(call<std::string>(warm_atom::value));
  EXPECT_EQ(status().warm, 3u);
  to_all("warm", "die");  // 3 failures, 3 replacements (back to MIN: 1)
  ASSERT_TRUE(call<std::string>(warm_atom::value));
  EXPECT_EQ(status().failed, 3u);
  auto c = call<cleanup_reply>(cleanup_atom::value);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->removed.size(), 1u);
  EXPECT_EQ(c->failed_cleared, 3u);
  auto s = status();
  EXPECT_EQ(s.warm, 1u);
  EXPECT_EQ(s.busy, 1u) << "the session survives cleanup";
  EXPECT_EQ(s.failed, 0u);
}

TEST_F(pool_fixture, stop_removes_warm_keeps_busy_and_start_refills) {
  auto_warm = true;
  start(options(2, 3));
  ASSERT_TRUE(call<claim_reply>(claim_atom::value, req("busy1")));
  EXPECT_EQ(status().warm, 2u);
  auto stopped = call<pool_status>(stop_atom::value);
  ASSERT_TRUE(stopped);
  sched.run();
  auto s = status();
  EXPECT_FALSE(s.running);
  EXPECT_EQ(s.warm, 0u);
  EXPECT_EQ(s.creating, 0u);
  EXPECT_EQ(s.busy, 1u);
  ASSERT_TRUE(call<pool_status>(start_atom::value));
  EXPECT_EQ(status().warm, 2u);
}

TEST_F(pool_fixture, release_by_session_and_unknown_names) {
  auto_warm = true;
  start(options(1, 2));
  auto r = call<claim_reply>(claim_atom::value, req("mine"));
  ASSERT_TRUE(r);
  auto dup = call<claim_reply>(claim_atom::value, req("mine"));
  ASSERT_FALSE(dup);
  EXPECT_EQ(error_code(dup.error()), errc::already_exists);
  auto done = call<worker_status>(release_atom::value, std::string{"mine"}, std::string{"user"});
  ASSERT_TRUE(done) << error_message(done.error());
  EXPECT_EQ(done->id, r->worker_id);
  EXPECT_EQ(status().busy, 0u);
  auto missing = call<worker_status>(release_atom::value, std::string{"nope"}, std::string{});
  ASSERT_FALSE(missing);
  EXPECT_EQ(error_code(missing.error()), errc::not_found);
}

TEST_F(pool_fixture, bad_claims_are_refused_with_clear_errors) {
  auto_warm = true;
  start(options(1, 2));
  auto bad_name = req("-bad");
  auto r = call<claim_reply>(claim_atom::value, bad_name);
  ASSERT_FALSE(r);
  EXPECT_EQ(error_code(r.error()), errc::invalid_argument);
  auto bad_limits = req("ok");
  bad_limits.has_limits = true;
  // Typed limits out of range (an embedding application's claim): refused
  // with the words the parser gives, naming the value.
  bad_limits.limits = *parse_limits("64m", "1", "10");
  bad_limits.limits.memory_bytes = 1024;
  bad_limits.limits.memory_text = "1k";
  r = call<claim_reply>(claim_atom::value, bad_limits);
  ASSERT_FALSE(r);
  EXPECT_NE(error_message(r.error()).find("invalid memory limit '1k'"), std::string::npos)
    << error_message(r.error());
  // Mounted into a container: checked again even though the caller validated.
  for (auto dir : {std::string{"/etc"}, std::string{"/"}, projects.path + "/../"
                                                            + projects.path.substr(5)}) {
    auto bad_dir = req("dir");
    bad_dir.project_dir = dir;
    r = call<claim_reply>(claim_atom::value, bad_dir);
    ASSERT_FALSE(r) << dir;
    EXPECT_EQ(error_code(r.error()), errc::invalid_argument) << dir;
  }
  EXPECT_EQ(status().busy, 0u);
}

TEST_F(pool_fixture, without_late_binding_claims_go_cold_and_say_why) {
  start(options(2, 4), false);
  auto s = status();
  EXPECT_FALSE(s.late_bind);
  EXPECT_EQ(s.late_bind_reason, "late binding switched off");
  EXPECT_EQ(s.creating, 0u) << "no warm workers without late binding";
  auto h = self->request(pool, caf::infinite, claim_atom::value, req("cold1"));
  sched.run();
  to_all("creating", "start");
  h.receive(
    [](claim_reply& r) {
      EXPECT_EQ(r.served, served_kind::cold);
      ASSERT_FALSE(r.warnings.empty());
      EXPECT_NE(r.warnings[0].find("late binding switched off"), std::string::npos);
    },
    [](caf::error& e) { ADD_FAILURE() << error_message(e); });
}

TEST_F(pool_fixture, invalid_options_fail_every_request) {
  auto o = options(5, 2);
  start(o);
  auto s = call<pool_status>(status_atom::value);
  ASSERT_FALSE(s);
  EXPECT_EQ(error_code(s.error()), errc::invalid_argument);
  EXPECT_NE(error_message(s.error()).find("MIN_WARM_WORKERS"), std::string::npos);
  EXPECT_TRUE(spawned->empty());
}
