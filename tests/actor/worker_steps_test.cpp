// One worker actor's state machine on CAF's test coordinator (virtual time,
// one thread, no root, no Docker): its host-side steps (slot, mounts, FIFO
// handshake, cleanup) are injected (worker_host_steps), the engine is a fake
// that records what the worker asks of it (support/fake_engine_actor.hpp). Every message is delivered by
// sched.run(), so each test sees the transitions in one deterministic order.
// The same paths against the real kernel and entrypoint: worker_fault_test.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "actors/worker.hpp"
#include "messages/error.hpp"
#include "messages/wire.hpp"
#include "runtime/blocking.hpp"
#include "runtime/limits.hpp"
#include "support/fake_engine_actor.hpp"
#include "support/testing_config.hpp"

using namespace hal9000;
using namespace std::chrono_literals;

namespace {

using test::testing_config;

// What the injected steps saw, and what they answer. Single-threaded: the
// test coordinator runs every actor on the test's thread.
struct script {
  std::vector<std::string> slots;      // make_slot: the slot's root
  std::vector<std::string> mounted;    // mount: the plan's project_dir
  std::vector<handshake_spec> handshakes;
  std::vector<bool> cleanups;          // cleanup: its unmount flag
  caf::error fail_slot;
  caf::error fail_mount;
  caf::error fail_handshake;
  std::vector<std::string> mount_warnings;
};

std::shared_ptr<const worker_host_steps> scripted_steps(std::shared_ptr<script> sc) {
  auto s = std::make_shared<worker_host_steps>();
  s->make_slot = [sc](const late_bind::slot_paths& slot) -> caf::error {
    sc->slots.push_back(slot.root);
    return sc->fail_slot;
  };
  s->mount = [sc](const late_bind::slot_paths&, const session_mount_plan& plan)
    -> caf::expected<std::vector<std::string>> {
    sc->mounted.push_back(plan.project_dir);
    if (sc->fail_mount)
      return sc->fail_mount;
    return sc->mount_warnings;
  };
  s->handshake = [sc](const late_bind::slot_paths&, const handshake_spec& hs)
    -> caf::expected<int64_t> {
    sc->handshakes.push_back(hs);
    if (sc->fail_handshake)
      return sc->fail_handshake;
    return int64_t{42};
  };
  s->cleanup = [sc](const std::string&, const std::string&, bool unmount) -> std::string {
    sc->cleanups.push_back(unmount);
    return "";
  };
  return s;
}

worker_observer_actor::behavior_type recording(worker_observer_actor::pointer,
                                               std::shared_ptr<std::vector<worker_transition>> all) {
  return {[all](worker_transition& t) { all->push_back(t); }};
}

struct worker_steps : ::testing::Test {
  testing_config cfg;
  caf::actor_system sys{cfg};
  caf::scheduler::test_coordinator& sched
    = dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
  caf::scoped_actor self{sys};
  std::shared_ptr<script> sc = std::make_shared<script>();
  std::shared_ptr<test::fake_engine> engine = std::make_shared<test::fake_engine>();
  std::shared_ptr<std::vector<worker_transition>> seen
    = std::make_shared<std::vector<worker_transition>>();
  worker_actor worker;

  worker_options options() {
    worker_options o;
    o.id = "w1";
    o.home = "/nonexistent/hal9000-worker-steps";  // never touched: the steps are injected
    o.image = "fake";
    o.limits = *parse_limits("64m", "1", "10");
    o.default_command = "claude";
    o.ack_timeout = 300ms;
    o.docker_timeout = 2s;
    o.host = scripted_steps(sc);
    return o;
  }

  void spawn(worker_options o) {
    worker = spawn_worker(sys, std::move(o), test::spawn_fake_engine(sys, engine), {},
                          sys.spawn(recording, seen));
    sched.run();
  }

  void TearDown() override {
    if (worker)
      caf::anon_send_exit(worker, caf::exit_reason::kill);
    sched.run();
  }

  std::vector<std::string> states() const {
    std::vector<std::string> out;
    for (auto& t : *seen)
      out.push_back(to_string(t.to));
    return out;
  }

  caf::expected<claim_reply> claim(const std::string& name, bool with_limits = false) {
    claim_request r;
    r.session_name = name;
    r.project_dir = "/srv/projects/" + name;
    r.env = {"HAL9000_TEST=1"};
    if (with_limits) {
      r.has_limits = true;
      r.limits = *parse_limits("128m", "2", "20");
    }
    auto h = self->request(worker, caf::infinite, claim_atom::value, r);
    sched.run();
    caf::expected<claim_reply> out{caf::sec::unexpected_response};
    h.receive([&](claim_reply& x) { out = std::move(x); }, [&](caf::error& e) { out = e; });
    return out;
  }

