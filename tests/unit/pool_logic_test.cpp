// The scaler's decisions, without CAF or Docker.
#include <gtest/gtest.h>

#include <algorithm>

#include "actors/pool_logic.hpp"
#include "messages/error.hpp"

using namespace hal9000;
using namespace std::chrono_literals;

namespace {

using tp = pool_logic::time_point;

struct logic_fixture : ::testing::Test {
  tp t0 = tp{} + 1000s;
  int next = 0;

  pool_settings settings(uint32_t min, uint32_t max, uint32_t creating = 2) {
    pool_settings s;
    s.min = min;
    s.max = max;
    s.max_creating = creating;
    s.idle_timeout = 300s;
    return s;
  }

  // Starts what refill asks for; returns the new ids.
  std::vector<std::string> refill(pool_logic& l, tp now) {
    std::vector<std::string> ids;
    for (auto n = l.refill(now); n > 0; --n) {
      ids.push_back("w" + std::to_string(next++));
      l.add_worker(ids.back(), false, 0, now);
    }
    return ids;
  }

  void warm_all(pool_logic& l, const std::vector<std::string>& ids, tp now) {
    for (auto& id : ids)
      l.set_state(id, worker_state::warm, now);
  }
};

} // namespace

TEST_F(logic_fixture, refill_reaches_min_with_bounded_creations) {
  pool_logic l{settings(3, 5, 2)};
  EXPECT_EQ(l.refill(t0), 0u) << "a stopped pool never refills";
  l.start();
  auto first = refill(l, t0);
  EXPECT_EQ(first.size(), 2u) << "at most max_creating in flight";
  EXPECT_EQ(l.refill(t0), 0u);
  l.set_state(first[0], worker_state::warm, t0);
  EXPECT_EQ(refill(l, t0).size(), 1u);
  EXPECT_EQ(l.refill(t0), 0u) << "warm + creating == min";
}

TEST_F(logic_fixture, warm_plus_creating_never_exceeds_max) {
  pool_logic l{settings(2, 3, 8)};
  l.start();
  for (pool_logic::claim_id c = 1; c <= 10; ++c)
    l.enqueue(c, false);
  auto ids = refill(l, t0);
  EXPECT_EQ(ids.size(), 3u) << "queued claims raise demand, but only up to max";
  warm_all(l, ids, t0);
  EXPECT_EQ(l.assign(t0).size(), 3u);
  auto more = refill(l, t0);
  EXPECT_EQ(more.size(), 3u);
  EXPECT_LE(l.pool_count(worker_state::warm) + l.pool_count(worker_state::creating), 3u);
  EXPECT_FALSE(l.can_warm());
}

TEST_F(logic_fixture, claims_are_served_fifo_and_each_worker_once) {
  pool_logic l{settings(2, 2)};
  l.start();
  auto ids = refill(l, t0);
  l.set_state(ids[1], worker_state::warm, t0);
  l.set_state(ids[0], worker_state::warm, t0 + 1s);
  l.enqueue(7, false);
  l.enqueue(8, false);
  l.enqueue(9, false);
  auto a = l.assign(t0 + 2s);
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0].claim, 7u);
  EXPECT_EQ(a[0].worker, ids[1]) << "the worker warm longest goes first";
  EXPECT_EQ(a[1].claim, 8u);
  EXPECT_EQ(a[1].worker, ids[0]);
  EXPECT_TRUE(l.assign(t0 + 2s).empty()) << "a claimed worker is never assigned again";
  EXPECT_TRUE(l.queued(9));
  EXPECT_EQ(l.find(ids[0])->state, worker_state::claimed);
}

TEST_F(logic_fixture, a_late_report_never_undoes_a_decision) {
  pool_logic l{settings(1, 1)};
  l.start();
  auto ids = refill(l, t0);
  l.set_state(ids[0], worker_state::stopping, t0);
  l.set_state(ids[0], worker_state::warm, t0);  // sent before it saw our stop
  EXPECT_EQ(l.find(ids[0])->state, worker_state::stopping);
  l.enqueue(1, false);
  EXPECT_TRUE(l.assign(t0).empty());
}

TEST_F(logic_fixture, idle_timeout_counts_from_warm_and_keeps_min) {
  pool_logic l{settings(1, 3, 3)};
  l.start();
  std::vector<std::string> ids{"a", "b", "c"};
  for (auto& id : ids)
    l.add_worker(id, false, 0, t0);  // spawned long before warm
  l.set_state("a", worker_state::warm, t0 + 10s);
  l.set_state("b", worker_state::warm, t0 + 20s);
  l.set_state("c", worker_state::warm, t0 + 30s);
  EXPECT_TRUE(l.idle_victims(t0 + 309s).empty()) << "idle counts from warm, not spawn";
  EXPECT_EQ(l.idle_victims(t0 + 310s), std::vector<std::string>{"a"});
  EXPECT_EQ(l.idle_victims(t0 + 1000s), (std::vector<std::string>{"a", "b"}))
    << "never below min";
}

