#include "runtime/metrics.hpp"

#include <algorithm>
#include <functional>
#include <stdexcept>
#include <type_traits>

#include <prometheus/check_names.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/text_serializer.h>

namespace hal9000::metrics {

namespace {

// prometheus-cpp checks label names only when a series is added; checking at
// registration makes a bad name fail where it is written. "le" is the
// bucket label a histogram adds itself; a name given twice would make two
// values share one label.
void check_labels(const std::string& name, const std::vector<std::string>& labels,
                  bool is_histogram) {
  for (auto i = labels.begin(); i != labels.end(); ++i)
    if (!prometheus::CheckLabelName(*i) || (is_histogram && *i == "le")
        || std::find(labels.begin(), i, *i) != i)
      throw std::invalid_argument("not a label name for " + name + ": '" + *i + "'");
}

// Keeps our view of a family registered in prometheus-cpp; an unlabelled
// family gets its one series now, so it shows 0 from the start.
template <class Family>
Family& keep(std::vector<std::unique_ptr<Family>>& families,
             typename Family::native& native, std::vector<std::string> labels,
             std::vector<double> bounds = {}) {
  families.push_back(
    std::make_unique<Family>(native, std::move(labels), std::move(bounds)));
  auto& f = *families.back();
  if (f.labels().empty())
    f.with({});
  return f;
}

std::vector<double> latency_buckets_ms() {
  return {0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000};
}

} // namespace

// -- families -------------------------------------------------------------------

template <class Series>
Series family<Series>::with(const std::vector<std::string>& values) const {
  prometheus::Labels labels;
  for (size_t i = 0; i < labels_.size(); ++i)
    labels.emplace(labels_[i], i < values.size() ? values[i] : std::string{});
  // Add returns the existing series when these labels have one.
  if constexpr (std::is_same_v<Series, histogram>)
    return Series{f_->Add(labels, bounds_)};
  else
    return Series{f_->Add(labels)};
}

template class family<counter>;
template class family<gauge>;
template class family<histogram>;

// -- registry -----------------------------------------------------------------------

registry::registry() : reg_(prometheus::Registry::InsertBehavior::Throw) {}

registry::~registry() = default;

counter_family& registry::add_counter(const std::string& name, const std::string& help,
                                      std::vector<std::string> labels) {
  check_labels(name, labels, false);
  std::lock_guard<std::mutex> guard{mtx_};
  // Register throws std::invalid_argument for a bad name or one used before.
  auto& native = prometheus::BuildCounter().Name(name).Help(help).Register(reg_);
  return keep(counters_, native, std::move(labels));
}

gauge_family& registry::add_gauge(const std::string& name, const std::string& help,
                                  std::vector<std::string> labels) {
  check_labels(name, labels, false);
  std::lock_guard<std::mutex> guard{mtx_};
  auto& native = prometheus::BuildGauge().Name(name).Help(help).Register(reg_);
  return keep(gauges_, native, std::move(labels));
}

histogram_family& registry::add_histogram(const std::string& name,
                                          const std::string& help,
                                          std::vector<double> bounds,
                                          std::vector<std::string> labels) {
  // prometheus-cpp checks them only when a series is created.
  if (std::adjacent_find(bounds.begin(), bounds.end(), std::greater_equal<double>{})
      != bounds.end())
    throw std::invalid_argument("bucket bounds of " + name + " are not strictly ascending");
  check_labels(name, labels, true);
  std::lock_guard<std::mutex> guard{mtx_};
  auto& native = prometheus::BuildHistogram().Name(name).Help(help).Register(reg_);
  return keep(histograms_, native, std::move(labels), std::move(bounds));
}

std::string registry::render() const {
  return prometheus::TextSerializer{}.Serialize(reg_.Collect());
}

// -- hal9000's metrics ---------------------------------------------------------------

daemon_metrics::daemon_metrics()
  : workers(reg.add_gauge("hal9000_workers", "Workers by state.", {"state"})),
    claims(reg.add_counter("hal9000_claims_total",
                           "Claims served, by how (warm worker or cold create).",
                           {"served"})),
    claim_latency(reg.add_histogram("hal9000_claim_latency_ms",
                                    "Claim received to session command started, in ms.",
                                    latency_buckets_ms())),
    refill_duration(reg.add_histogram("hal9000_refill_duration_ms",
                                      "Warm worker creation to warm, in ms.",
                                      latency_buckets_ms())),
    docker_latency(reg.add_histogram("hal9000_docker_call_latency_ms",
                                     "Docker Engine API call latency by operation, in ms.",
                                     latency_buckets_ms(), {"op"})),
    docker_errors(reg.add_counter("hal9000_docker_errors_total",
                                  "Failed Docker Engine API calls by error class.",
                                  {"class"})),
    chromadb_up(reg.add_gauge("hal9000_chromadb_up",
                              "1 when ChromaDB answers its heartbeat (healthy or degraded).")),
    chromadb_health(reg.add_gauge("hal9000_chromadb_health",
                                  "ChromaDB health, 1 for the current state.", {"state"})),
    chromadb_latency(reg.add_gauge("hal9000_chromadb_heartbeat_latency_ms",
                                   "Latency of the last successful ChromaDB heartbeat, in ms.")),
    sessions_active(reg.add_gauge("hal9000_sessions_active", "Sessions running now.")),
    worker_exits(reg.add_counter("hal9000_worker_exits_total",
                                 "Worker containers that went away, by reason.",
                                 {"reason"})),
    oom_kills(reg.add_counter("hal9000_oom_kills_total",
                              "Processes in workers killed by the kernel's OOM killer.")),
    session_oom_kills(reg.add_counter("hal9000_session_oom_kills_total",
                                      "OOM kills inside a session, by session.",
                                      {"session"})),
    sessions_network_lost(reg.add_gauge("hal9000_sessions_network_lost",
                                        "Sessions cut off from their network (parent gone).")),
    daemon_restarts(reg.add_counter("hal9000_daemon_restarts_total",
                                    "Daemon starts that found what an earlier run left to reconcile.")),
    reconcile_actions(reg.add_counter("hal9000_reconcile_actions_total",
                                      "Actions of the start-up reconciliation, by action.",
                                      {"action"})),
    events(reg.add_counter("hal9000_events_total", "Lifecycle events published, by kind.",
                           {"kind"})),
    proxy_requests(reg.add_counter("hal9000_proxy_requests_total",
                                   "Model calls through the credential proxy, by session.",
                                   {"session"})),
    proxy_errors(reg.add_counter("hal9000_proxy_errors_total",
                                 "Model calls that failed (status >= 400 or no upstream), by session.",
                                 {"session"})),
    proxy_tokens(reg.add_counter("hal9000_proxy_tokens_total",
                                 "Tokens from the API's usage fields, by session and direction.",
                                 {"session", "direction"})),
    proxy_in_flight(reg.add_gauge("hal9000_proxy_in_flight",
                                  "Model calls in flight now, by session.", {"session"})),
    egress_refusals(reg.add_counter("hal9000_egress_refusals_total",
                                    "Connections refused by the egress policy, by where.",
                                    {"via"})) {
  // Series a dashboard expects to see even before anything happened.
  for (auto state : {"warm", "creating", "busy", "failed"})
    workers.with({state});
  for (auto served : {"warm", "cold"})
    claims.with({served});
  for (auto state : {"unknown", "healthy", "degraded", "down"})
    chromadb_health.with({state}).set(std::string{state} == "unknown" ? 1 : 0);
}

} // namespace hal9000::metrics
