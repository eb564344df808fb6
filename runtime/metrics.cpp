#include "runtime/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace hal9000::metrics {

namespace {

// atomic<double> has no fetch_add before C++20.
void atomic_add(std::atomic<double>& a, double v) {
  auto old = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(old, old + v, std::memory_order_relaxed))
    ;
}

bool valid_name(const std::string& name) {
  if (name.empty())
    return false;
  for (size_t i = 0; i < name.size(); ++i) {
    auto c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':'
              || (i > 0 && c >= '0' && c <= '9');
    if (!ok)
      return false;
  }
  return true;
}

void check_names(const std::string& name, const std::vector<std::string>& labels) {
  if (!valid_name(name))
    throw std::invalid_argument("not a metric name: '" + name + "'");
  for (auto& l : labels)
    if (!valid_name(l) || l.find(':') != std::string::npos || l == "le")
      throw std::invalid_argument("not a label name for " + name + ": '" + l + "'");
}

// HELP text escapes backslash and newline only.
std::string escape_help(const std::string& text) {
  std::string out;
  for (auto c : text) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

// {a="x",b="y"} plus an optional extra pair (le for buckets); "" when empty.
std::string label_set(const std::vector<std::string>& names,
                      const std::vector<std::string>& values,
                      const char* extra_name = nullptr,
                      const std::string& extra_value = {}) {
  if (names.empty() && extra_name == nullptr)
    return {};
  std::string out = "{";
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0)
      out += ',';
    out += names[i] + "=\"" + escape_label_value(values[i]) + '"';
  }
  if (extra_name != nullptr) {
    if (!names.empty())
      out += ',';
    out += std::string{extra_name} + "=\"" + escape_label_value(extra_value) + '"';
  }
  out += '}';
  return out;
}

void header(std::string& out, const std::string& name, const std::string& help,
            const char* type) {
  out += "# HELP " + name + ' ' + escape_help(help) + '\n';
  out += "# TYPE " + name + ' ' + type + '\n';
}

} // namespace

// -- series ---------------------------------------------------------------------

void gauge::add(double v) {
  atomic_add(value_, v);
}

histogram::histogram(const std::vector<double>& bounds)
  : bounds_(bounds), buckets_(new std::atomic<uint64_t>[bounds.size() + 1]) {
  std::sort(bounds_.begin(), bounds_.end());
  bounds_.erase(std::unique(bounds_.begin(), bounds_.end()), bounds_.end());
  for (size_t i = 0; i <= bounds_.size(); ++i)
    buckets_[i].store(0, std::memory_order_relaxed);
}

void histogram::observe(double v) {
  // First bound >= v ("le"); past the end is the +Inf bucket.
  auto i = static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v)
                               - bounds_.begin());
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  atomic_add(sum_, v);
  count_.fetch_add(1, std::memory_order_relaxed);
}

std::vector<uint64_t> histogram::cumulative() const {
  std::vector<uint64_t> out(bounds_.size() + 1);
  uint64_t total = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    total += buckets_[i].load(std::memory_order_relaxed);
    out[i] = total;
  }
  return out;
}

// -- formatting -------------------------------------------------------------------

std::string escape_label_value(const std::string& value) {
  std::string out;
  out.reserve(value.size());
  for (auto c : value) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string format_value(double v) {
  if (std::isnan(v))
    return "NaN";
  if (std::isinf(v))
    return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof(buf), "%.0f", v);
    return buf;
  }
  // The shortest of 15 or 17 significant digits that reads back exactly.
  std::snprintf(buf, sizeof(buf), "%.15g", v);
  if (std::strtod(buf, nullptr) != v)
    std::snprintf(buf, sizeof(buf), "%.17g", v);
  return buf;
}

// -- registry -----------------------------------------------------------------------

registry::entry* registry::find(const std::string& name, kind k) {
  for (auto& e : entries_)
    if (e->name == name) {
      if (e->k != k)
        throw std::invalid_argument("metric " + name + " already exists as another kind");
      return e.get();
    }
  return nullptr;
}

