#pragma once
// Resource limits in Docker's syntax, as the reference's session file has
// them ("4g", "2", "100"); parsed only by runtime/limits.hpp.
// enabled=false: no limits at all (`--no-limits`). Shared by the pool, the
// session store and the CLI bridge.

#include <string>

#include <caf/meta/type_name.hpp>

namespace hal9000 {

struct resource_limits {
  bool enabled = true;
  std::string memory;
  std::string cpus;
  std::string pids_limit;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, resource_limits& x) {
  return f(caf::meta::type_name("hal9000::resource_limits"), x.enabled,
           x.memory, x.cpus, x.pids_limit);
}

inline bool operator==(const resource_limits& a, const resource_limits& b) {
  return a.enabled == b.enabled && a.memory == b.memory && a.cpus == b.cpus
         && a.pids_limit == b.pids_limit;
}

inline bool operator!=(const resource_limits& a, const resource_limits& b) {
  return !(a == b);
}

} // namespace hal9000
