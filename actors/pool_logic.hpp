#pragma once
// The pool scaler's decisions, without CAF or Docker: which workers exist in
// which state, which claims wait, and what to do next. The actor
// (pool_scaler.cpp) feeds it events and carries out what it returns, so every
// rule below is unit-tested on its own (tests/unit/pool_logic_test.cpp).
//
// Rules:
//  - warm + creating (warm-pool workers) never exceeds max;
//  - refill keeps warm + creating at target (min, or `scale N`), plus one per
//    queued claim, up to max, with at most max_creating creations in flight
//    (warm-pool and cold together);
//  - claims are served FIFO: a ready warm worker takes the oldest queued claim
//    that has no cold create of its own in flight, else the oldest one; a cold
//    worker serves only the claim it was created for (its project is bound);
//  - idleness counts from when a worker became warm; only workers above the
//    target are ever removed for it, oldest first;
//  - consecutive creation failures back off (100 ms doubling to 30 s).

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "messages/worker.hpp"

namespace hal9000 {

struct pool_settings {
  uint32_t min = 2;
  uint32_t max = 5;
  uint32_t max_creating = 2;
  std::chrono::milliseconds idle_timeout{300000};
  bool late_bind = true;      // warm workers possible at all
  bool cold_fallback = true;  // queued claims may start cold creates
};

class pool_logic {
public:
  using time_point = std::chrono::steady_clock::time_point;
  using claim_id = uint64_t;

  struct worker_rec {
    std::string id;
    worker_state state = worker_state::creating;
    bool cold = false;
    claim_id claim = 0;        // cold: the claim it was made for; else the one it serves
    time_point spawned{};
    time_point since{};        // entered its current state
    time_point warm_since{};
  };

  struct assignment {
    std::string worker;
    claim_id claim = 0;
  };

  struct scale_result {
    uint32_t target = 0;
    std::vector<std::string> victims;   // workers to stop now
    std::vector<std::string> warnings;
  };

  explicit pool_logic(pool_settings s);

  const pool_settings& settings() const { return settings_; }
  uint32_t target() const { return settings_.min; }
  bool running() const { return running_; }

  /// pool start: refill from now on.
  void start();
  /// pool stop: no more refills; returns the warm and creating warm-pool
  /// workers to remove (never claimed, busy or cold ones).
  std::vector<std::string> stop();

  /// Sets the target; negative is invalid_argument, above max is capped with a
  /// warning. Returns the surplus to stop (creating first, then oldest warm).
  caf::expected<scale_result> scale(int32_t n);

  /// Warm-pool workers above the target that are warm, oldest first.
  std::vector<std::string> cleanup();

  // -- workers ----------------------------------------------------------------

  /// Registers a new worker in state creating.
  void add_worker(const std::string& id, bool cold, claim_id claim, time_point now);

  /// Records a transition the worker reported. Failures while creating count
  /// towards the backoff; a worker reaching warm resets it.
  void set_state(const std::string& id, worker_state to, time_point now);

  /// Drops a worker that is gone.
  void forget(const std::string& id);

  const worker_rec* find(const std::string& id) const;
  const std::map<std::string, worker_rec>& workers() const { return workers_; }

  /// Warm-pool (not cold) workers in a state.
  uint32_t pool_count(worker_state s) const;
  /// Cold workers still creating.
  uint32_t cold_creating() const;

  // -- claims -----------------------------------------------------------------

  /// Queues a claim. cold_only: it cannot use a warm worker (no late binding,
  /// or limits a running container cannot take).
  void enqueue(claim_id id, bool cold_only);
  /// Puts a claim back at the head: its worker failed before starting it.
  void requeue_front(claim_id id, bool cold_only);
  /// Removes a claim from the queue (expired); true if it was queued.
  bool drop_claim(claim_id id);
  bool queued(claim_id id) const;
  size_t queue_size() const { return queue_.size(); }

  // -- decisions ----------------------------------------------------------------

  /// Pairs ready workers with queued claims; each pair leaves the queue and
  /// the worker becomes claimed (one worker, one claimant).
  std::vector<assignment> assign(time_point now);

  /// Ready cold workers whose claim is no longer queued: to remove.
  std::vector<std::string> orphaned_cold() const;

  /// Queued claims that get a cold create now (marks them as having one).
  /// Call after refill(): warm-pool creations have priority, except for
  /// cold-only claims, which are served first.
  std::vector<claim_id> cold_creates();

  /// How many warm-pool workers to start now.
  uint32_t refill(time_point now) const;

  /// When refill is held back by failures, the moment it may resume.
  std::optional<time_point> backoff_until() const;

  /// Warm-pool workers above the target warm for at least idle_timeout,
  /// oldest first.
  std::vector<std::string> idle_victims(time_point now) const;

  /// Whether `warm` may start one more worker (warm + creating < max).
  bool can_warm() const;

private:
  struct queued_claim {
    claim_id id = 0;
    bool cold_only = false;
    bool cold_in_flight = false;
  };

  uint32_t in_flight() const;
  std::vector<const worker_rec*> warm_pool_oldest_first() const;

  pool_settings settings_;
  bool running_ = false;
  std::map<std::string, worker_rec> workers_;
  std::deque<queued_claim> queue_;
  uint32_t failures_ = 0;
  time_point retry_at_{};
};

} // namespace hal9000