  caf::expected<worker_status> stop(const std::string& reason) {
    auto h = self->request(worker, caf::infinite, stop_atom::value, reason);
    sched.run();
    caf::expected<worker_status> out{caf::sec::unexpected_response};
    h.receive([&](worker_status& x) { out = std::move(x); }, [&](caf::error& e) { out = e; });
    return out;
  }

  void event(const std::string& action, int64_t code = -1) {
    docker::event e;
    e.action = action;
    e.exit_code = code;
    caf::anon_send(worker, e);
    sched.run();
  }
};

} // namespace

TEST_F(worker_steps, blocking_jobs_run_on_the_test_coordinator) {
  ASSERT_TRUE(on_test_coordinator(sys));
  int runs = 0;
  auto h = self->request(spawn_blocking(sys, [&runs]() -> caf::expected<std::string> {
                           ++runs;
                           return std::string{"done"};
                         }),
                         caf::infinite, start_atom::value);
  EXPECT_EQ(runs, 0) << "nothing runs before the coordinator delivers the request";
  sched.run();
  EXPECT_EQ(runs, 1);
  std::string out;
  h.receive([&](std::string& x) { out = x; }, [&](caf::error& e) { out = error_message(e); });
  EXPECT_EQ(out, "done");
}

TEST_F(worker_steps, creating_makes_the_slot_then_the_container_and_becomes_warm) {
  spawn(options());
  EXPECT_EQ(states(), (std::vector<std::string>{"creating", "warm"}));
  EXPECT_EQ(sc->slots.size(), 1u);
  EXPECT_EQ(engine->created, (std::vector<std::string>{"hal9000-warm-w1"}));
  EXPECT_TRUE(sc->mounted.empty()) << "a warm worker mounts nothing before its claim";
}

TEST_F(worker_steps, a_slot_that_cannot_be_made_fails_the_worker_before_any_container) {
  sc->fail_slot = make_error(errc::internal, "mkdir: No space left on device");
  spawn(options());
  EXPECT_EQ(states(), (std::vector<std::string>{"creating", "failed", "gone"}));
  EXPECT_TRUE(engine->created.empty());
  EXPECT_NE(seen->at(1).reason.find("No space left"), std::string::npos) << seen->at(1).reason;
  EXPECT_EQ(sc->cleanups, (std::vector<bool>{false})) << "the slot is removed, nothing unmounted";
}

TEST_F(worker_steps, claim_mounts_hands_over_renames_and_replies_then_release_tears_down) {
  sc->mount_warnings = {"id-mapped mounts unavailable: plain bind"};
  spawn(options());
  auto r = claim("alpha", true);
  ASSERT_TRUE(r) << error_message(r.error());
  EXPECT_EQ(r->session_name, "alpha");
  EXPECT_EQ(r->container_id, "c-hal9000-warm-w1");
  EXPECT_EQ(r->worker_id, "w1");
  EXPECT_EQ(r->served, served_kind::warm);
  EXPECT_EQ(r->limits, *parse_limits("128m", "2", "20")) << "the new limits applied";
  EXPECT_EQ(r->warnings, sc->mount_warnings);
  EXPECT_EQ(engine->updates, 1);
  EXPECT_EQ(engine->renamed, (std::vector<std::string>{"alpha"}));
  EXPECT_EQ(sc->mounted, (std::vector<std::string>{"/srv/projects/alpha"}));
  ASSERT_EQ(sc->handshakes.size(), 1u);
  auto& hs = sc->handshakes[0];
  EXPECT_EQ(hs.session_name, "alpha");
  EXPECT_EQ(hs.workdir, late_bind::project_workdir("/srv/projects/alpha"));
  EXPECT_NE(hs.command.find("claude"), std::string::npos) << hs.command;
  EXPECT_NE(hs.command.find("HAL9000_TEST"), std::string::npos) << hs.command;
  EXPECT_EQ(hs.deadline, 300ms);
  EXPECT_EQ(states(), (std::vector<std::string>{"creating", "warm", "claimed", "busy"}));
  EXPECT_EQ(seen->back().session_name, "alpha");
  EXPECT_EQ(seen->back().served, served_kind::warm);

  auto again = claim("beta");
  ASSERT_FALSE(again);
  EXPECT_EQ(error_code(again.error()), errc::conflict);

  auto st = stop("released");
  ASSERT_TRUE(st) << error_message(st.error());
  EXPECT_EQ(st->state, worker_state::gone);
  EXPECT_EQ(states(), (std::vector<std::string>{"creating", "warm", "claimed", "busy",
                                                "stopping", "gone"}));
  EXPECT_EQ(seen->back().reason, "released");
  EXPECT_EQ(engine->removed, (std::vector<std::string>{"c-hal9000-warm-w1"}));
  EXPECT_EQ(sc->cleanups, (std::vector<bool>{true})) << "the project is unmounted";
}

