#pragma once
// The daemon's metrics on prometheus-cpp (Debian's prometheus-cpp-dev, its core
// library only): prometheus::Registry holds the families, prometheus-cpp's
// TextSerializer writes the text exposition format 0.0.4, and
// runtime/metrics_server serves it over cpp-httplib.
//
// What this header adds on top: families whose label names are fixed when they
// are registered, so a series is named by its label values in order
// (`family.with({"warm"})`), small lower-case handles over prometheus-cpp's
// series, and the set of hal9000_* families (daemon_metrics).
//
// Series live as long as their registry and never move, so a handle may be
// kept. with() takes the family's mutex and allocates (a label map, and a
// histogram's buckets): hot paths look a series up once and keep the handle;
// updating through it is an atomic operation (a short mutex for histograms).

#include <initializer_list>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace hal9000::metrics {

// -- series handles ---------------------------------------------------------------

/// Only goes up (a negative n is ignored).
class counter {
public:
  using native = prometheus::Counter;
  explicit counter(native& c) : c_(&c) {}
  void inc(double n = 1) { c_->Increment(n); }
  double value() const { return c_->Value(); }

private:
  native* c_;
};

/// Goes up and down.
class gauge {
public:
  using native = prometheus::Gauge;
  explicit gauge(native& g) : g_(&g) {}
  void set(double v) { g_->Set(v); }
  void add(double v) { g_->Increment(v); }  // v may be negative
  double value() const { return g_->Value(); }

private:
  native* g_;
};

/// Observations counted into the family's buckets ("le": a value equal to a
/// bound counts in that bound's bucket), with their sum and count.
class histogram {
public:
  using native = prometheus::Histogram;
  explicit histogram(native& h) : h_(&h) {}
  void observe(double v) { h_->Observe(v); }

private:
  native* h_;
};

// -- families -------------------------------------------------------------------

/// One metric name with fixed label names; series by label values.
template <class Series>
class family {
public:
  using native = prometheus::Family<typename Series::native>;

  family(native& f, std::vector<std::string> labels, std::vector<double> bounds = {})
    : f_(&f), labels_(std::move(labels)), bounds_(std::move(bounds)) {}

  /// The series for these label values (one per label name, in order;
  /// missing values are empty, extra ones ignored). Created on first use.
  Series with(std::initializer_list<std::string> values) const {
    return with(std::vector<std::string>(values));
  }
  Series with(const std::vector<std::string>& values) const;

  const std::vector<std::string>& labels() const { return labels_; }

private:
  native* f_;
  std::vector<std::string> labels_;
  std::vector<double> bounds_;  // histograms only
};

using counter_family = family<counter>;
using gauge_family = family<gauge>;
using histogram_family = family<histogram>;

extern template class family<counter>;
extern template class family<gauge>;
extern template class family<histogram>;

// -- the registry --------------------------------------------------------------------

class registry {
public:
  registry();
  ~registry();
  registry(const registry&) = delete;
  registry& operator=(const registry&) = delete;

  /// Adds a family. A family without labels has its one series from the
  /// start (it shows 0); one with labels shows once a series exists.
  /// std::invalid_argument (a programming error) for a name used before, a
  /// metric name not matching [a-zA-Z_:][a-zA-Z0-9_:]*, a label name not
  /// matching [a-zA-Z_][a-zA-Z0-9_]* (or "le" on a histogram), or histogram
  /// bounds not strictly ascending.
  counter_family& add_counter(const std::string& name, const std::string& help,
                              std::vector<std::string> labels = {});
  gauge_family& add_gauge(const std::string& name, const std::string& help,
                          std::vector<std::string> labels = {});
  histogram_family& add_histogram(const std::string& name, const std::string& help,
                                  std::vector<double> bounds,
                                  std::vector<std::string> labels = {});

  /// Every family with a series, in text format 0.0.4 (prometheus-cpp's
  /// TextSerializer: counters, then gauges, then histograms).
  std::string render() const;

private:
  prometheus::Registry reg_;
  std::mutex mtx_;  // guards the vectors below (add_*)
  std::vector<std::unique_ptr<counter_family>> counters_;
  std::vector<std::unique_ptr<gauge_family>> gauges_;
  std::vector<std::unique_ptr<histogram_family>> histograms_;
};

/// The Content-Type of render()'s output.
constexpr const char* content_type = "text/plain; version=0.0.4; charset=utf-8";

// -- hal9000's metrics ---------------------------------------------------------------

/// Every metric the daemon exports (hal9000_*), added to one registry. Actors
/// get a shared_ptr to it and update the families they own; the event hub
/// updates the ones events describe (see actors/event_hub.hpp). Latencies are
/// in milliseconds, in buckets from 0.5 ms to 30 s.
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
