// One timeout budget (issue 11): every caller waits longer than its callee's
// own deadline, so nothing is abandoned while the callee can still complete
// it. The chain: bridge -> sessions -> pool -> worker, and bridge -> terminals.
#include <gtest/gtest.h>

#include "actors/pool_scaler.hpp"
#include "actors/sessions.hpp"
#include "actors/terminals.hpp"
#include "actors/worker.hpp"
#include "runtime/config.hpp"

using namespace hal9000;
using namespace std::chrono_literals;

namespace {

worker_options worker_of(const pool_options& p) {
  worker_options w;
  w.docker_timeout = p.docker_timeout;
  w.ack_timeout = p.ack_timeout;
  return w;
}

} // namespace

TEST(timeout_budget, a_workers_claim_deadline_covers_its_slowest_step) {
  worker_options w;
  w.docker_timeout = 30s;
  w.ack_timeout = 5s;
  // Rename and update: one Docker call each; mounts + handshake: the ack wait
  // on top of a Docker call's time. They run in parallel.
  EXPECT_EQ(worker_claim_deadline(w), 35s);
  // Removal, then the slot's cleanup.
  EXPECT_EQ(worker_stop_deadline(w), 60s);
}

TEST(timeout_budget, the_pool_waits_longer_than_its_workers) {
  for (auto ack : {1s, 5s, 60s}) {
    pool_options p;
    p.docker_timeout = 10s;
    p.ack_timeout = ack;
    p.claim_timeout = 30s;
    auto w = worker_of(p);
    EXPECT_GT(pool_claim_budget(p), p.claim_timeout + worker_claim_deadline(w));
    EXPECT_GT(pool_release_budget(p), worker_stop_deadline(w));
    EXPECT_GT(pool_stop_budget(p), pool_release_budget(p));
  }
}

TEST(timeout_budget, the_sessions_actor_waits_the_pools_budget) {
  config cfg;
  cfg.home = "/nonexistent/hal9000-budget";
  cfg.claim_timeout_s = 7;
  auto s = sessions_options_from(cfg, "");
  auto p = pool_options_from(cfg);
  EXPECT_EQ(s.claim_budget, pool_claim_budget(p));
  EXPECT_EQ(s.release_budget, pool_release_budget(p));
  EXPECT_GT(s.claim_budget, 7s + worker_claim_deadline(worker_of(p)));
}

TEST(timeout_budget, the_bridge_waits_the_terminal_services_budget) {
  terminals_options t;
  t.open_timeout = 40s;  // longer than the bridge's old fixed 30 s
  t.store_timeout = 5s;
  EXPECT_GT(terminal_open_budget(t), t.open_timeout + t.store_timeout);
  t.open_timeout = 1s;
  EXPECT_GT(terminal_open_budget(t), t.open_timeout + t.store_timeout);
  EXPECT_LT(terminal_open_budget(t), 40s) << "derived, not a fixed worst case";
}
