#pragma once
// Docker-syntax resource limits, parsed in exactly one place.
//   memory: "512m", "4g", "1.5g", "1048576" (bytes), suffixes b k m g t (any case)
//   cpus:   "2", "1.5", "0.25"           (> 0, at most 1024)
//   pids:   "100"                        (>= 1)

#include <cstdint>
#include <string>

#include <caf/expected.hpp>

#include "messages/resource_limits.hpp"

namespace hal9000 {

/// Limits as numbers, parsed once from their Docker-syntax text.
struct limit_values {
  bool enabled = true;      // false: no limits at all (the numbers are 0)
  int64_t memory_bytes = 0;
  int64_t nano_cpus = 0;    // 1.5 CPUs = 1500000000
  int64_t pids_limit = 0;
};

/// Every field of l parsed; invalid_argument naming the bad one.
caf::expected<limit_values> parse_limits(const resource_limits& l);

caf::expected<int64_t> parse_memory(const std::string& text);     // bytes
caf::expected<int64_t> parse_cpus(const std::string& text);       // nano CPUs
caf::expected<int64_t> parse_pids_limit(const std::string& text);

} // namespace hal9000
