#pragma once
// Docker-syntax resource limits, parsed in exactly one place.
//   memory: "512m", "4g", "1.5g", "1048576" (bytes), suffixes b k m g t (any case)
//   cpus:   "2", "1.5", "0.25"           (> 0, at most 1024)
//   pids:   "100"                        (>= 1)

#include <cstdint>
#include <string>

#include <caf/expected.hpp>

namespace hal9000 {

caf::expected<int64_t> parse_memory(const std::string& text);     // bytes
caf::expected<int64_t> parse_cpus(const std::string& text);       // nano CPUs
caf::expected<int64_t> parse_pids_limit(const std::string& text);

} // namespace hal9000
