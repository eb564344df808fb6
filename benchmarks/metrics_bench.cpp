// What the daemon's metrics cost: an update through a kept series handle, a
// lookup by label values plus an update (what the event hub and the Docker
// observer do per event or call), and rendering /metrics with a daemon's
// usual series. Each sample is a batch; figures are per operation, in us.
// One JSON object per line.

#include <string>
#include <vector>

#include "bench_util.hpp"
#include "runtime/metrics.hpp"

using namespace hal9000;

namespace {

// Runs f(i) `batch` times per sample; samples in microseconds per call.
template <class F>
std::vector<double> per_call_us(int samples, int batch, F f) {
  auto ms = bench::measure(samples, [&](int s) {
    for (int i = 0; i < batch; ++i)
      f(s * batch + i);
  });
  for (auto& x : ms)
    x = x * 1000.0 / batch;
  return ms;
}

void print(const char* name, std::vector<double> us) {
  bench::print(bench::summarize(name, std::move(us)), nullptr, "us");
}

} // namespace

int main() {
  metrics::daemon_metrics m;
  // A daemon's usual series: a few Docker operations, sessions on the proxy.
  const std::vector<std::string> ops{"create", "start", "inspect", "rename", "remove",
                                     "update", "exec", "list"};
  for (auto& op : ops)
    m.docker_latency.with({op}).observe(3);
  for (int s = 0; s < 20; ++s) {
    auto name = "session-" + std::to_string(s);
    m.proxy_requests.with({name}).inc();
    m.proxy_tokens.with({name, "input"}).inc(100);
    m.proxy_tokens.with({name, "output"}).inc(100);
    m.proxy_in_flight.with({name}).set(0);
  }

  auto&& warm = m.claims.with({"warm"});
  print("metrics_update_kept_handle", per_call_us(200, 1000, [&](int) { warm.inc(); }));
  print("metrics_lookup_and_observe", per_call_us(200, 1000, [&](int i) {
          m.docker_latency.with({ops[static_cast<size_t>(i) % ops.size()]})
            .observe(static_cast<double>(i % 40));
        }));
  print("metrics_lookup_and_inc", per_call_us(200, 1000, [&](int i) {
          m.events.with({i % 2 ? "worker.warm" : "session.started"}).inc();
        }));
  size_t bytes = 0;
  print("metrics_render", per_call_us(200, 5, [&](int) { bytes += m.reg.render().size(); }));
  return bytes > 0 ? 0 : 1;
}
