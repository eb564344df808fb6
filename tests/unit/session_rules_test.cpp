// The sessions actor's rules as plain code: validation of a start, the
// decision given what already runs, and which starts converge; what happened
// to a session (actors/session_rules.hpp) and the typed end reason's words
// and file form (messages/end_reason.hpp, runtime/records_json.hpp).
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "actors/session_rules.hpp"
#include "messages/error.hpp"
#include "runtime/records_json.hpp"
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
    s.defaults = *parse_limits("4g", "2", "100");
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
                         resource_limits l = *parse_limits("4g", "2", "100")) {
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
  EXPECT_EQ(p->limits, *parse_limits("4g", "2", "100"));
  EXPECT_EQ(p->limits.nano_cpus, 2'000'000'000);
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
  auto live = running("mine", p->project_dir, *parse_limits("4g", "1", "50"));
  auto d = decide(*p, {live});
  ASSERT_EQ(d.action, start_action::update_limits);
  EXPECT_EQ(d.limits, *parse_limits("3g", "1", "50"));
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

// -- what happened to a session ------------------------------------------------

TEST(SessionRules, ACleanExitAfterAChildsOomKillIsACleanExit) {
  // The child's OOM kill was long before: not at the end.
  auto r = end_from_exit(0, false, "512m");
  EXPECT_EQ(r.kind, end_kind::exited);
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(to_string(r), "exited with code 0");
  // Even an OOM kill at the very end does not turn a clean exit into one.
  EXPECT_EQ(end_from_exit(0, true, "512m").kind, end_kind::exited);
  EXPECT_EQ(to_string(end_from_exit(3, true, "512m")), "exited with code 3");
}

TEST(SessionRules, OnlyASigkillAtAnOomKillIsOomKilled) {
  auto oom = end_from_exit(137, true, "512m");
  EXPECT_EQ(oom.kind, end_kind::oom_killed);
  EXPECT_EQ(to_string(oom), "OOM-killed (memory limit 512m)");
  EXPECT_EQ(to_string(end_from_exit(137, true, "")), "OOM-killed");
  auto killed = end_from_exit(137, false, "512m");
  EXPECT_EQ(killed.kind, end_kind::signaled);
  EXPECT_EQ(killed.code, 9);
  EXPECT_EQ(to_string(killed), "killed by signal 9");
  // SIGTERM is no OOM kill, whatever happened around it.
  auto term = end_from_exit(143, true, "512m");
  EXPECT_EQ(term.kind, end_kind::signaled);
  EXPECT_EQ(term.code, 15);
  EXPECT_EQ(to_string(end_from_exit(-1, false, "")), "exited (exit code unknown)");
  EXPECT_EQ(to_string(end_from_exit(255, false, "")), "exited with code 255");
}

// Issue 14, D5: a child OOM-killed, then `docker kill` within the OOM window:
// the engine's kill event (signal 9) before the die names the end, whatever
// Docker's sticky OOMKilled says.
TEST(SessionRules, AKillEventBeforeTheDieIsKilledBySignalEvenAtAnOomKill) {
  auto r = end_from_exit(137, true, "256m", 9);
  EXPECT_EQ(r.kind, end_kind::signaled);
  EXPECT_EQ(r.code, 9);
  EXPECT_EQ(to_string(r), "killed by signal 9");
  EXPECT_EQ(to_string(end_from_exit(143, true, "256m", 15)), "killed by signal 15");
  // A TERM the command handled: it exited on its own.
  EXPECT_EQ(to_string(end_from_exit(0, true, "256m", 15)), "exited with code 0");
  // No kill event: the OOM kill at death is the main process's.
  EXPECT_EQ(end_from_exit(137, true, "256m", 0).kind, end_kind::oom_killed);
}

// Issue 14, D4: the kernel's counter is the count; the engine's many "oom"
// events for one kill only make a read.
TEST(SessionRules, TheKernelsCounterIsTheOomCountNotTheEnginesEvents) {
  // cgroup v1: 515 engine events, the kernel says 2.
  auto c = next_oom_count(0, 2, false, 515);
  EXPECT_EQ(c.count, 2u);
  EXPECT_TRUE(c.readable);
  EXPECT_TRUE(c.rose);
  // More events, no new kill: no news, the count stays.
  auto same = next_oom_count(2, 2, true, 40);
  EXPECT_EQ(same.count, 2u);
  EXPECT_FALSE(same.rose);
  // A lower figure never lowers the count (a stale read).
  EXPECT_EQ(next_oom_count(3, 2, true, 1).count, 3u);
  // No counter on this host at all: each engine event is a kill.
  auto none = next_oom_count(1, -1, false, 3);
  EXPECT_EQ(none.count, 4u);
  EXPECT_FALSE(none.readable);
  EXPECT_TRUE(none.rose);
  // The counter was readable and is gone (the cgroup went with the
  // container): the engine's events since stand for one kill.
  auto gone = next_oom_count(2, -1, true, 7);
  EXPECT_EQ(gone.count, 3u);
  EXPECT_TRUE(gone.readable);
  EXPECT_FALSE(next_oom_count(2, -1, true, 0).rose);
}

TEST(SessionRules, AStoppedContainerFoundAtStartUsesTheStickyFlagOnlyWithSigkill) {
  docker::container_info info;
  info.state = "exited";
  info.oom_killed = true;  // sticks after any OOM kill in the cgroup
  info.exit_code = 0;
  EXPECT_EQ(to_string(end_from_stopped(info, "1g")), "exited with code 0");
  info.exit_code = 137;
  EXPECT_EQ(to_string(end_from_stopped(info, "1g")), "OOM-killed (memory limit 1g)");
  info.oom_killed = false;
  EXPECT_EQ(to_string(end_from_stopped(info, "1g")), "killed by signal 9");
  info.state = "created";
  EXPECT_EQ(end_from_stopped(info, "1g").kind, end_kind::start_failed);
}

TEST(SessionRules, EveryEndHasItsOwnWords) {
  std::vector<end_reason> all;
  for (auto k : {end_kind::exited, end_kind::signaled, end_kind::oom_killed,
                 end_kind::removed_outside, end_kind::stopped_by_user,
                 end_kind::stopped_with_daemon, end_kind::image_missing,
                 end_kind::create_failed, end_kind::start_failed,
                 end_kind::disappeared_while_down, end_kind::replaced}) {
    end_reason r;
    r.kind = k;
    r.code = k == end_kind::signaled ? 9 : 0;
    all.push_back(r);
  }
  std::set<std::string> words;
  for (auto& r : all) {
    auto w = to_string(r);
    EXPECT_FALSE(w.empty()) << to_string(r.kind);
    EXPECT_TRUE(words.insert(w).second) << "two kinds read the same: " << w;
    end_kind back;
    ASSERT_TRUE(from_string(to_string(r.kind), back));
    EXPECT_EQ(back, r.kind);
  }
  EXPECT_EQ(to_string(end_reason{}), "");
  end_kind k;
  EXPECT_FALSE(from_string("exploded", k));
  end_reason create;
  create.kind = end_kind::create_failed;
  create.detail = "Conflict. The container name is already in use";
  EXPECT_EQ(to_string(create), "create failed: Conflict. The container name is already in use");
  end_reason stop;
  stop.kind = end_kind::stopped_with_daemon;
  EXPECT_EQ(to_string(stop), "stopped with the daemon (stop --all)");
}

TEST(SessionRules, AClaimErrorBecomesTheStartFailure) {
  auto image = end_from_claim_error(make_error(errc::not_found, "no such image: x:y"));
  EXPECT_EQ(image.kind, end_kind::image_missing);
  EXPECT_EQ(to_string(image), "image missing: no such image: x:y");
  auto create = end_from_claim_error(make_error(errc::unavailable, "engine said no"));
  EXPECT_EQ(create.kind, end_kind::create_failed);
  EXPECT_EQ(create.detail, "engine said no");
  EXPECT_EQ(end_from_claim_error(make_error(errc::deadline_exceeded, "late")).kind,
            end_kind::start_failed);
}

TEST(SessionRules, TheKernelsOomKillCounterIsReadFromV1AndV2Files) {
  EXPECT_EQ(parse_oom_kill("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n"), 3);  // v1
  EXPECT_EQ(parse_oom_kill("low 0\nhigh 0\nmax 12\noom 2\noom_kill 1\noom_group_kill 0\n"),
            1);  // v2
  EXPECT_EQ(parse_oom_kill("oom_kill_disable 0\nunder_oom 0\n"), -1);  // kernel < 4.13
  EXPECT_EQ(parse_oom_kill("oom_kill x\n"), -1);
  EXPECT_EQ(parse_oom_kill(""), -1);
  auto files = oom_counter_files("/sys/fs/cgroup", "abc");
  EXPECT_EQ(files.at(0), "/sys/fs/cgroup/memory/docker/abc/memory.oom_control");
  EXPECT_NE(std::find(files.begin(), files.end(),
                      "/sys/fs/cgroup/system.slice/docker-abc.scope/memory.events"),
            files.end());
  // A fake cgroup tree: v2 layout under a temp root.
  hal9000::test::temp_dir root;
  std::filesystem::create_directories(root.path + "/docker/cid");
  std::ofstream{root.path + "/docker/cid/memory.events"} << "oom 4\noom_kill 4\n";
  EXPECT_EQ(read_oom_kills(root.path, "cid"), 4);
  EXPECT_EQ(read_oom_kills(root.path, "other"), -1);
  EXPECT_EQ(read_oom_kills(root.path, "../docker/cid"), -1);
}

TEST(SessionRules, TheRestoreCommandNamesTheSession) {
  EXPECT_EQ(restore_command("proj"), "claudy restart proj");
  EXPECT_EQ(network_lost_reason("proj", "hal9000-parent was removed from outside"),
            "network lost: hal9000-parent was removed from outside; restore with "
            "`claudy restart proj`");
}

TEST(SessionRecordJson, TheTypedEndRoundTripsAndOldFilesKeepTheirWords) {
  session_record r;
  r.name = "s1";
  r.project_dir = "/tmp/p";
  r.created_at = "2026-01-26T12:00:00Z";
  r.state = session_state::ended;
  r.end.kind = end_kind::oom_killed;
  r.end.memory_limit = "512m";
  r.oom_kills = 3;
  r.last_oom_at = "2026-01-26T12:01:00Z";
  auto j = to_json(r);
  EXPECT_EQ(j["end_reason"], "OOM-killed (memory limit 512m)");
  EXPECT_EQ(j["end"]["kind"], "oom-killed");
  auto back = session_from_json(j);
  ASSERT_TRUE(back) << error_message(back.error());
  EXPECT_EQ(back->end, r.end);
  EXPECT_EQ(back->oom_kills, 3u);
  EXPECT_EQ(back->last_oom_at, r.last_oom_at);
  EXPECT_EQ(back->state, session_state::ended);
  // A session cut off from its network reads back as such.
  auto cut = r;
  cut.state = session_state::network_lost;
  cut.end = {};
  cut.state_reason = network_lost_reason("s1", "hal9000-parent was removed from outside");
  cut.restore = restore_command("s1");
  auto jc = to_json(cut);
  EXPECT_EQ(jc["state"], "network-lost");
  auto cut_back = session_from_json(jc);
  ASSERT_TRUE(cut_back) << error_message(cut_back.error());
  EXPECT_EQ(cut_back->state, session_state::network_lost);
  EXPECT_EQ(cut_back->restore, "claudy restart s1");
  EXPECT_TRUE(is_live(cut_back->state));
  // An older writer: words only, kept as they are.
  j.erase("end");
  j["end_reason"] = "container disappeared";
  back = session_from_json(j);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->end.kind, end_kind::other);
  EXPECT_EQ(to_string(back->end), "container disappeared");
  // A kind this version does not know is refused (the file goes to corrupt/).
  j["end"] = {{"kind", "exploded"}};
  EXPECT_FALSE(session_from_json(j));
}

TEST(session_owner_rule, only_the_owner_or_root_acts_on_or_sees_a_session) {
  session_record rec;
  rec.name = "s1";
  rec.user_id = "uid-1001";
  EXPECT_FALSE(owner_refusal(rec, "uid-1001", "stop"));
  EXPECT_FALSE(owner_refusal(rec, "root", "stop"));
  auto err = owner_refusal(rec, "uid-1002", "stop");
  ASSERT_TRUE(err);
  EXPECT_EQ(error_code(err), errc::unauthenticated);
  EXPECT_EQ(error_message(err),
            "session 's1' belongs to another user (only its owner or root may stop it)");
  EXPECT_TRUE(owner_refusal(rec, "tls-alice", "stop"));
  EXPECT_TRUE(owner_refusal(rec, "", "stop"));
  EXPECT_TRUE(visible_to(rec, "root"));
  EXPECT_TRUE(visible_to(rec, "uid-1001"));
  EXPECT_FALSE(visible_to(rec, "uid-1002"));
  EXPECT_FALSE(visible_to(rec, ""));
}

// The one capacity check, as the daemon's start uses it for WORKER_CPUS and
// WORKER_MEMORY (daemon/runtime.cpp): the variable, its value, the host's figure.
TEST_F(session_rules, worker_defaults_beyond_the_host_are_named_by_their_variable) {
  host_capacity host{2'000'000'000, 8LL << 30};
  capacity_check how{"WORKER_CPUS=", "WORKER_MEMORY=", true, true, ""};
  auto v = parse_limits("4g", "4", "100");
  ASSERT_TRUE(v);
  auto err = check_host_capacity(*v, host, how);
  ASSERT_TRUE(err);
  EXPECT_EQ(error_code(err), errc::invalid_argument);
  EXPECT_EQ(error_message(err), "WORKER_CPUS=4 is more than the host has (2 CPUs)");
  v = parse_limits("9g", "2", "100");
  ASSERT_TRUE(v);
  err = check_host_capacity(*v, host, how);
  ASSERT_TRUE(err);
  EXPECT_EQ(error_message(err), "WORKER_MEMORY=9g is more than the host's memory (8.0 GiB)");
  v = parse_limits("8g", "2", "100");
  ASSERT_TRUE(v);
  EXPECT_FALSE(check_host_capacity(*v, host, how));
  // Unknown figures are not checked.
  EXPECT_FALSE(check_host_capacity(*parse_limits("9g", "4", "1"), {}, how));
}

// A worker that ended while serving a session: its typed end as it is; with
// none, "other" with its words, or its state when it gave none.
TEST(session_end_rules, end_of_worker_keeps_a_typed_end_and_words_an_untyped_one) {
  session_ended e;
  e.end.kind = end_kind::oom_killed;
  e.end.memory_limit = "64m";
  e.words = "OOM-killed";
  EXPECT_EQ(end_of_worker(e), e.end);
  session_ended bare;
  EXPECT_EQ(end_of_worker(bare).kind, end_kind::other);
  EXPECT_EQ(end_of_worker(bare).detail, "worker gone");
  bare.failed = true;
  EXPECT_EQ(end_of_worker(bare).detail, "worker failed");
  bare.words = "its container vanished";
  EXPECT_EQ(end_of_worker(bare).detail, "its container vanished");
}