TEST_F(worker_steps, a_missed_handshake_fails_the_claim_and_removes_everything) {
  sc->fail_handshake = make_error(errc::deadline_exceeded, "no ack within 300 ms");
  spawn(options());
  auto r = claim("late");
  ASSERT_FALSE(r);
  EXPECT_EQ(error_code(r.error()), errc::deadline_exceeded);
  EXPECT_EQ(states(), (std::vector<std::string>{"creating", "warm", "claimed", "failed",
                                                "gone"}));
  EXPECT_NE(seen->at(3).reason.find("no ack"), std::string::npos) << seen->at(3).reason;
  EXPECT_EQ(engine->removed.size(), 1u);
  EXPECT_EQ(sc->cleanups, (std::vector<bool>{true}));
}

TEST_F(worker_steps, a_failed_mount_fails_the_claim_without_a_handshake) {
  sc->fail_mount = make_error(errc::internal, "mount: Permission denied");
  spawn(options());
  auto r = claim("denied");
  ASSERT_FALSE(r);
  EXPECT_EQ(error_code(r.error()), errc::internal);
  EXPECT_TRUE(sc->handshakes.empty());
  EXPECT_EQ(states().back(), "gone");
  EXPECT_EQ(sc->cleanups, (std::vector<bool>{true})) << "a partial mount is undone";
}

TEST_F(worker_steps, a_stop_during_the_claim_waits_for_it_then_releases) {
  spawn(options());
  claim_request req;
  req.session_name = "brief";
  req.project_dir = "/srv/projects/brief";
  auto c = self->request(worker, caf::infinite, claim_atom::value, req);
  // Deliver the claim only: the worker is claimed, its steps in flight.
  ASSERT_TRUE(sched.try_run_once());
  ASSERT_FALSE(sched.jobs.empty()) << "the claim's steps are in flight";
  EXPECT_TRUE(engine->renamed.empty());
  EXPECT_TRUE(sc->handshakes.empty());
  auto s = self->request(worker, caf::infinite, stop_atom::value, std::string{"user stop"});
  sched.run();
  caf::expected<claim_reply> r{caf::sec::unexpected_response};
  c.receive([&](claim_reply& x) { r = std::move(x); }, [&](caf::error& e) { r = e; });
  ASSERT_TRUE(r) << "the claim in flight still completes: " << error_message(r.error());
  std::string final_state;
  s.receive([&](worker_status& x) { final_state = to_string(x.state); },
            [&](caf::error& e) { final_state = error_message(e); });
  EXPECT_EQ(final_state, "gone");
  EXPECT_EQ(states(), (std::vector<std::string>{"creating", "warm", "claimed", "busy",
                                                "stopping", "gone"}));
}

TEST_F(worker_steps, the_session_command_exiting_ends_a_busy_worker) {
  spawn(options());
  ASSERT_TRUE(claim("short"));
  event("die", 0);
  EXPECT_EQ(states().back(), "gone");
  EXPECT_EQ(seen->at(seen->size() - 2).to, worker_state::stopping);
  EXPECT_EQ(seen->back().reason, "exited with code 0");
}

TEST_F(worker_steps, an_oom_kill_while_warm_fails_the_worker_and_names_the_limit) {
  spawn(options());
  event("oom");
  event("die", 137);
  EXPECT_EQ(states(), (std::vector<std::string>{"creating", "warm", "failed", "gone"}));
  EXPECT_EQ(seen->at(2).reason, "OOM-killed (memory limit 64m)");
  EXPECT_EQ(sc->cleanups, (std::vector<bool>{false})) << "nothing was mounted";
}

TEST_F(worker_steps, a_cold_worker_mounts_before_create_and_only_hands_over_at_the_claim) {
  auto o = options();
  o.cold = true;
  o.cold_claim.session_name = "frosty";
  o.cold_claim.project_dir = "/srv/projects/frosty";
  spawn(o);
  EXPECT_EQ(states(), (std::vector<std::string>{"creating", "warm"}));
  EXPECT_EQ(sc->mounted, (std::vector<std::string>{"/srv/projects/frosty"}));
  EXPECT_EQ(engine->created, (std::vector<std::string>{"hal9000-cold-w1"}));
  auto r = claim("frosty");
  ASSERT_TRUE(r) << error_message(r.error());
  EXPECT_EQ(r->served, served_kind::cold);
  EXPECT_EQ(sc->mounted.size(), 1u) << "no second mount at the claim";
  EXPECT_EQ(sc->handshakes.size(), 1u);
}
