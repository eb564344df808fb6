#include <gtest/gtest.h>

#include "messages/error.hpp"
#include "runtime/limits.hpp"

using namespace hal9000;

TEST(limits, memory_accepts_docker_syntax) {
  EXPECT_EQ(*parse_memory("512m"), 512LL * 1024 * 1024);
  EXPECT_EQ(*parse_memory("4g"), 4LL * 1024 * 1024 * 1024);
  EXPECT_EQ(*parse_memory("4G"), 4LL * 1024 * 1024 * 1024);
  EXPECT_EQ(*parse_memory("1.5g"), 1536LL * 1024 * 1024);
  EXPECT_EQ(*parse_memory("67108864"), 67108864);
}

TEST(limits, memory_rejects_garbage_with_a_clear_message) {
  for (auto bad : {"", "abc", "4x", "-1g", "g", "1m"}) {
    auto r = parse_memory(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(error_code(r.error()), errc::invalid_argument);
    EXPECT_NE(error_message(r.error()).find("memory limit"), std::string::npos);
  }
}

TEST(limits, cpus) {
  EXPECT_EQ(*parse_cpus("2"), 2000000000);
  EXPECT_EQ(*parse_cpus("1.5"), 1500000000);
  EXPECT_EQ(*parse_cpus("0.25"), 250000000);
  for (auto bad : {"", "-1", "0", "abc", "1.5x", "2000"})
    EXPECT_FALSE(parse_cpus(bad)) << bad;
}

TEST(limits, pids) {
  EXPECT_EQ(*parse_pids_limit("100"), 100);
  EXPECT_EQ(*parse_pids_limit("1"), 1);
  for (auto bad : {"", "0", "-5", "1.5", "abc", "99999999999"})
    EXPECT_FALSE(parse_pids_limit(bad)) << bad;
}
