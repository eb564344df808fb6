#pragma once
// A small thread-safe metrics registry rendered in Prometheus text exposition
// format 0.0.4. No external library: counters, gauges and histograms with
// fixed buckets, each in a family with fixed label names.
//
// Hot paths: look a series up once (`family.with({"warm"})`, a short mutex)
// and keep the reference; updating it is a relaxed atomic operation. Series
// live as long as their registry and never move.

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>
#include <vector>

namespace hal9000::metrics {

// -- series ---------------------------------------------------------------------

/// Only goes up.
class counter {
public:
  void inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

private:
  std::atomic<uint64_t> value_{0};
};

/// Goes up and down.
class gauge {
public:
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  void add(double v);
  void inc() { add(1); }
  void dec() { add(-1); }
  double value() const { return value_.load(std::memory_order_relaxed); }

private:
  std::atomic<double> value_{0};
};

/// Observations counted into fixed buckets (upper bounds, ascending; +Inf is
/// implicit), plus their sum and count.
class histogram {
public:
  explicit histogram(const std::vector<double>& bounds);

  void observe(double v);

  const std::vector<double>& bounds() const { return bounds_; }
  /// Cumulative counts per bound, then +Inf (size bounds() + 1).
  std::vector<uint64_t> cumulative() const;
  double sum() const { return sum_.load(std::memory_order_relaxed); }
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }

private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // per bucket, not cumulative
  std::atomic<double> sum_{0};
  std::atomic<uint64_t> count_{0};
};

// -- families -------------------------------------------------------------------

enum class kind { counter, gauge, histogram };

/// One metric name with its help text and label names; series by label values.
template <class Series>
class family {
public:
  family(std::string name, std::string help, std::vector<std::string> labels,
         std::vector<double> bounds = {})
    : name_(std::move(name)), help_(std::move(help)),
      labels_(std::move(labels)), bounds_(std::move(bounds)) {}

  /// The series for these label values (one per label name, in order;
  /// missing values are empty, extra ones ignored). Created on first use.
  Series& with(std::initializer_list<std::string> values) {
    return with(std::vector<std::string>(values));
  }
  Series& with(std::vector<std::string> values);

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& labels() const { return labels_; }

  /// Calls fn(label_values, series) for each series, sorted by label values.
  template <class F>
  void for_each(F&& fn) const {
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto& [values, series] : series_)
      fn(values, *series);
  }

private:
  std::string name_;
  std::string help_;
  std::vector<std::string> labels_;
  std::vector<double> bounds_;  // histograms only
  mutable std::mutex mtx_;
  std::map<std::vector<std::string>, std::unique_ptr<Series>> series_;
};

using counter_family = family<counter>;
using gauge_family = family<gauge>;
using histogram_family = family<histogram>;

template <class Series>
Series& family<Series>::with(std::vector<std::string> values) {
  values.resize(labels_.size());
  std::lock_guard<std::mutex> guard{mtx_};
  auto& slot = series_[std::move(values)];
  if (!slot) {
    if constexpr (std::is_same_v<Series, histogram>)
      slot = std::make_unique<histogram>(bounds_);
    else
      slot = std::make_unique<Series>();
  }
  return *slot;
}

// -- the registry --------------------------------------------------------------------

class registry {
public:
  /// Adds a family; returns the existing one when the name is already a
  /// family of the same kind (help and labels of the first one stay).
  /// Names and label names must match [a-zA-Z_:][a-zA-Z0-9_:]* (checked:
  /// std::invalid_argument, as for a clash of kinds: a programming error).
  counter_family& add_counter(const std::string& name, const std::string& help,
                              std::vector<std::string> labels = {});
  gauge_family& add_gauge(const std::string& name, const std::string& help,
                          std::vector<std::string> labels = {});
  histogram_family& add_histogram(const std::string& name, const std::string& help,
                                  std::vector<double> bounds,
                                  std::vector<std::string> labels = {});

  /// Every family in the order it was added, in text format 0.0.4. A family
  /// without series renders only its HELP and TYPE lines.
  std::string render() const;

private:
  struct entry {
    kind k;
    std::string name;
    std::unique_ptr<counter_family> c;
    std::unique_ptr<gauge_family> g;
    std::unique_ptr<histogram_family> h;
  };
  entry* find(const std::string& name, kind k);

  mutable std::mutex mtx_;
  std::vector<std::unique_ptr<entry>> entries_;
};

/// The Content-Type of render()'s output.
constexpr const char* content_type = "text/plain; version=0.0.4; charset=utf-8";

/// A label value escaped for the text format (\\, \", \n).
std::string escape_label_value(const std::string& value);

/// A sample value: integers without a fraction, +Inf/-Inf/NaN as Prometheus
/// spells them, other numbers with up to 17 significant digits.
std::string format_value(double v);

// -- hal9000's metrics ---------------------------------------------------------------

/// Bucket bounds in milliseconds for latencies from sub-millisecond claims to
/// multi-second cold starts.
std::vector<double> latency_buckets_ms();

/// Every metric the daemon exports (hal9000_*), added to one registry. Actors
/// get a shared_ptr to it and update the families they own; the event hub
/// updates the ones events describe (see actors/event_hub.hpp).
struct daemon_metrics {
  daemon_metrics();

  registry reg;
  gauge_family& workers;                 // hal9000_workers{state}: warm|creating|busy|failed
  counter_family& claims;                // hal9000_claims_total{served}: warm|cold
  histogram_family& claim_latency;       // hal9000_claim_latency_ms
  histogram_family& refill_duration;     // hal9000_refill_duration_ms
  histogram_family& docker_latency;      // hal9000_docker_call_latency_ms{op}
  counter_family& docker_errors;         // hal9000_docker_errors_total{class}
  gauge_family& chromadb_up;             // hal9000_chromadb_up
  gauge_family& chromadb_health;         // hal9000_chromadb_health{state}, one-hot
  gauge_family& chromadb_latency;        // hal9000_chromadb_heartbeat_latency_ms
  gauge_family& sessions_active;         // hal9000_sessions_active
  counter_family& worker_exits;          // hal9000_worker_exits_total{reason}
  counter_family& oom_kills;             // hal9000_oom_kills_total
  counter_family& session_oom_kills;     // hal9000_session_oom_kills_total{session}
  gauge_family& sessions_network_lost;   // hal9000_sessions_network_lost
  counter_family& daemon_restarts;       // hal9000_daemon_restarts_total
  counter_family& reconcile_actions;     // hal9000_reconcile_actions_total{action}
  counter_family& events;                // hal9000_events_total{kind}
  // The credential proxy and the egress policy (actors/sandbox.cpp).
  counter_family& proxy_requests;        // hal9000_proxy_requests_total{session}
  counter_family& proxy_errors;          // hal9000_proxy_errors_total{session}
  counter_family& proxy_tokens;          // hal9000_proxy_tokens_total{session,direction}: input|output
  gauge_family& proxy_in_flight;         // hal9000_proxy_in_flight{session}
  counter_family& egress_refusals;       // hal9000_egress_refusals_total{via}
};

} // namespace hal9000::metrics
