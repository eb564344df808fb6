#pragma once
// A container's resource limits as numbers, the value that crosses messages.
// Docker-syntax text ("4g", "1.5", "100") is parsed once, where it enters
// (runtime/limits.hpp: the sessions actor for a start's flags, the config
// for WORKER_MEMORY / WORKER_CPUS / WORKER_PIDS_LIMIT, the session store for
// a session file); from there on the pool, the workers and Docker's create
// and update use the numbers only. Shared by the pool, the session store and
// the CLI bridge.
//
// enabled=false: no limits at all (`--no-limits`); the numbers are 0.
// enabled=true: memory_bytes >= 6 MiB, 0 < nano_cpus <= 1024e9,
// pids_limit >= 1 (runtime/limits.hpp: validate_limits checks a value that
// did not come from its parser).
//
// The *_text fields keep the limits as they were spelled where they entered
// ("4g", "1.5", "100"; for limits read back from Docker, formatted from the
// numbers). They are for people only: the reference's session file
// ("resource_limits": {"memory": "4g", ...}) and claudy's output show them,
// and nothing parses them again. We keep the spelling rather than format it
// from the numbers because formatting cannot give back what a user wrote
// ("1.5g" would become "1536m", "4096M" "4g"), and the session file and
// claudy must show what they always showed.

#include <cstdint>
#include <string>

#include <caf/meta/type_name.hpp>

namespace hal9000 {

struct resource_limits {
  bool enabled = true;
  int64_t memory_bytes = 0;   // bytes
  int64_t nano_cpus = 0;      // CPUs x 1e9 (1.5 CPUs = 1500000000)
  int64_t pids_limit = 0;     // processes
  std::string memory_text;    // display only, e.g. "4g"
  std::string cpus_text;      // display only, e.g. "1.5"
  std::string pids_limit_text;  // display only, e.g. "100"
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, resource_limits& x) {
  return f(caf::meta::type_name("hal9000::resource_limits"), x.enabled,
           x.memory_bytes, x.nano_cpus, x.pids_limit, x.memory_text, x.cpus_text,
           x.pids_limit_text);
}

/// Every field, the spelling included: a value spelled otherwise is applied
/// again (Docker's update is idempotent) so the session's record keeps the
/// user's spelling, as when the limits were text.
inline bool operator==(const resource_limits& a, const resource_limits& b) {
  return a.enabled == b.enabled && a.memory_bytes == b.memory_bytes
         && a.nano_cpus == b.nano_cpus && a.pids_limit == b.pids_limit
         && a.memory_text == b.memory_text && a.cpus_text == b.cpus_text
         && a.pids_limit_text == b.pids_limit_text;
}

inline bool operator!=(const resource_limits& a, const resource_limits& b) {
  return !(a == b);
}

/// The memory limit in bytes; 0 when unlimited or unknown.
inline int64_t memory_limit_bytes(const resource_limits& l) {
  return l.enabled ? l.memory_bytes : 0;
}

/// The memory limit as spelled ("512m"); "" when unlimited or unknown.
inline std::string memory_limit_text(const resource_limits& l) {
  return l.enabled ? l.memory_text : std::string{};
}

} // namespace hal9000
