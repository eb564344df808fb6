// The pull summary: bytes over layers, layers done, and when a line is due.
#include <gtest/gtest.h>

#include "runtime/pull_meter.hpp"

using namespace hal9000;
using namespace std::chrono_literals;

namespace {

docker::pull_progress msg(std::string layer, std::string status, int64_t cur = 0,
                          int64_t total = 0) {
  return {"img:1", std::move(layer), std::move(status), cur, total};
}

} // namespace

TEST(pull_meter, human_bytes_uses_decimal_units) {
  EXPECT_EQ(human_bytes(0), "0 B");
  EXPECT_EQ(human_bytes(999), "999 B");
  EXPECT_EQ(human_bytes(1500), "1.5 kB");
  EXPECT_EQ(human_bytes(12345678), "12.3 MB");
  EXPECT_EQ(human_bytes(2100000000), "2.1 GB");
}

TEST(pull_meter, sums_bytes_over_layers_and_counts_finished_ones) {
  pull_meter m{"img:1", 1s};
  auto t = pull_meter::clock::now();
  EXPECT_FALSE(m.add(msg("1", "Pulling from library/img"), t));
  m.add(msg("a", "Pulling fs layer"), t);
  m.add(msg("b", "Pulling fs layer"), t);
  m.add(msg("a", "Downloading", 1000000, 4000000), t);
  m.add(msg("b", "Downloading", 500000, 2000000), t);
  EXPECT_EQ(m.current(), 1500000);
  EXPECT_EQ(m.total(), 6000000);
  EXPECT_EQ(m.line(), "pulling img:1: 1.5 MB of 6.0 MB, 0/2 layers done");
  m.add(msg("a", "Download complete"), t);
  m.add(msg("a", "Extracting", 100, 4000000), t);  // extraction bytes are not download bytes
  EXPECT_EQ(m.current(), 4500000);
  m.add(msg("a", "Pull complete"), t);
  m.add(msg("c", "Already exists"), t);
  EXPECT_EQ(m.layers_done(), 2u);
  EXPECT_EQ(m.line(), "pulling img:1: 4.5 MB of 6.0 MB, 2/3 layers done");
}

TEST(pull_meter, a_line_is_due_first_on_a_finished_layer_and_once_a_second) {
  pull_meter m{"img:1", 1s};
  auto t = pull_meter::clock::now();
  EXPECT_TRUE(m.add(msg("a", "Downloading", 10, 100), t));
  EXPECT_FALSE(m.add(msg("a", "Downloading", 20, 100), t + 100ms));
  EXPECT_FALSE(m.add(msg("a", "Downloading", 30, 100), t + 900ms));
  EXPECT_TRUE(m.add(msg("a", "Downloading", 40, 100), t + 1100ms));
  // No new bytes: nothing to say even after a second.
  EXPECT_FALSE(m.add(msg("a", "Downloading", 40, 100), t + 2500ms));
  EXPECT_TRUE(m.add(msg("a", "Pull complete"), t + 2600ms));
  // A layer finishes once.
  EXPECT_FALSE(m.add(msg("a", "Pull complete"), t + 2700ms));
}
