// The metrics registry: exact Prometheus text for a small registry, label
// escaping, cumulative histogram buckets, and updates from many threads.
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/metrics.hpp"

using namespace hal9000::metrics;

TEST(metrics, renders_golden_text) {
  registry r;
  auto& claims = r.add_counter("t_claims_total", "Claims served.", {"served"});
  auto& up = r.add_gauge("t_up", "Up or not.");
  auto& lat = r.add_histogram("t_latency_ms", "Latency\\in ms\nsecond line.", {1, 5, 10},
                              {"op"});
  claims.with({"warm"}).inc(3);
  claims.with({"cold"}).inc();
  up.with({}).set(1);
  for (double v : {0.5, 1.0, 2.0, 7.5, 100.0})
    lat.with({"create"}).observe(v);
  EXPECT_EQ(r.render(),
            "# HELP t_claims_total Claims served.\n"
            "# TYPE t_claims_total counter\n"
            "t_claims_total{served=\"cold\"} 1\n"
            "t_claims_total{served=\"warm\"} 3\n"
            "# HELP t_up Up or not.\n"
            "# TYPE t_up gauge\n"
            "t_up 1\n"
            "# HELP t_latency_ms Latency\\\\in ms\\nsecond line.\n"
            "# TYPE t_latency_ms histogram\n"
            "t_latency_ms_bucket{op=\"create\",le=\"1\"} 2\n"
            "t_latency_ms_bucket{op=\"create\",le=\"5\"} 3\n"
            "t_latency_ms_bucket{op=\"create\",le=\"10\"} 4\n"
            "t_latency_ms_bucket{op=\"create\",le=\"+Inf\"} 5\n"
            "t_latency_ms_sum{op=\"create\"} 111\n"
            "t_latency_ms_count{op=\"create\"} 5\n");
}

TEST(metrics, unlabelled_metrics_show_zero_and_labelled_ones_only_headers) {
  registry r;
  r.add_counter("t_total", "A counter.");
  r.add_counter("t_by_x_total", "By x.", {"x"});
  r.add_histogram("t_h", "H.", {0.5});
  EXPECT_EQ(r.render(),
            "# HELP t_total A counter.\n"
            "# TYPE t_total counter\n"
            "t_total 0\n"
            "# HELP t_by_x_total By x.\n"
            "# TYPE t_by_x_total counter\n"
            "# HELP t_h H.\n"
            "# TYPE t_h histogram\n"
            "t_h_bucket{le=\"0.5\"} 0\n"
            "t_h_bucket{le=\"+Inf\"} 0\n"
            "t_h_sum 0\n"
            "t_h_count 0\n");
}

TEST(metrics, escapes_label_values) {
  registry r;
  auto& f = r.add_counter("t_total", "x", {"reason"});
  f.with({"say \"hi\"\\ \nbye"}).inc();
  EXPECT_NE(r.render().find("t_total{reason=\"say \\\"hi\\\"\\\\ \\nbye\"} 1\n"),
            std::string::npos)
    << r.render();
  EXPECT_EQ(escape_label_value("plain"), "plain");
}

TEST(metrics, formats_values_as_prometheus_reads_them) {
  EXPECT_EQ(format_value(0), "0");
  EXPECT_EQ(format_value(-3), "-3");
  EXPECT_EQ(format_value(2.5), "2.5");
  EXPECT_EQ(format_value(0.1), "0.1");
  EXPECT_EQ(format_value(1.0 / 0.0), "+Inf");
  EXPECT_EQ(format_value(-1.0 / 0.0), "-Inf");
  EXPECT_EQ(format_value(0.0 / 0.0), "NaN");
}

TEST(metrics, histogram_buckets_are_cumulative_and_bounds_inclusive) {
  histogram h{{10, 1, 5}};  // unsorted on purpose
  ASSERT_EQ(h.bounds(), (std::vector<double>{1, 5, 10}));
  h.observe(1);   // le 1 (inclusive)
  h.observe(5);   // le 5
  h.observe(5.01);
  h.observe(11);
  EXPECT_EQ(h.cumulative(), (std::vector<uint64_t>{1, 2, 3, 4}));
  EXPECT_EQ(h.count(), 4u);
  EXPECT_DOUBLE_EQ(h.sum(), 22.01);
}

TEST(metrics, same_name_returns_the_same_family_and_kind_clashes_throw) {
  registry r;
  auto& a = r.add_counter("t_total", "first", {"x"});
  auto& b = r.add_counter("t_total", "second", {"y"});
  EXPECT_EQ(&a, &b);
  EXPECT_EQ(&a.with({"1"}), &b.with({"1"}));
  EXPECT_THROW(r.add_gauge("t_total", "g"), std::invalid_argument);
  EXPECT_THROW(r.add_gauge("bad-name", "g"), std::invalid_argument);
  EXPECT_THROW(r.add_gauge("t_g", "g", {"le"}), std::invalid_argument);
}

TEST(metrics, concurrent_updates_are_not_lost) {
  registry r;
  auto& c = r.add_counter("t_total", "x", {"k"});
  auto& g = r.add_gauge("t_g", "x");
  auto& h = r.add_histogram("t_h", "x", {1, 2});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20000; ++i) {
        c.with({t % 2 ? "a" : "b"}).inc();
        g.with({}).add(0.5);
        h.with({}).observe(1.5);
        if (i % 1000 == 0)
          (void) r.render();  // rendering while updating must be safe
      }
    });
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(c.with({"a"}).value() + c.with({"b"}).value(), 80000u);
  EXPECT_DOUBLE_EQ(g.with({}).value(), 40000);
  EXPECT_EQ(h.with({}).cumulative(), (std::vector<uint64_t>{0, 80000, 80000}));
  EXPECT_DOUBLE_EQ(h.with({}).sum(), 120000);
}

TEST(metrics, daemon_metrics_export_every_family_the_issue_lists) {
  daemon_metrics m;
  m.claims.with({"warm"}).inc();
  m.claim_latency.with({}).observe(0.4);
  m.docker_latency.with({"create"}).observe(12);
  m.docker_errors.with({"unavailable"}).inc();
  m.oom_kills.with({}).inc();
  auto text = m.reg.render();
  for (auto needle :
       {"hal9000_workers{state=\"warm\"} 0", "hal9000_workers{state=\"creating\"} 0",
        "hal9000_workers{state=\"busy\"} 0", "hal9000_workers{state=\"failed\"} 0",
        "hal9000_claims_total{served=\"warm\"} 1", "hal9000_claims_total{served=\"cold\"} 0",
        "hal9000_claim_latency_ms_bucket{le=\"0.5\"} 1", "# TYPE hal9000_refill_duration_ms histogram",
        "hal9000_docker_call_latency_ms_count{op=\"create\"} 1",
        "hal9000_docker_errors_total{class=\"unavailable\"} 1", "hal9000_chromadb_up 0",
        "hal9000_chromadb_health{state=\"unknown\"} 1",
        "hal9000_chromadb_heartbeat_latency_ms 0", "hal9000_sessions_active 0",
        "# TYPE hal9000_worker_exits_total counter", "hal9000_oom_kills_total 1",
        "hal9000_daemon_restarts_total 0", "# TYPE hal9000_reconcile_actions_total counter"})
    EXPECT_NE(text.find(needle), std::string::npos) << needle << "\n" << text;
}
