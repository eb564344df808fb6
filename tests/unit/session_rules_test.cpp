// The sessions actor's rules as plain code: validation of a start, the
// decision given what already runs, and which starts converge.
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "actors/session_rules.hpp"
#include "messages/error.hpp"
#include "support/temp_dir.hpp"

using namespace hal9000;
using hal9000::test::temp_dir;

namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

struct session_rules : ::testing::Test {
  temp_dir tmp;
  session_settings s;
  std::string proj;

  void SetUp() override {
    ASSERT_FALSE(tmp.path.empty());
    proj = tmp / "proj";
    std::filesystem::create_directories(proj);
    s.allowed_roots = {"/tmp"};
    s.home = tmp / "home";
    s.parent_prefix = "i11p";
    s.defaults = {true, "4g", "2", "100"};
    s.host = {2'000'000'000, 8LL * 1024 * 1024 * 1024};
  }

  session_start req(std::string name = {}) {
    session_start r;
    r.user_id = "root";
    r.path = proj;
    r.name = std::move(name);
    return r;
  }

  session_record running(const std::string& name, const std::string& project,
                         resource_limits l = {true, "4g", "2", "100"}) {
    session_record x;
    x.name = name;
    x.project_dir = project;
    x.state = session_state::running;
    x.limits = l;
    x.container_id = "c-" + name;
    return x;
  }
};

TEST_F(session_rules, a_plain_start_gets_the_default_name_and_limits) {
  auto p = plan_start(s, req());
  ASSERT_TRUE(p) << error_message(p.error());
  EXPECT_FALSE(p->named);
  EXPECT_FALSE(p->has_limits);
  EXPECT_EQ(p->project_dir, std::filesystem::canonical(proj).string());
  EXPECT_EQ(p->limits, (resource_limits{true, "4g", "2", "100"}));
  EXPECT_EQ(p->values.nano_cpus, 2'000'000'000);
  EXPECT_FALSE(p->name.empty());
}

TEST_F(session_rules, reserved_names_follow_the_configured_prefix) {
  for (auto name : {"hal9000-warm-1", "hal9000-cold-x", "i11p-parent", "i11p-chromadb"}) {
    auto p = plan_start(s, req(name));
    ASSERT_FALSE(p) << name;
    EXPECT_EQ(error_code(p.error()), errc::invalid_argument);
    EXPECT_TRUE(contains(error_message(p.error()), "its own containers"));
  }
  // Not reserved under this prefix.
  EXPECT_TRUE(plan_start(s, req("hal9000-parent")));
}

// Issue 11: limits the host cannot give were found only after a warm worker
// was claimed (--cpus 1000) or never (--memory 99999t).
TEST_F(session_rules, limits_above_the_host_are_refused_naming_the_host_figure) {
  auto r = req();
  r.cpus = "1000";
  auto p = plan_start(s, r);
  ASSERT_FALSE(p);
  EXPECT_EQ(error_code(p.error()), errc::invalid_argument);
  EXPECT_TRUE(contains(error_message(p.error()), "--cpus 1000")) << error_message(p.error());
  EXPECT_TRUE(contains(error_message(p.error()), "2 CPUs")) << error_message(p.error());
  r = req();
  r.memory = "99999t";
  p = plan_start(s, r);
  ASSERT_FALSE(p);
  EXPECT_EQ(error_code(p.error()), errc::invalid_argument);
  EXPECT_TRUE(contains(error_message(p.error()), "--memory 99999t")) << error_message(p.error());
  EXPECT_TRUE(contains(error_message(p.error()), "8.0 GiB")) << error_message(p.error());
  r = req();
  r.memory = "1g";
  r.cpus = "1.5";
  EXPECT_TRUE(plan_start(s, r));
}

TEST_F(session_rules, the_host_figures_come_from_the_engine_info) {
  auto h = capacity_from_docker_info(R"({"NCPU": 16, "MemTotal": 1073741824})", {});
  EXPECT_EQ(h.nano_cpus, 16'000'000'000);
  EXPECT_EQ(h.memory_bytes, 1073741824);
  auto kept = capacity_from_docker_info("not json", {3, 4});
  EXPECT_EQ(kept.nano_cpus, 3);
  EXPECT_EQ(kept.memory_bytes, 4);
  auto local = local_host_capacity();
  EXPECT_GT(local.nano_cpus, 0);
  EXPECT_GT(local.memory_bytes, 0);
}

TEST_F(session_rules, bad_input_is_refused) {
  auto r = req();
  r.path = "/etc";
  EXPECT_FALSE(plan_start(s, r));
  EXPECT_FALSE(plan_start(s, req("../x")));
  r = req();
  r.no_limits = true;
  r.memory = "1g";
  EXPECT_FALSE(plan_start(s, r));
  r = req();
  r.pids_limit = "0";
  EXPECT_FALSE(plan_start(s, r));
}

TEST_F(session_rules, nothing_running_means_claim) {
  auto p = plan_start(s, req());
  ASSERT_TRUE(p);
  EXPECT_EQ(decide(*p, {}).action, start_action::claim);
  auto other = running("other", "/tmp/elsewhere");
  EXPECT_EQ(decide(*p, {other}).action, start_action::claim);
}

TEST_F(session_rules, the_same_project_attaches_under_any_name_unless_named) {
  auto p = plan_start(s, req());
  ASSERT_TRUE(p);
  auto d = decide(*p, {running("mine", p->project_dir)});
  EXPECT_EQ(d.action, start_action::attach);
  EXPECT_EQ(d.existing.name, "mine");
  auto named = plan_start(s, req("second"));
  ASSERT_TRUE(named);
  EXPECT_EQ(decide(*named, {running("mine", p->project_dir)}).action, start_action::claim);
  EXPECT_EQ(decide(*named, {running("second", p->project_dir)}).action, start_action::attach);
}

TEST_F(session_rules, a_name_of_another_project_is_a_conflict) {
  auto p = plan_start(s, req("taken"));
  ASSERT_TRUE(p);
  auto d = decide(*p, {running("taken", "/tmp/elsewhere")});
  EXPECT_EQ(d.action, start_action::conflict);
  EXPECT_TRUE(contains(d.message, "/tmp/elsewhere"));
}

// Issue 11: `claudy PATH --memory 8g` on a running project silently ignored
// the new limits.
TEST_F(session_rules, other_limits_on_a_running_project_update_only_what_was_given) {
  auto r = req();
  r.memory = "3g";
  auto p = plan_start(s, r);
  ASSERT_TRUE(p);
  auto live = running("mine", p->project_dir, {true, "4g", "1", "50"});
  auto d = decide(*p, {live});
  ASSERT_EQ(d.action, start_action::update_limits);
  EXPECT_EQ(d.limits, (resource_limits{true, "3g", "1", "50"}));
  EXPECT_TRUE(contains(d.message, "3g")) << d.message;
  // The same limits again: a plain attach.
  live.limits = d.limits;
  EXPECT_EQ(decide(*p, {live}).action, start_action::attach);
  // Dropping limits from a running container is refused, clearly.
  auto nl = req();
  nl.no_limits = true;
  auto q = plan_start(s, nl);
  ASSERT_TRUE(q);
  auto refused = decide(*q, {live});
  EXPECT_EQ(refused.action, start_action::conflict);
  EXPECT_TRUE(contains(refused.message, "claudy stop mine")) << refused.message;
}

TEST_F(session_rules, starts_of_one_name_or_one_project_converge) {
  auto a = plan_start(s, req());
  auto b = plan_start(s, req());
  ASSERT_TRUE(a && b);
  EXPECT_TRUE(converges(*a, *b));
  auto n1 = plan_start(s, req("n1"));
  auto n2 = plan_start(s, req("n2"));
  ASSERT_TRUE(n1 && n2);
  EXPECT_FALSE(converges(*n1, *n2));  // two named sessions of one project
  EXPECT_TRUE(converges(*n1, *n1));
  EXPECT_TRUE(converges(*a, *n1));
}

} // namespace