TEST_F(logic_fixture, scale_validates_caps_and_names_surplus) {
  pool_logic l{settings(1, 4, 4)};
  l.start();
  auto neg = l.scale(-1);
  ASSERT_FALSE(neg);
  EXPECT_EQ(error_code(neg.error()), errc::invalid_argument);
  auto up = l.scale(9);
  ASSERT_TRUE(up);
  EXPECT_EQ(up->target, 4u);
  ASSERT_EQ(up->warnings.size(), 1u);
  EXPECT_NE(up->warnings[0].find("MAX_WARM_WORKERS (4)"), std::string::npos);
  auto ids = refill(l, t0);
  ASSERT_EQ(ids.size(), 4u);
  l.set_state(ids[0], worker_state::warm, t0 + 1s);
  l.set_state(ids[1], worker_state::warm, t0 + 2s);
  auto down = l.scale(1);
  ASSERT_TRUE(down);
  ASSERT_EQ(down->victims.size(), 3u);
  // creating ones go first, then the oldest warm
  EXPECT_NE(std::find(down->victims.begin(), down->victims.end(), ids[2]), down->victims.end());
  EXPECT_NE(std::find(down->victims.begin(), down->victims.end(), ids[3]), down->victims.end());
  EXPECT_EQ(down->victims.back(), ids[0]);
}

TEST_F(logic_fixture, cleanup_removes_warm_above_min_never_busy) {
  pool_logic l{settings(1, 4, 4)};
  l.start();
  ASSERT_TRUE(l.scale(4));
  auto ids = refill(l, t0);
  warm_all(l, ids, t0);
  l.enqueue(1, false);
  ASSERT_EQ(l.assign(t0).size(), 1u);
  ASSERT_TRUE(l.scale(1));
  auto v = l.cleanup();
  EXPECT_EQ(v.size(), 2u) << "3 warm, min 1; the claimed one is not a candidate";
}

TEST_F(logic_fixture, stop_returns_warm_and_creating_only) {
  pool_logic l{settings(3, 3, 3)};
  l.start();
  auto ids = refill(l, t0);
  l.set_state(ids[0], worker_state::warm, t0);
  l.set_state(ids[1], worker_state::warm, t0);
  l.enqueue(1, false);
  ASSERT_EQ(l.assign(t0).size(), 1u);
  auto v = l.stop();
  EXPECT_EQ(v.size(), 2u);
  EXPECT_FALSE(l.running());
  EXPECT_EQ(l.refill(t0), 0u);
}

TEST_F(logic_fixture, cold_claims_without_late_binding) {
  auto s = settings(2, 5, 2);
  s.late_bind = false;
  pool_logic l{s};
  l.start();
  EXPECT_EQ(l.refill(t0), 0u) << "no warm workers without late binding";
  l.enqueue(1, false);
  l.enqueue(2, false);
  l.enqueue(3, false);
  auto c = l.cold_creates();
  EXPECT_EQ(c, (std::vector<pool_logic::claim_id>{1, 2})) << "bounded by max_creating";
  l.add_worker("c1", true, 1, t0);
  l.add_worker("c2", true, 2, t0);
  EXPECT_TRUE(l.cold_creates().empty());
  l.set_state("c2", worker_state::warm, t0);
  auto a = l.assign(t0);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].worker, "c2");
  EXPECT_EQ(a[0].claim, 2u) << "a cold worker serves only its own claim";
}

TEST_F(logic_fixture, whichever_is_first_serves_and_the_other_cold_is_orphaned) {
  pool_logic l{settings(0, 1, 3)};
  l.start();
  l.enqueue(1, false);
  auto warm = refill(l, t0);
  ASSERT_EQ(warm.size(), 1u);
  l.enqueue(2, false);
  auto cold = l.cold_creates();
  EXPECT_EQ(cold, std::vector<pool_logic::claim_id>{2})
    << "claim 1 is covered by the warm worker being created";
  l.add_worker("c", true, 2, t0);
  l.set_state(warm[0], worker_state::warm, t0);
  auto a = l.assign(t0);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].claim, 1u);
  // Warm serves claim 1; claim 2 still waits for its cold worker.
  l.set_state("c", worker_state::warm, t0);
  a = l.assign(t0);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].claim, 2u);
  EXPECT_TRUE(l.orphaned_cold().empty());
}

TEST_F(logic_fixture, expired_claim_orphans_its_cold_worker) {
  auto s = settings(0, 0, 2);
  pool_logic l{s};
  l.start();
  l.enqueue(5, true);
  ASSERT_EQ(l.cold_creates().size(), 1u);
  l.add_worker("c", true, 5, t0);
  EXPECT_TRUE(l.drop_claim(5));
  l.set_state("c", worker_state::warm, t0);
  EXPECT_TRUE(l.assign(t0).empty());
  EXPECT_EQ(l.orphaned_cold(), std::vector<std::string>{"c"});
}

TEST_F(logic_fixture, creation_failures_back_off) {
  pool_logic l{settings(2, 2)};
  l.start();
  auto ids = refill(l, t0);
  l.set_state(ids[0], worker_state::failed, t0);
  l.forget(ids[0]);
  EXPECT_EQ(l.refill(t0), 0u) << "held back after a failure";
  ASSERT_TRUE(l.backoff_until());
  EXPECT_EQ(*l.backoff_until(), t0 + 100ms);
  EXPECT_EQ(l.refill(t0 + 100ms), 1u) << "then one probe at a time";
  l.set_state(ids[1], worker_state::warm, t0 + 200ms);
  EXPECT_FALSE(l.backoff_until()) << "a worker reaching warm resets it";
}

TEST_F(logic_fixture, requeued_claim_goes_first) {
  pool_logic l{settings(1, 1)};
  l.start();
  l.enqueue(1, false);
  l.enqueue(2, false);
  EXPECT_TRUE(l.drop_claim(1));
  l.requeue_front(1, false);
  auto ids = refill(l, t0);
  warm_all(l, ids, t0);
  auto a = l.assign(t0);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].claim, 1u);
}
