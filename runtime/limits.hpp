#pragma once
// Docker-syntax resource limits, parsed in exactly one place: here, called
// where text enters (a start's flags, WORKER_* in the config, a session
// file). What crosses messages is the typed value (messages/resource_limits.hpp).
//   memory: "512m", "4g", "1.5g", "1048576" (bytes), suffixes b k m g t (any case)
//   cpus:   "2", "1.5", "0.25"           (> 0, at most 1024)
//   pids:   "100"                        (>= 1)

#include <cstdint>
#include <string>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "messages/resource_limits.hpp"

namespace hal9000 {

/// Enabled limits from their text, the spelling kept for display;
/// invalid_argument naming the first bad one (memory, then cpus, then pids).
caf::expected<resource_limits> parse_limits(const std::string& memory,
                                            const std::string& cpus,
                                            const std::string& pids_limit);

/// No limits at all (`--no-limits`).
resource_limits no_limits();

/// Limits read where a bad text must not stop the reading (a session file is
/// read defensively; a hand-made config): the spelling as it is, each number
/// parsed or 0 when its text does not parse (validate_limits refuses such a
/// value before any use, with the parser's words).
resource_limits read_limits(bool enabled, const std::string& memory,
                            const std::string& cpus, const std::string& pids_limit);

/// Limits of a container as Docker reports them (bytes, nano CPUs, pids; 0:
/// none): enabled when any is set, the spelling formatted ("4g", "1.5").
resource_limits limits_from_docker(int64_t memory_bytes, int64_t nano_cpus,
                                   int64_t pids_limit);

/// Checks a value this parser did not make (a claim from an embedding
/// application, a record read back): invalid_argument naming the first
/// field out of range, with the words parse_limits gives for it.
caf::error validate_limits(const resource_limits& l);

caf::expected<int64_t> parse_memory(const std::string& text);     // bytes
caf::expected<int64_t> parse_cpus(const std::string& text);       // nano CPUs
caf::expected<int64_t> parse_pids_limit(const std::string& text);

/// Bytes in Docker's syntax, exact: "4g", "512m", "1536k", "1000".
std::string memory_spelling(int64_t bytes);

/// Nano CPUs as a number of CPUs: "2", "1.5".
std::string cpus_spelling(int64_t nano_cpus);

} // namespace hal9000
