#include "runtime/limits.hpp"

#include <cctype>
#include <cmath>
#include <cstdlib>

#include "messages/error.hpp"

namespace hal9000 {

namespace {

// Parses a non-negative decimal number that fills the whole text.
bool parse_decimal(const std::string& text, double& out) {
  if (text.empty() || !(std::isdigit(static_cast<unsigned char>(text[0]))
                        || text[0] == '.'))
    return false;
  char* end = nullptr;
  out = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size() && std::isfinite(out);
}

} // namespace

caf::expected<int64_t> parse_memory(const std::string& text) {
  auto bad = [&] {
    return make_error(errc::invalid_argument,
                      "invalid memory limit '" + text
                        + "': expected a size such as 512m or 4g");
  };
  if (text.empty())
    return bad();
  std::string num = text;
  double mult = 1;
  switch (std::tolower(static_cast<unsigned char>(text.back()))) {
    case 'b': mult = 1; num.pop_back(); break;
    case 'k': mult = 1024.0; num.pop_back(); break;
    case 'm': mult = 1024.0 * 1024; num.pop_back(); break;
    case 'g': mult = 1024.0 * 1024 * 1024; num.pop_back(); break;
    case 't': mult = 1024.0 * 1024 * 1024 * 1024; num.pop_back(); break;
    default: break;
  }
  double value = 0;
  if (!parse_decimal(num, value))
    return bad();
  auto bytes = value * mult;
  // Docker refuses less than 6 MiB.
  if (bytes < 6.0 * 1024 * 1024)
    return make_error(errc::invalid_argument,
                      "invalid memory limit '" + text
                        + "': Docker needs at least 6m");
  if (bytes > 9.0e18)
    return bad();
  return static_cast<int64_t>(bytes);
}

caf::expected<int64_t> parse_cpus(const std::string& text) {
  double value = 0;
  if (!parse_decimal(text, value) || value <= 0 || value > 1024)
    return make_error(errc::invalid_argument,
                      "invalid CPU limit '" + text
                        + "': expected a number of CPUs above 0, such as 2 or 1.5");
  return static_cast<int64_t>(std::llround(value * 1e9));
}

caf::expected<limit_values> parse_limits(const resource_limits& l) {
  limit_values v;
  v.enabled = l.enabled;
  if (!l.enabled)
    return v;
  auto mem = parse_memory(l.memory);
  if (!mem)
    return mem.error();
  auto cpus = parse_cpus(l.cpus);
  if (!cpus)
    return cpus.error();
  auto pids = parse_pids_limit(l.pids_limit);
  if (!pids)
    return pids.error();
  v.memory_bytes = *mem;
  v.nano_cpus = *cpus;
  v.pids_limit = *pids;
  return v;
}

caf::expected<int64_t> parse_pids_limit(const std::string& text) {
  bool digits = !text.empty() && text.size() <= 9;
  for (auto c : text)
    digits = digits && std::isdigit(static_cast<unsigned char>(c));
  if (!digits || std::stoll(text) < 1)
    return make_error(errc::invalid_argument,
                      "invalid pids limit '" + text
                        + "': expected a whole number of at least 1");
  return std::stoll(text);
}

} // namespace hal9000
