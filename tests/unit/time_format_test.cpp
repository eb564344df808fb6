#include <gtest/gtest.h>

#include "runtime/time_format.hpp"

using namespace hal9000;

TEST(time_format, iso8601_utc_round_trip) {
  auto t = parse_iso8601_utc("2026-01-26T12:00:00Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(std::chrono::system_clock::to_time_t(*t), 1769428800);
  EXPECT_EQ(iso8601_utc(*t), "2026-01-26T12:00:00Z");
  auto now = utc_now();
  ASSERT_EQ(now.size(), 20u);
  EXPECT_EQ(now.back(), 'Z');
  EXPECT_TRUE(parse_iso8601_utc(now));
  EXPECT_TRUE(parse_iso8601_utc("2026-01-26T12:00:00.123Z"));
}

TEST(time_format, rejects_other_forms) {
  for (auto bad : {"", "x", "2026-01-26", "2026-01-26T12:00:00", "2026-13-01T00:00:00Z",
                   "2026-01-26 12:00:00Z", "2026-01-26T25:00:00Z"})
    EXPECT_FALSE(parse_iso8601_utc(bad)) << bad;
}
