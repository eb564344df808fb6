#include "actors/chroma_health.hpp"

#include <algorithm>

namespace hal9000::chroma {

health_tracker::health_tracker(health_policy policy, std::string url)
  : policy_(policy), backoff_(policy.backoff_min) {
  policy_.failure_threshold = std::max<uint32_t>(1, policy_.failure_threshold);
  status_.url = std::move(url);
}

bool health_tracker::on_probe(const probe_result& r, clock::time_point,
                              int64_t unix_ms) {
  auto before = status_.state;
  status_.checked_at_ms = unix_ms;
  status_.endpoint = r.endpoint;
  if (r.ok) {
    status_.latency_ms = r.latency_ms;
    status_.consecutive_failures = 0;
    failures_since_restart_ = 0;
    attempt_ = 0;
    backoff_ = policy_.backoff_min;
    next_restart_at_.reset();
    auto slow = std::chrono::duration<double, std::milli>(policy_.slow).count();
    if (r.latency_ms > slow) {
      status_.state = health::degraded;
      status_.last_error = "slow heartbeat: " + std::to_string(r.latency_ms)
                           + " ms (limit " + std::to_string(policy_.slow.count())
                           + " ms)";
    } else {
      status_.state = health::healthy;
    }
  } else {
    status_.last_error = r.error;
    ++status_.consecutive_failures;
    ++failures_since_restart_;
    status_.state = status_.consecutive_failures >= policy_.failure_threshold
                      ? health::down
                      : health::degraded;
  }
  return status_.state != before;
}

std::optional<uint32_t> health_tracker::take_restart(clock::time_point now) {
  if (status_.state != health::down || restart_in_flight_
      || failures_since_restart_ < policy_.failure_threshold
      || (next_restart_at_ && now < *next_restart_at_))
    return std::nullopt;
  restart_in_flight_ = true;
  return ++attempt_;
}

void health_tracker::after_restart(clock::time_point now) {
  restart_in_flight_ = false;
  failures_since_restart_ = 0;
  next_restart_at_ = now + backoff_;
  backoff_ = std::min(backoff_ * 2, policy_.backoff_max);
}

void health_tracker::on_restart_done(clock::time_point now) {
  ++status_.restarts;
  after_restart(now);
}

void health_tracker::on_restart_failed(const std::string& error,
                                       clock::time_point now) {
  status_.last_error = "restart failed: " + error;
  after_restart(now);
}

} // namespace hal9000::chroma
