#include "runtime/limits.hpp"

#include <cctype>
#include <cmath>
#include <cstdio>
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

constexpr double min_memory = 6.0 * 1024 * 1024;  // Docker refuses less than 6 MiB
constexpr double max_memory = 9.0e18;
constexpr int64_t max_nano_cpus = 1024LL * 1000000000;

caf::error memory_error(const std::string& text, bool parsed) {
  return make_error(errc::invalid_argument,
                    "invalid memory limit '" + text + "': "
                      + (parsed ? "Docker needs at least 6m"
                                : "expected a size such as 512m or 4g"));
}

caf::error cpus_error(const std::string& text) {
  return make_error(errc::invalid_argument,
                    "invalid CPU limit '" + text
                      + "': expected a number of CPUs above 0, such as 2 or 1.5");
}

caf::error pids_error(const std::string& text) {
  return make_error(errc::invalid_argument,
                    "invalid pids limit '" + text
                      + "': expected a whole number of at least 1");
}

} // namespace

caf::expected<int64_t> parse_memory(const std::string& text) {
  if (text.empty())
    return memory_error(text, false);
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
    return memory_error(text, false);
  auto bytes = value * mult;
  if (bytes < min_memory)
    return memory_error(text, true);
  if (bytes > max_memory)
    return memory_error(text, false);
  return static_cast<int64_t>(bytes);
}

caf::expected<int64_t> parse_cpus(const std::string& text) {
  double value = 0;
  if (!parse_decimal(text, value) || value <= 0 || value > 1024)
    return cpus_error(text);
  return static_cast<int64_t>(std::llround(value * 1e9));
}

caf::expected<int64_t> parse_pids_limit(const std::string& text) {
  bool digits = !text.empty() && text.size() <= 9;
  for (auto c : text)
    digits = digits && std::isdigit(static_cast<unsigned char>(c));
  if (!digits || std::stoll(text) < 1)
    return pids_error(text);
  return std::stoll(text);
}

caf::expected<resource_limits> parse_limits(const std::string& memory,
                                            const std::string& cpus,
                                            const std::string& pids_limit) {
  resource_limits v;
  auto mem = parse_memory(memory);
  if (!mem)
    return mem.error();
  auto nano = parse_cpus(cpus);
  if (!nano)
    return nano.error();
  auto pids = parse_pids_limit(pids_limit);
  if (!pids)
    return pids.error();
  v.enabled = true;
  v.memory_bytes = *mem;
  v.nano_cpus = *nano;
  v.pids_limit = *pids;
  v.memory_text = memory;
  v.cpus_text = cpus;
  v.pids_limit_text = pids_limit;
  return v;
}

resource_limits no_limits() {
  resource_limits v;
  v.enabled = false;
  return v;
}

resource_limits read_limits(bool enabled, const std::string& memory,
                            const std::string& cpus, const std::string& pids_limit) {
  resource_limits v;
  v.enabled = enabled;
  v.memory_text = memory;
  v.cpus_text = cpus;
  v.pids_limit_text = pids_limit;
  // Text of a disabled value is kept as it was (an older file may carry
  // some); its numbers stay 0: nothing limits.
  if (!enabled)
    return v;
  if (auto x = parse_memory(memory))
    v.memory_bytes = *x;
  if (auto x = parse_cpus(cpus))
    v.nano_cpus = *x;
  if (auto x = parse_pids_limit(pids_limit))
    v.pids_limit = *x;
  return v;
}

resource_limits limits_from_docker(int64_t memory_bytes, int64_t nano_cpus,
                                   int64_t pids_limit) {
  resource_limits v;
  v.enabled = memory_bytes > 0 || nano_cpus > 0 || pids_limit > 0;
  if (memory_bytes > 0) {
    v.memory_bytes = memory_bytes;
    v.memory_text = memory_spelling(memory_bytes);
  }
  if (nano_cpus > 0) {
    v.nano_cpus = nano_cpus;
    v.cpus_text = cpus_spelling(nano_cpus);
  }
  if (pids_limit > 0) {
    v.pids_limit = pids_limit;
    v.pids_limit_text = std::to_string(pids_limit);
  }
  return v;
}

caf::error validate_limits(const resource_limits& l) {
  if (!l.enabled)
    return caf::none;
  // The words name the spelling when there is one, else the number.
  auto shown = [](const std::string& text, const std::string& number) {
    return text.empty() ? number : text;
  };
  auto mem = static_cast<double>(l.memory_bytes);
  if (l.memory_bytes <= 0 || mem > max_memory)
    return memory_error(shown(l.memory_text, std::to_string(l.memory_bytes)), false);
  if (mem < min_memory)
    return memory_error(shown(l.memory_text, std::to_string(l.memory_bytes)), true);
  if (l.nano_cpus <= 0 || l.nano_cpus > max_nano_cpus)
    return cpus_error(shown(l.cpus_text, cpus_spelling(l.nano_cpus)));
  if (l.pids_limit < 1)
    return pids_error(shown(l.pids_limit_text, std::to_string(l.pids_limit)));
  return caf::none;
}

std::string memory_spelling(int64_t bytes) {
  constexpr int64_t k = 1024, m = k * k, g = m * k;
  if (bytes != 0 && bytes % g == 0)
    return std::to_string(bytes / g) + "g";
  if (bytes != 0 && bytes % m == 0)
    return std::to_string(bytes / m) + "m";
  if (bytes != 0 && bytes % k == 0)
    return std::to_string(bytes / k) + "k";
  return std::to_string(bytes);
}

std::string cpus_spelling(int64_t nano) {
  if (nano % 1000000000 == 0)
    return std::to_string(nano / 1000000000);
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", static_cast<double>(nano) / 1e9);
  return buf;
}

} // namespace hal9000
