// One timeout budget (issue 11): every caller waits longer than its callee's
// own deadline, so nothing is abandoned while the callee can still complete
// it. The chain: bridge -> sessions -> pool -> worker, and bridge -> terminals.
#include <gtest/gtest.h>

#include "actors/pool_scaler.hpp"
#include "actors/sessions.hpp"
#include "actors/terminals.hpp"
#include "actors/cli_bridge.hpp"
#include "actors/worker.hpp"
#include "cli/context.hpp"
#include "messages/deadlines.hpp"
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

// What the sessions actor may take for a start, step by step as it runs them
// (actors/sessions.cpp): the plan, the "already running?" query and the
// sandbox's grant, then the claim (the "starting" record beside it), then the
// complete record.
namespace {

std::chrono::milliseconds sessions_start_budget(const sessions_options& s) {
  return s.store_timeout * 3 + s.claim_budget + s.store_timeout;
}

} // namespace

// claudy's wait comes from the same figures as the daemon's budget
// (messages/deadlines.hpp): before, claudy waited the claim timeout + 60 s
// while the daemon could take the claim timeout + 85 s, and gave up on
// starts the daemon was still completing.
// The daemon's actors take the shared figures as their defaults.
TEST(timeout_budget, the_daemons_defaults_are_the_shared_figures) {
  pool_options p;
  EXPECT_EQ(p.docker_timeout, deadlines::docker_call);
  EXPECT_EQ(p.ack_timeout, deadlines::command_ack);
  worker_options w;
  EXPECT_EQ(w.docker_timeout, deadlines::docker_call);
  EXPECT_EQ(w.ack_timeout, deadlines::command_ack);
  EXPECT_EQ(worker_claim_deadline(w), deadlines::worker_claim(w.docker_timeout, w.ack_timeout));
  sessions_options s;
  EXPECT_EQ(s.store_timeout, deadlines::store_call);
  terminals_options t;
  EXPECT_EQ(t.open_timeout, deadlines::terminal_exec_open);
  EXPECT_EQ(t.store_timeout, deadlines::terminal_store);
  config cfg;
  cfg.home = "/nonexistent/hal9000-budget";
  auto po = pool_options_from(cfg);
  EXPECT_EQ(po.docker_timeout, deadlines::docker_call);
  EXPECT_EQ(po.ack_timeout, deadlines::command_ack);
  EXPECT_EQ(pool_release_budget(po), deadlines::pool_release());
}

TEST(timeout_budget, claudy_waits_the_daemons_start_budget) {
  for (uint32_t claim_s : {1u, 7u, 30u, 3600u}) {
    config cfg;
    cfg.home = "/nonexistent/hal9000-budget";
    cfg.claim_timeout_s = claim_s;
    auto claim = std::chrono::seconds(claim_s);
    auto s = sessions_options_from(cfg, "");
    // The daemon's figures are the shared ones.
    EXPECT_EQ(s.claim_budget, deadlines::pool_claim(claim));
    EXPECT_EQ(sessions_start_budget(s), deadlines::session_start(claim));
    // claudy (same configuration) waits that, plus the link's margin.
    cli::context ctx;
    ctx.cfg = cfg;
    EXPECT_EQ(ctx.start_wait(), deadlines::session_start_wait(claim));
    EXPECT_GT(ctx.start_wait(), sessions_start_budget(s)) << "claim timeout " << claim_s;
    EXPECT_LE(ctx.start_wait(), sessions_start_budget(s) + deadlines::link_margin)
      << "derived, not a fixed worst case";
    // A restart: the old session's release and record, then a start.
    auto p = pool_options_from(cfg);
    EXPECT_EQ(s.release_budget, pool_release_budget(p));
    EXPECT_GT(ctx.restart_wait(),
              s.store_timeout + s.release_budget + s.store_timeout + sessions_start_budget(s));
  }
}

TEST(timeout_budget, claudy_waits_the_terminal_services_budget) {
  terminals_options t;  // as the runtime spawns it
  bridge_options b;
  EXPECT_EQ(terminal_open_budget(t), deadlines::terminal_open());
  EXPECT_EQ(b.terminal_budget, terminal_open_budget(t));
  // Before, claudy waited a fixed 30 s: exactly the bridge's budget, so it
  // gave up at the moment the daemon could still answer.
  EXPECT_GT(deadlines::terminal_open_wait(), b.terminal_budget);
  EXPECT_EQ(deadlines::terminal_open_wait(), b.terminal_budget + deadlines::link_margin);
}
