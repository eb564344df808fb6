#include "runtime/time_format.hpp"

#include <cstdio>
#include <ctime>

#include "messages/error.hpp"

namespace hal9000 {

std::string iso8601_utc(std::chrono::system_clock::time_point t) {
  auto secs = std::chrono::system_clock::to_time_t(t);
  struct tm utc;
  ::gmtime_r(&secs, &utc);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buf;
}

std::string utc_now() {
  return iso8601_utc(std::chrono::system_clock::now());
}

caf::expected<std::chrono::system_clock::time_point>
parse_iso8601_utc(const std::string& text) {
  struct tm utc = {};
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &utc.tm_year,
                  &utc.tm_mon, &utc.tm_mday, &utc.tm_hour, &utc.tm_min,
                  &utc.tm_sec, &consumed) != 6
      || consumed != 19 || text.back() != 'Z' || utc.tm_mon < 1
      || utc.tm_mon > 12 || utc.tm_mday < 1 || utc.tm_mday > 31
      || utc.tm_hour > 23 || utc.tm_min > 59 || utc.tm_sec > 60)
    return make_error(errc::invalid_argument,
                      "not an ISO-8601 UTC time (YYYY-MM-DDTHH:MM:SSZ): " + text);
  utc.tm_year -= 1900;
  utc.tm_mon -= 1;
  return std::chrono::system_clock::from_time_t(::timegm(&utc));
}

} // namespace hal9000
