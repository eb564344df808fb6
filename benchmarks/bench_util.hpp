#pragma once
// What every benchmark shares: timing samples and printing one JSON object
// per figure: {"name", "p50", "p99", "unit", "n"[, "baseline"][, "ratio"]}.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

namespace hal9000::bench {

using clock = std::chrono::steady_clock;

struct figure {
  std::string name;
  double p50 = 0;
  double p99 = 0;
  size_t n = 0;
};

inline double ms_since(clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(clock::now() - t0).count();
}

inline figure summarize(std::string name, std::vector<double> samples) {
  figure f{std::move(name), 0, 0, samples.size()};
  if (samples.empty())
    return f;
  std::sort(samples.begin(), samples.end());
  auto at = [&](double q) {
    return samples[static_cast<size_t>(q * static_cast<double>(samples.size() - 1) + 0.5)];
  };
  f.p50 = at(0.50);
  f.p99 = at(0.99);
  return f;
}

/// Runs f(i) n times and returns the wall time of each run in ms.
template <class F>
std::vector<double> measure(int n, F f) {
  std::vector<double> out;
  out.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    auto t0 = clock::now();
    f(i);
    out.push_back(ms_since(t0));
  }
  return out;
}

/// Prints a figure; with a baseline, also the baseline's name and the ratio
/// baseline.p50 / f.p50 (how many times faster f is).
inline void print(const figure& f, const figure* baseline = nullptr,
                  const char* unit = "ms") {
  std::printf("{\"name\":\"%s\",\"p50\":%.3f,\"p99\":%.3f,\"unit\":\"%s\",\"n\":%zu",
              f.name.c_str(), f.p50, f.p99, unit, f.n);
  if (baseline && f.p50 > 0)
    std::printf(",\"baseline\":\"%s\",\"ratio\":%.2f", baseline->name.c_str(),
                baseline->p50 / f.p50);
  std::printf("}\n");
  std::fflush(stdout);
}

} // namespace hal9000::bench
