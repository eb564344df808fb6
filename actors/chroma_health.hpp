#pragma once
// The ChromaDB monitor's logic without actors or I/O: probe results in, state
// and restart decisions out. Times are passed in, so tests drive it directly.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "actors/chroma_probe.hpp"
#include "messages/chroma.hpp"

namespace hal9000::chroma {

struct health_policy {
  /// Consecutive failed probes that make the state down (>= 1).
  uint32_t failure_threshold = 3;
  /// A successful probe slower than this makes the state degraded.
  std::chrono::milliseconds slow{1000};
  /// Pause after a restart before the next may be asked: starts at min,
  /// doubles after each restart up to max, back to min once healthy.
  std::chrono::milliseconds backoff_min{1000};
  std::chrono::milliseconds backoff_max{60000};
};

class health_tracker {
public:
  using clock = std::chrono::steady_clock;

  health_tracker(health_policy policy, std::string url);

  /// Applies a finished probe; true when the state changed.
  bool on_probe(const probe_result& r, clock::time_point now,
                int64_t unix_ms);

  /// Whether a restart is due now: down, threshold failures since the last
  /// restart, none in flight, the backoff passed. If so, marks one in flight
  /// and returns its attempt number (1 for the first since healthy).
  std::optional<uint32_t> take_restart(clock::time_point now);

  /// The restarter replied; either way the next restart waits the backoff.
  void on_restart_done(clock::time_point now);
  void on_restart_failed(const std::string& error, clock::time_point now);

  std::chrono::milliseconds backoff() const { return backoff_; }
  const status& current() const { return status_; }

private:
  void after_restart(clock::time_point now);

  health_policy policy_;
  status status_;
  uint32_t failures_since_restart_ = 0;
  uint32_t attempt_ = 0;
  bool restart_in_flight_ = false;
  std::chrono::milliseconds backoff_;
  std::optional<clock::time_point> next_restart_at_;
};

} // namespace hal9000::chroma
