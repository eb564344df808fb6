#pragma once
// Times in our files and replies: ISO-8601 UTC with a Z, to the second, as the
// reference writes them ("2026-01-26T12:00:00Z").

#include <chrono>
#include <string>

#include <caf/expected.hpp>

namespace hal9000 {

std::string iso8601_utc(std::chrono::system_clock::time_point t);

/// iso8601_utc(now).
std::string utc_now();

/// Parses "YYYY-MM-DDTHH:MM:SSZ" (fractional seconds ignored);
/// invalid_argument otherwise.
caf::expected<std::chrono::system_clock::time_point>
parse_iso8601_utc(const std::string& text);

} // namespace hal9000