counter_family& registry::add_counter(const std::string& name, const std::string& help,
                                      std::vector<std::string> labels) {
  check_names(name, labels);
  std::lock_guard<std::mutex> guard{mtx_};
  if (auto e = find(name, kind::counter))
    return *e->c;
  auto e = std::make_unique<entry>();
  e->k = kind::counter;
  e->name = name;
  e->c = std::make_unique<counter_family>(name, help, std::move(labels));
  if (e->c->labels().empty())
    e->c->with({});  // an unlabelled metric shows 0 from the start
  entries_.push_back(std::move(e));
  return *entries_.back()->c;
}

gauge_family& registry::add_gauge(const std::string& name, const std::string& help,
                                  std::vector<std::string> labels) {
  check_names(name, labels);
  std::lock_guard<std::mutex> guard{mtx_};
  if (auto e = find(name, kind::gauge))
    return *e->g;
  auto e = std::make_unique<entry>();
  e->k = kind::gauge;
  e->name = name;
  e->g = std::make_unique<gauge_family>(name, help, std::move(labels));
  if (e->g->labels().empty())
    e->g->with({});
  entries_.push_back(std::move(e));
  return *entries_.back()->g;
}

histogram_family& registry::add_histogram(const std::string& name,
                                          const std::string& help,
                                          std::vector<double> bounds,
                                          std::vector<std::string> labels) {
  check_names(name, labels);
  std::lock_guard<std::mutex> guard{mtx_};
  if (auto e = find(name, kind::histogram))
    return *e->h;
  auto e = std::make_unique<entry>();
  e->k = kind::histogram;
  e->name = name;
  e->h = std::make_unique<histogram_family>(name, help, std::move(labels),
                                            std::move(bounds));
  if (e->h->labels().empty())
    e->h->with({});
  entries_.push_back(std::move(e));
  return *entries_.back()->h;
}

std::string registry::render() const {
  std::string out;
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto& e : entries_) {
    switch (e->k) {
      case kind::counter: {
        auto& f = *e->c;
        header(out, f.name(), f.help(), "counter");
        f.for_each([&](const std::vector<std::string>& values, const counter& c) {
          out += f.name() + label_set(f.labels(), values) + ' '
                 + std::to_string(c.value()) + '\n';
        });
        break;
      }
      case kind::gauge: {
        auto& f = *e->g;
        header(out, f.name(), f.help(), "gauge");
        f.for_each([&](const std::vector<std::string>& values, const gauge& g) {
          out += f.name() + label_set(f.labels(), values) + ' '
                 + format_value(g.value()) + '\n';
        });
        break;
      }
      case kind::histogram: {
        auto& f = *e->h;
        header(out, f.name(), f.help(), "histogram");
        f.for_each([&](const std::vector<std::string>& values, const histogram& h) {
          // Read the buckets first: a concurrent observe may make count lag
          // the +Inf bucket by one, never the buckets decrease.
          auto cum = h.cumulative();
          auto& bounds = h.bounds();
          for (size_t i = 0; i <= bounds.size(); ++i) {
            auto le = i < bounds.size() ? format_value(bounds[i]) : std::string{"+Inf"};
            out += f.name() + "_bucket" + label_set(f.labels(), values, "le", le) + ' '
                   + std::to_string(cum[i]) + '\n';
          }
          out += f.name() + "_sum" + label_set(f.labels(), values) + ' '
                 + format_value(h.sum()) + '\n';
          out += f.name() + "_count" + label_set(f.labels(), values) + ' '
                 + std::to_string(cum.back()) + '\n';
        });
        break;
      }
    }
  }
  return out;
}

// -- hal9000's metrics ---------------------------------------------------------------

std::vector<double> latency_buckets_ms() {
  return {0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000};
}

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
                                    "Daemon starts that found a previous run's state.")),
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
