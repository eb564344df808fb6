// The metrics registry on prometheus-cpp: the exact text a small registry
// renders (our families, labels by position, the library's serializer), label
// escaping, inclusive histogram bounds, the names we refuse at registration,
// updates from many threads, and every hal9000_* family.
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/metrics.hpp"

using namespace hal9000::metrics;

TEST(metrics, renders_golden_text) {
  registry r;
  auto& claims = r.add_counter("t_claims_total", "Claims served.", {"served"});
  auto& up = r.add_gauge("t_up", "Up or not.");
  auto& lat = r.add_histogram("t_latency_ms", "Latency in ms.", {1, 5, 10}, {"op"});
  auto& tokens = r.add_counter("t_tokens_total", "Tokens.", {"session", "direction"});
  claims.with({"warm"}).inc(3);
  claims.with({"cold"}).inc();
  up.with({}).set(1);
  for (double v : {0.5, 1.0, 2.0, 7.5, 100.0})
    lat.with({"create"}).observe(v);
  tokens.with({"s1", "input"}).inc(12);
  // Counters, then gauges, then histograms; labels sorted by name; a
  // histogram's count and sum before its buckets.
  EXPECT_EQ(r.render(),
            "# HELP t_claims_total Claims served.\n"
            "# TYPE t_claims_total counter\n"
            "t_claims_total{served=\"cold\"} 1\n"
            "t_claims_total{served=\"warm\"} 3\n"
            "# HELP t_tokens_total Tokens.\n"
            "# TYPE t_tokens_total counter\n"
            "t_tokens_total{direction=\"input\",session=\"s1\"} 12\n"
            "# HELP t_up Up or not.\n"
            "# TYPE t_up gauge\n"
            "t_up 1\n"
            "# HELP t_latency_ms Latency in ms.\n"
            "# TYPE t_latency_ms histogram\n"
            "t_latency_ms_count{op=\"create\"} 5\n"
            "t_latency_ms_sum{op=\"create\"} 111\n"
            "t_latency_ms_bucket{op=\"create\",le=\"1\"} 2\n"
            "t_latency_ms_bucket{op=\"create\",le=\"5\"} 3\n"
            "t_latency_ms_bucket{op=\"create\",le=\"10\"} 4\n"
            "t_latency_ms_bucket{op=\"create\",le=\"+Inf\"} 5\n");
}

TEST(metrics, unlabelled_metrics_show_zero_and_labelled_ones_wait_for_a_series) {
  registry r;
  r.add_counter("t_total", "A counter.");
  auto& by_x = r.add_counter("t_by_x_total", "By x.", {"x"});
  r.add_histogram("t_h", "H.", {0.5});
  EXPECT_EQ(r.render(),
            "# HELP t_total A counter.\n"
            "# TYPE t_total counter\n"
            "t_total 0\n"
            "# HELP t_h H.\n"
            "# TYPE t_h histogram\n"
            "t_h_count 0\n"
            "t_h_sum 0\n"
            "t_h_bucket{le=\"0.5\"} 0\n"
            "t_h_bucket{le=\"+Inf\"} 0\n");
  by_x.with({"a"});
  EXPECT_NE(r.render().find("# TYPE t_by_x_total counter\nt_by_x_total{x=\"a\"} 0\n"),
            std::string::npos)
    << r.render();
}

TEST(metrics, escapes_label_values_and_fills_missing_ones) {
  registry r;
  auto& f = r.add_counter("t_total", "x", {"reason", "extra"});
  f.with({"say \"hi\"\\ \nbye", "e"}).inc();
  f.with({"short"}).inc(2);  // the missing value is empty
  auto text = r.render();
  EXPECT_NE(text.find("t_total{extra=\"e\",reason=\"say \\\"hi\\\"\\\\ \\nbye\"} 1\n"),
            std::string::npos)
    << text;
  EXPECT_NE(text.find("t_total{extra=\"\",reason=\"short\"} 2\n"), std::string::npos) << text;
}

TEST(metrics, values_are_written_as_prometheus_reads_them) {
  registry r;
  auto& g = r.add_gauge("t_g", "x", {"k"});
  g.with({"zero"}).set(0);
  g.with({"neg"}).set(-3);
  g.with({"half"}).set(2.5);
  g.with({"tenth"}).set(0.1);
  g.with({"big"}).set(12345678);
  g.with({"inf"}).set(1.0 / 0.0);
  g.with({"ninf"}).set(-1.0 / 0.0);
  auto text = r.render();
  for (auto needle : {"t_g{k=\"zero\"} 0\n", "t_g{k=\"neg\"} -3\n", "t_g{k=\"half\"} 2.5\n",
                      "t_g{k=\"tenth\"} 0.1\n", "t_g{k=\"big\"} 12345678\n",
                      "t_g{k=\"inf\"} +Inf\n", "t_g{k=\"ninf\"} -Inf\n"})
    EXPECT_NE(text.find(needle), std::string::npos) << needle << "\n" << text;
}

