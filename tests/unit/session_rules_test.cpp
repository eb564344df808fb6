// The rules that say what happened to a session (actors/session_rules.hpp)
// and the typed end reason's words and file form (messages/end_reason.hpp,
// runtime/records_json.hpp).
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "actors/session_rules.hpp"
#include "messages/error.hpp"
#include "runtime/records_json.hpp"
#include "support/temp_dir.hpp"

using namespace hal9000;

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
  r.state = "ended";
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
