// What `claudy daemon start` waits for, decided from a daemon status.
#include <gtest/gtest.h>

#include "cli/start_wait.hpp"

using namespace hal9000;
using namespace hal9000::cli;

namespace {

daemon_status base() {
  daemon_status st;
  st.parent_state = "running";
  st.chroma_state = "healthy";
  return st;
}

} // namespace

TEST(start_wait, a_healthy_chromadb_and_no_pool_is_ready) {
  auto r = readiness_of(base());
  EXPECT_TRUE(r.ready);
  EXPECT_EQ(r.waiting, "");
  EXPECT_EQ(r.problem, "");
}

TEST(start_wait, waits_for_chromadb_and_warm_workers_and_says_which) {
  auto st = base();
  st.chroma_state = "degraded";
  st.pool_running = true;
  st.warm = 1;
  st.min_warm = 3;
  auto r = readiness_of(st);
  EXPECT_FALSE(r.ready);
  EXPECT_EQ(r.waiting, "ChromaDB (degraded) and warm workers 1/3");
  st.chroma_state = "healthy";
  EXPECT_EQ(readiness_of(st).waiting, "warm workers 1/3");
  st.warm = 3;
  EXPECT_TRUE(readiness_of(st).ready);
}

TEST(start_wait, a_parent_not_kept_means_no_chromadb_to_wait_for) {
  auto st = base();
  st.parent_state = "unknown";
  st.chroma_state = "down";
  EXPECT_TRUE(readiness_of(st).ready);
}

TEST(start_wait, a_parent_that_could_not_be_made_is_a_problem_with_its_reason) {
  auto st = base();
  st.parent_state = "missing";
  st.chroma_state = "down";
  st.notes = {"volume x: created",
              "parent not running: CHROMADB_PORT 8000 is already in use on 127.0.0.1: "
              "set CHROMADB_PORT to a free port (workers use the bridge network; "
              "ChromaDB is unavailable)"};
  auto r = readiness_of(st);
  EXPECT_FALSE(r.ready);
  EXPECT_EQ(r.problem.rfind("ChromaDB is unavailable: CHROMADB_PORT 8000 is already in use", 0),
            0u)
    << r.problem;
  st.notes = {"parent: image gone"};
  EXPECT_EQ(readiness_of(st).problem, "ChromaDB is unavailable: image gone");
  st.notes.clear();
  EXPECT_EQ(readiness_of(st).problem,
            "ChromaDB is unavailable: the parent container is missing");
}

// `X=... claudy daemon start` on a running daemon: the given settings that
// the daemon does not run with are named, with the command that applies them.
TEST(start_wait, given_settings_the_running_daemon_lacks_are_named) {
  auto st = base();
  st.settings = {{"WORKER_MEMORY", "4g"}, {"MIN_WARM_WORKERS", "2"}, {"WORKER_CPUS", "2"},
                 {"HAL9000_HOME", "/root/.hal9000"}, {"HAL9000_EGRESS_ALLOW", "a.com"}};
  std::map<std::string, std::string> wanted{
    {"WORKER_MEMORY", "8g"}, {"MIN_WARM_WORKERS", "2"}, {"WORKER_CPUS", "1"},
    {"HAL9000_HOME", "/home/u/.hal9000"}, {"HAL9000_EGRESS_ALLOW", "a.com,*.b.com"}};
  // WORKER_CPUS differs but was not given; HAL9000_HOME differs by design.
  auto given = [](const std::string& n) -> std::optional<std::string> {
    if (n == "WORKER_MEMORY" || n == "MIN_WARM_WORKERS" || n == "HAL9000_HOME"
        || n == "HAL9000_EGRESS_ALLOW")
      return std::string{"x"};
    return std::nullopt;
  };
  auto d = given_differences(st, wanted, given);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].name, "HAL9000_EGRESS_ALLOW");
  EXPECT_EQ(d[1].name, "WORKER_MEMORY");
  EXPECT_EQ(d[1].wanted, "8g");
  EXPECT_EQ(d[1].running, "4g");
  EXPECT_EQ(given_differences_text(d),
            "the running hal9000d has other settings than given, and they were not applied: "
            "HAL9000_EGRESS_ALLOW=a.com,*.b.com (it runs with a.com), WORKER_MEMORY=8g (it "
            "runs with 4g); apply them with `HAL9000_EGRESS_ALLOW='a.com,*.b.com' "
            "WORKER_MEMORY=8g claudy daemon restart` (sessions keep running), or `claudy "
            "daemon stop` and `HAL9000_EGRESS_ALLOW='a.com,*.b.com' WORKER_MEMORY=8g claudy "
            "daemon start`");
  EXPECT_EQ(given_differences_text({}), "");
}
