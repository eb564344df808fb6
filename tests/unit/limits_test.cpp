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

// Text enters once: parse_limits gives the numbers with the spelling kept
// for display; the first bad field is named.
TEST(limits, parse_limits_gives_numbers_and_keeps_the_spelling) {
  auto l = parse_limits("1.5g", "0.5", "64");
  ASSERT_TRUE(l) << error_message(l.error());
  EXPECT_TRUE(l->enabled);
  EXPECT_EQ(l->memory_bytes, 1536LL * 1024 * 1024);
  EXPECT_EQ(l->nano_cpus, 500000000);
  EXPECT_EQ(l->pids_limit, 64);
  EXPECT_EQ(l->memory_text, "1.5g") << "not reformatted as 1536m";
  EXPECT_EQ(l->cpus_text, "0.5");
  EXPECT_EQ(l->pids_limit_text, "64");
  auto bad = parse_limits("4g", "lots", "0");
  ASSERT_FALSE(bad);
  EXPECT_NE(error_message(bad.error()).find("invalid CPU limit 'lots'"), std::string::npos);
  EXPECT_FALSE(no_limits().enabled);
  EXPECT_EQ(no_limits().memory_bytes, 0);
}

// A typed value from elsewhere is checked for range with the parser's words.
TEST(limits, validate_limits_refuses_out_of_range_values) {
  EXPECT_FALSE(validate_limits(*parse_limits("6m", "0.01", "1")));
  EXPECT_FALSE(validate_limits(no_limits()));
  auto l = *parse_limits("64m", "1", "10");
  l.memory_bytes = 1024;
  l.memory_text.clear();
  EXPECT_NE(error_message(validate_limits(l)).find("invalid memory limit '1024': Docker needs at least 6m"),
            std::string::npos)
    << error_message(validate_limits(l));
  l = *parse_limits("64m", "1", "10");
  l.nano_cpus = 0;
  EXPECT_NE(error_message(validate_limits(l)).find("invalid CPU limit '1'"), std::string::npos);
  l = *parse_limits("64m", "1", "10");
  l.pids_limit = 0;
  EXPECT_NE(error_message(validate_limits(l)).find("invalid pids limit"), std::string::npos);
  // enabled with nothing set (a session file that never had limits) is no
  // value to apply.
  EXPECT_TRUE(validate_limits(resource_limits{}));
}

// Read defensively (a session file): bad text loads with a number of 0,
// which validate_limits refuses with the parser's words before any use.
TEST(limits, read_limits_keeps_text_that_does_not_parse) {
  auto l = read_limits(true, "lots", "2", "100");
  EXPECT_EQ(l.memory_text, "lots");
  EXPECT_EQ(l.memory_bytes, 0);
  EXPECT_EQ(l.nano_cpus, 2000000000);
  EXPECT_NE(error_message(validate_limits(l)).find("invalid memory limit 'lots': expected a size"),
            std::string::npos);
  auto off = read_limits(false, "4g", "", "");
  EXPECT_FALSE(off.enabled);
  EXPECT_EQ(off.memory_bytes, 0) << "disabled limits limit nothing";
  EXPECT_EQ(off.memory_text, "4g") << "but the file's text is kept";
}

TEST(limits, limits_from_docker_formats_the_numbers) {
  auto l = limits_from_docker(4LL << 30, 1500000000, 100);
  EXPECT_TRUE(l.enabled);
  EXPECT_EQ(l.memory_text, "4g");
  EXPECT_EQ(l.cpus_text, "1.5");
  EXPECT_EQ(l.pids_limit_text, "100");
  EXPECT_EQ(*parse_limits(l.memory_text, l.cpus_text, l.pids_limit_text), l)
    << "the formatted text parses back to the same value";
  EXPECT_EQ(limits_from_docker(96LL << 20, 0, 0).memory_text, "96m");
  EXPECT_FALSE(limits_from_docker(0, 0, 0).enabled);
}