TEST(metrics, histogram_buckets_are_cumulative_and_bounds_inclusive) {
  registry r;
  auto h = r.add_histogram("t_h", "x", {1, 5, 10}).with({});
  h.observe(1);   // le 1 (inclusive)
  h.observe(5);   // le 5
  h.observe(5.01);
  h.observe(11);
  auto text = r.render();
  for (auto needle : {"t_h_bucket{le=\"1\"} 1\n", "t_h_bucket{le=\"5\"} 2\n",
                      "t_h_bucket{le=\"10\"} 3\n", "t_h_bucket{le=\"+Inf\"} 4\n",
                      "t_h_count 4\n", "t_h_sum 22.01\n"})
    EXPECT_NE(text.find(needle), std::string::npos) << needle << "\n" << text;
}

TEST(metrics, bad_names_and_a_name_used_twice_throw_at_registration) {
  registry r;
  r.add_counter("t_total", "first", {"x"});
  EXPECT_THROW(r.add_counter("t_total", "again", {"x"}), std::invalid_argument);
  EXPECT_THROW(r.add_gauge("t_total", "g"), std::invalid_argument);
  EXPECT_THROW(r.add_gauge("bad-name", "g"), std::invalid_argument);
  EXPECT_THROW(r.add_gauge("t_g1", "g", {"bad:label"}), std::invalid_argument);
  EXPECT_THROW(r.add_gauge("t_g2", "g", {"x", "x"}), std::invalid_argument);
  EXPECT_THROW(r.add_histogram("t_h1", "h", {1}, {"le"}), std::invalid_argument);
  EXPECT_THROW(r.add_histogram("t_h2", "h", {5, 1}), std::invalid_argument);
  // A series looked up twice is the same series.
  auto& c = r.add_counter("t_c_total", "c", {"x"});
  c.with({"1"}).inc();
  c.with({"1"}).inc();
  EXPECT_DOUBLE_EQ(c.with({"1"}).value(), 2);
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
  EXPECT_DOUBLE_EQ(c.with({"a"}).value() + c.with({"b"}).value(), 80000);
  EXPECT_DOUBLE_EQ(g.with({}).value(), 40000);
  auto text = r.render();
  for (auto needle : {"t_h_bucket{le=\"1\"} 0\n", "t_h_bucket{le=\"2\"} 80000\n",
                      "t_h_count 80000\n", "t_h_sum 120000\n"})
    EXPECT_NE(text.find(needle), std::string::npos) << needle << "\n" << text;
}

TEST(metrics, daemon_metrics_export_every_family_the_issue_lists) {
  daemon_metrics m;
  m.claims.with({"warm"}).inc();
  m.claim_latency.with({}).observe(0.4);
  m.docker_latency.with({"create"}).observe(12);
  m.docker_errors.with({"unavailable"}).inc();
  m.oom_kills.with({}).inc();
  m.worker_exits.with({"oom"}).inc();
  m.reconcile_actions.with({"adopted"}).inc();
  m.events.with({"worker.died"}).inc();
  m.proxy_requests.with({"s1"}).inc();
  m.proxy_errors.with({"s1"}).inc(0);
  m.proxy_tokens.with({"s1", "output"}).inc(7);
  m.proxy_in_flight.with({"s1"}).add(1);
  m.egress_refusals.with({"proxy"}).inc();
  auto text = m.reg.render();
  for (auto needle :
       {"hal9000_workers{state=\"warm\"} 0", "hal9000_workers{state=\"creating\"} 0",
        "hal9000_workers{state=\"busy\"} 0", "hal9000_workers{state=\"failed\"} 0",
        "# TYPE hal9000_workers gauge",
        "hal9000_claims_total{served=\"warm\"} 1", "hal9000_claims_total{served=\"cold\"} 0",
        "# TYPE hal9000_claims_total counter",
        "hal9000_claim_latency_ms_bucket{le=\"0.5\"} 1", "# TYPE hal9000_claim_latency_ms histogram",
        "# TYPE hal9000_refill_duration_ms histogram", "hal9000_refill_duration_ms_count 0",
        "hal9000_docker_call_latency_ms_count{op=\"create\"} 1",
        "# TYPE hal9000_docker_call_latency_ms histogram",
        "hal9000_docker_errors_total{class=\"unavailable\"} 1", "hal9000_chromadb_up 0",
        "hal9000_chromadb_health{state=\"unknown\"} 1",
        "hal9000_chromadb_health{state=\"healthy\"} 0",
        "hal9000_chromadb_heartbeat_latency_ms 0", "hal9000_sessions_active 0",
        "# TYPE hal9000_sessions_active gauge",
        "hal9000_worker_exits_total{reason=\"oom\"} 1", "hal9000_oom_kills_total 1",
        "hal9000_daemon_restarts_total 0",
        "hal9000_reconcile_actions_total{action=\"adopted\"} 1",
        "hal9000_events_total{kind=\"worker.died\"} 1",
        "hal9000_proxy_requests_total{session=\"s1\"} 1",
        "hal9000_proxy_errors_total{session=\"s1\"} 0",
        "hal9000_proxy_tokens_total{direction=\"output\",session=\"s1\"} 7",
        "# TYPE hal9000_proxy_in_flight gauge", "hal9000_proxy_in_flight{session=\"s1\"} 1",
        "hal9000_egress_refusals_total{via=\"proxy\"} 1"})
    EXPECT_NE(text.find(needle), std::string::npos) << needle << "\n" << text;
}
