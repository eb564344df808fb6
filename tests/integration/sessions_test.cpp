// Sessions end to end with the real claudy and hal9000d processes and the real
// Docker engine: five sessions on five projects, files both ways, list, stop;
// a session whose command exits; a daemon killed with -9 (idle, and in the
// middle of a burst of claims) and restarted: adopted, ended, rebuilt,
// nothing orphaned; bad input refused with nothing changed.
#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <set>
#include <sstream>
#include <thread>

#include <sys/stat.h>
#include <sys/wait.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "runtime/late_bind.hpp"
#include "support/cli_process.hpp"
#include "support/daemon_sessions.hpp"
#include "support/fake_docker_proxy.hpp"
#include "support/temp_dir.hpp"
#include "support/test_env.hpp"

using namespace hal9000;
using namespace hal9000::test;
using namespace std::chrono_literals;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::string read_all(const std::string& path) {
  std::ifstream in{path};
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream{path} << text;
}

json parse(const std::string& text) {
  return json::parse(text, nullptr, false);
}

struct container_row {
  std::string name;
  std::string worker;
  std::string state;
};

struct sessions_fixture : daemon_home_test {
  void SetUp() override {
    ASSERT_FALSE(home.empty());
    ASSERT_FALSE(projects.path.empty());
    env = std::make_unique<daemon_env>(home);
    env->vars["WORKER_IMAGE"] = "hal9000/test:busybox";
    // busybox runs as root: projects are id-mapped to uid 0 in it.
    env->vars["HAL9000_WORKER_UID"] = "0";
    env->vars["HAL9000_WORKER_GID"] = "0";
    env->vars["WORKER_COMMAND"] = "sleep 100000";
    env->vars["SKIP_IMAGE_PULL"] = "true";
    env->vars["ENABLE_POOL_MANAGER"] = "true";
    env->vars["MIN_WARM_WORKERS"] = "2";
    env->vars["MAX_WARM_WORKERS"] = "4";
    env->vars["CHECK_INTERVAL"] = "2";
    env->vars["WORKER_MEMORY"] = "256m";
    env->vars["WORKER_CPUS"] = "1";
  }

  std::string project(const std::string& name) {
    auto p = projects / name;
    fs::create_directories(p);
    return p;
  }

  // `claudy --json PATH --detach [args]`: the session record; rc in *rc.
  json start(const std::string& path, const std::string& args = "", int* rc = nullptr) {
    auto r = env->claudy("--json " + path + " --detach " + args);
    if (rc)
      *rc = r.rc;
    auto j = parse(r.out);
    if (r.rc != 0 || j.is_discarded()) {
      ADD_FAILURE() << "claudy " << path << ": rc " << r.rc << ": " << r.out;
      return json::object();
    }
    return j;
  }

  json sessions(bool all = false) {
    auto r = env->claudy(std::string{"--json sessions"} + (all ? " --all" : ""));
    auto j = parse(r.out);
    EXPECT_EQ(r.rc, 0) << r.out;
    return j.is_array() ? j : json::array();
  }

  std::map<std::string, json> running_sessions() {
    std::map<std::string, json> out;
    for (auto& s : sessions())
      if (s["state"] == "running")
        out[s["name"].get<std::string>()] = s;
    return out;
  }

  json session_file(const std::string& name) {
    return parse(read_all(home + "/sessions/" + name + ".json"));
  }

  std::vector<container_row> containers() {
    auto out = sh("docker ps -a --filter label=hal9000.daemon=" + env->daemon_id
                  + " --format '{{.Names}} {{.Label \"hal9000.worker\"}} {{.State}}'");
    std::vector<container_row> rows;
    std::istringstream in{out};
    container_row r;
    while (in >> r.name >> r.worker >> r.state)
      rows.push_back(r);
    return rows;
  }

  bool container_exists(const std::string& name) {
    for (auto& c : containers())
      if (c.name == name)
        return true;
    return false;
  }

  std::string exec(const std::string& name, const std::string& cmd, int* rc = nullptr) {
    return sh("docker exec " + name + " sh -c '" + cmd + "' 2>&1", rc);
  }

  std::vector<std::string> mounts_in_slots() {
    std::vector<std::string> out;
    auto base = fs::canonical(late_bind::mounts_dir(home)).string();
    for (auto& m : late_bind::mounts_under(base))
      if (m != base)
        out.push_back(m);
    return out;
  }

  bool slot_exists(const std::string& worker) {
    return fs::exists(late_bind::mounts_dir(home) + "/" + worker);
  }

  void start_daemon() {
    auto r = env->claudy("daemon start");
    ASSERT_EQ(r.rc, 0) << r.out;
  }

  void kill_daemon() {
    auto pid = env->daemon_pid();
    ASSERT_GT(pid, 0);
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    ASSERT_TRUE(wait_for([&] { return env->claudy("daemon status").rc == 3; }, 10s));
  }

  // The session's state in its file, once it is no longer running.
  json wait_ended(const std::string& name, std::chrono::milliseconds deadline = 10s) {
    json rec;
    wait_for(
      [&] {
        rec = session_file(name);
        return !rec.is_discarded() && rec["state"] == "ended";
      },
      deadline);
    return rec;
  }
};

} // namespace

TEST_F(sessions_fixture, five_projects_files_both_ways_list_attach_again_stop_one) {
  start_daemon();
  std::vector<std::string> paths, names;
  for (int i = 0; i < 5; ++i) {
    auto p = project("proj" + std::to_string(i));
    write_file(p + "/README", "project " + std::to_string(i) + "\n");
    auto s = start(p);
    ASSERT_TRUE(s.contains("name")) << s.dump();
    EXPECT_EQ(s["project_dir"], p);
    EXPECT_EQ(s["state"], "running");
    EXPECT_EQ(s["existing"], false);
    paths.push_back(p);
    names.push_back(s["name"]);
  }
  for (size_t i = 0; i < names.size(); ++i) {
    int rc = -1;
    EXPECT_EQ(exec(names[i], "cat /workspace/README", &rc), "project " + std::to_string(i) + "\n");
    exec(names[i], "echo inside-" + std::to_string(i) + " > /workspace/from-inside", &rc);
    EXPECT_EQ(rc, 0);
    EXPECT_EQ(read_all(paths[i] + "/from-inside"), "inside-" + std::to_string(i) + "\n");
    write_file(paths[i] + "/from-host", "host\n");
    EXPECT_EQ(exec(names[i], "cat /workspace/from-host"), "host\n");
  }

  auto listed = running_sessions();
  ASSERT_EQ(listed.size(), 5u);
  for (size_t i = 0; i < names.size(); ++i) {
    ASSERT_TRUE(listed.count(names[i])) << names[i];
    EXPECT_EQ(listed[names[i]]["project_dir"], paths[i]);
  }
  auto table = env->claudy("sessions");
  ASSERT_EQ(table.rc, 0) << table.out;
  for (auto& n : names)
    EXPECT_NE(table.out.find(n), std::string::npos) << table.out;

  // The same project again: attached to the running session, nothing new.
  auto session_containers = [&] {
    size_t n = 0;
    for (auto& c : containers())
      n += c.name.rfind("hal9000-warm-", 0) != 0;
    return n;
  };
  ASSERT_EQ(session_containers(), 5u);
  auto again = env->claudy(paths[0] + " --detach");
  EXPECT_EQ(again.rc, 0) << again.out;
  EXPECT_NE(again.out.find("already running"), std::string::npos) << again.out;
  auto again_json = start(paths[0]);
  EXPECT_EQ(again_json["existing"], true);
  EXPECT_EQ(again_json["name"], names[0]);
  EXPECT_EQ(running_sessions().size(), 5u);
  EXPECT_EQ(session_containers(), 5u);

  // No terminal here (stdin is /dev/null): a clear usage error, not a hang.
  auto attach = env->claudy("attach " + names[1]);
  EXPECT_EQ(attach.rc, 2) << attach.out;
  EXPECT_NE(attach.out.find("needs a terminal"), std::string::npos) << attach.out;
  auto attach_json = parse(env->claudy("--json attach " + names[1]).out);
  ASSERT_FALSE(attach_json.is_discarded());
  EXPECT_NE(attach_json["attach"].dump().find(names[1]), std::string::npos);

  // Stop one: container gone, slot unmounted and removed, record ended,
  // project untouched.
  auto worker = session_file(names[2])["worker_id"].get<std::string>();
  ASSERT_TRUE(slot_exists(worker));
  auto stop = env->claudy("stop " + names[2]);
  ASSERT_EQ(stop.rc, 0) << stop.out;
  EXPECT_FALSE(container_exists(names[2]));
  EXPECT_FALSE(slot_exists(worker));
  auto rec = session_file(names[2]);
  EXPECT_EQ(rec["state"], "ended");
  EXPECT_EQ(rec["end_reason"], "stopped by user");
  EXPECT_EQ(read_all(paths[2] + "/README"), "project 2\n");
  EXPECT_EQ(read_all(paths[2] + "/from-inside"), "inside-2\n");
  EXPECT_EQ(read_all(paths[2] + "/from-host"), "host\n");
  EXPECT_EQ(running_sessions().size(), 4u);
  EXPECT_EQ(env->claudy("attach " + names[2]).rc, 5);
  EXPECT_EQ(env->claudy("stop no-such-session").rc, 5);
}

TEST_F(sessions_fixture, a_session_whose_command_exits_is_ended_from_docker_events) {
  start_daemon();
  auto p = project("exits");
  auto s = start(p, "--name chosen-name");
  auto name = s["name"].get<std::string>();
  ASSERT_EQ(name, "chosen-name");
  // `claudy PATH` without the name finds the project's running session.
  auto again = start(p);
  EXPECT_EQ(again["name"], name);
  EXPECT_EQ(again["existing"], true);
  auto worker = s["worker_id"].get<std::string>();
  int rc = -1;
  exec(name, "kill $(pidof sleep)", &rc);
  auto rec = wait_ended(name, 5s);
  ASSERT_EQ(rec["state"], "ended") << rec.dump();
  // The session command died of the SIGTERM: said so, not as an exit code.
  EXPECT_EQ(rec["end_reason"], "killed by signal 15") << rec.dump();
  EXPECT_EQ(rec["end"]["kind"], "signaled") << rec.dump();
  EXPECT_TRUE(wait_for([&] { return !container_exists(name) && !slot_exists(worker); }, 5s));
  EXPECT_TRUE(fs::exists(p));
  EXPECT_TRUE(running_sessions().empty());
}

TEST_F(sessions_fixture, restart_after_kill_adopts_rebuilds_and_ends_what_is_gone) {
  env->vars["MIN_WARM_WORKERS"] = "1";
  start_daemon();
  std::map<std::string, std::string> project_of;
  std::map<std::string, std::string> worker_of;
  std::vector<std::string> names;
  for (auto n : {"keep", "lost", "gone", "stopped"}) {
    auto p = project(n);
    write_file(p + "/marker", n);
    auto s = start(p);
    names.push_back(s["name"]);
    project_of[names.back()] = p;
    worker_of[names.back()] = s["worker_id"];
  }
  auto& keep = names[0];
  auto& lost = names[1];
  auto& gone = names[2];
  auto& stopped = names[3];
  kill_daemon();
  // While the daemon is down: a record lost, a container removed, one stopped.
  ASSERT_TRUE(fs::remove(home + "/sessions/" + lost + ".json"));
  sh("docker rm -f " + gone + " >/dev/null 2>&1");
  sh("docker kill " + stopped + " >/dev/null 2>&1");

  start_daemon();
  auto listed = running_sessions();
  EXPECT_EQ(listed.size(), 2u);
  ASSERT_TRUE(listed.count(keep));
  ASSERT_TRUE(listed.count(lost));
  // Rebuilt from Docker and the mount table: the same project and worker.
  EXPECT_EQ(listed[lost]["project_dir"], project_of[lost]);
  EXPECT_EQ(listed[lost]["worker_id"], worker_of[lost]);
  EXPECT_EQ(listed[lost]["served"], "warm");
  EXPECT_EQ(listed[lost]["resource_limits"]["memory"], "256m");

  auto g = session_file(gone);
  EXPECT_EQ(g["state"], "ended");
  EXPECT_EQ(g["end_reason"], "container disappeared while the daemon was down");
  EXPECT_EQ(g["end"]["kind"], "disappeared-while-down");
  EXPECT_FALSE(slot_exists(worker_of[gone]));
  auto st = session_file(stopped);
  EXPECT_EQ(st["state"], "ended");
  EXPECT_EQ(st["end_reason"].get<std::string>().rfind("killed by signal 9", 0), 0u)
    << st.dump();
  EXPECT_FALSE(container_exists(stopped));
  EXPECT_FALSE(slot_exists(worker_of[stopped]));
  EXPECT_EQ(read_all(project_of[stopped] + "/marker"), "stopped");

  // The reconciliation is in the events, one per action.
  auto events = env->claudy("events --json");
  ASSERT_EQ(events.rc, 0) << events.out;
  for (auto action : {"adopted", "adopted_rebuilt", "ended_disappeared", "ended_exited"})
    EXPECT_NE(events.out.find(std::string{"\"action\":\""} + action + "\""), std::string::npos)
      << action << "\n" << events.out;

  // Adopted sessions are owned again: files flow, exits are noticed, stop works.
  EXPECT_EQ(exec(keep, "cat /workspace/marker"), "keep");
  exec(lost, "kill $(pidof sleep)");
  auto l = wait_ended(lost, 5s);
  EXPECT_EQ(l["state"], "ended") << l.dump();
  EXPECT_EQ(l["end_reason"], "killed by signal 15") << l.dump();
  EXPECT_TRUE(wait_for([&] { return !container_exists(lost) && !slot_exists(worker_of[lost]); },
                       5s));
  auto stop = env->claudy("stop " + keep);
  ASSERT_EQ(stop.rc, 0) << stop.out;
  EXPECT_FALSE(container_exists(keep));
  EXPECT_FALSE(slot_exists(worker_of[keep]));
  EXPECT_EQ(session_file(keep)["end_reason"], "stopped by user");
  EXPECT_EQ(read_all(project_of[keep] + "/marker"), "keep");
  EXPECT_TRUE(mounts_in_slots().empty());
}

TEST_F(sessions_fixture, kill_9_in_a_burst_of_claims_then_restart_keeps_every_invariant) {
  env->vars["MAX_WARM_WORKERS"] = "3";
  start_daemon();
  // Claims recorded complete (a start is first recorded "starting", beside
  // its claim: actors/sessions.cpp).
  auto recorded = [&] {
    std::error_code ec;
    size_t n = 0;
    for (auto& e : fs::directory_iterator{home + "/sessions", ec})
      if (e.path().extension() == ".json") {
        auto j = parse(read_all(e.path()));
        n += j.is_object() && j.value("state", "") == "running";
      }
    return n;
  };
  // ("[b]urst" matches the claudy processes, not the shell running pgrep.)
  auto pattern = projects.path + "/[b]urst";
  auto claims_running = [&] {
    int rc = 0;
    return !sh("pgrep -f '" + pattern + "'", &rc).empty();
  };
  std::string why;
  auto invariants = [&] {
    why.clear();
    auto running = running_sessions();
    auto pool = parse(env->claudy("--json pool status").out);
    std::set<std::string> new_workers;
    if (!pool.is_discarded())
      for (auto& w : pool["workers"])
        new_workers.insert(w["id"].get<std::string>());
    std::set<std::string> session_containers;
    for (auto& c : containers()) {
      if (running.count(c.name) && c.state == "running") {
        session_containers.insert(c.name);
        continue;
      }
      if (c.name == "hal9000-warm-" + c.worker && new_workers.count(c.worker))
        continue;
      why = "orphan container " + c.name + " (" + c.state + ")";
      return false;
    }
    for (auto& [name, s] : running)
      if (!session_containers.count(name)) {
        why = "session " + name + " listed without its container";
        return false;
      }
    // A running session's slot holds its mounts (the project, the user's
    // Claude home and secrets); any other mount is stale.
    std::set<std::string> slots_in_use;
    for (auto& [name, s] : running)
      slots_in_use.insert(fs::canonical(late_bind::mounts_dir(home)).string() + "/"
                          + s["worker_id"].get<std::string>() + "/");
    for (auto& m : mounts_in_slots()) {
      bool in_use = false;
      for (auto& slot : slots_in_use)
        in_use = in_use || m.rfind(slot, 0) == 0;
      if (!in_use) {
        why = "stale mount " + m;
        return false;
      }
    }
    return true;
  };

  // Three bursts, each killed at another point: after 1, 3 and 5 of its
  // claims were recorded (the others in flight: mounting, renaming,
  // creating cold workers, refilling).
  constexpr int burst = 8;
  std::vector<std::string> paths;
  int next = 0;
  for (size_t kill_after : {1u, 3u, 5u}) {
    std::string cmd;
    for (int i = 0; i < burst; ++i) {
      paths.push_back(project("burst" + std::to_string(next++)));
      cmd += bin("claudy") + " " + paths.back() + " --detach >/dev/null 2>&1 & ";
    }
    auto before = recorded();
    auto r = env->run("sh -c '" + cmd + " wait' >/dev/null 2>&1 & echo started");
    ASSERT_EQ(r.rc, 0) << r.out;
    ASSERT_TRUE(wait_for([&] { return recorded() >= before + kill_after; }, 30s));
    ASSERT_EQ(::kill(env->daemon_pid(), SIGKILL), 0);
    auto at_kill = recorded() - before;
    // The background claims end at once (claudy notices its daemon went away).
    ASSERT_TRUE(wait_for([&] { return !claims_running(); }, 10s));

    start_daemon();
    // Allowing the pool's start-up check to remove a container whose create
    // was in flight at the kill (it appears after the reconciliation).
    EXPECT_TRUE(wait_for(invariants, 15s)) << why;
    auto events = env->claudy("events --json").out;
    auto count = [&](const std::string& action) {
      auto what = "\"action\":\"" + action + "\"";
      size_t n = 0;
      for (auto at = events.find(what); at != std::string::npos; at = events.find(what, at + 1))
        ++n;
      return n;
    };
    std::cout << "[ burst    ] " << burst << " claims, killed with " << at_kill
              << " recorded; after the restart " << running_sessions().size()
              << " running; reconcile: " << count("adopted") << " adopted, "
              << count("adopted_rebuilt") << " rebuilt, " << count("removed_leftover")
              << " leftovers removed, " << count("unmounted_stale") << " stale mounts, "
              << count("removed_slot") << " empty slots\n";
  }

  // Every session file parses; none moved aside as corrupt.
  size_t files = 0;
  for (auto& e : fs::directory_iterator{home + "/sessions"}) {
    if (e.path().extension() != ".json")
      continue;
    ++files;
    EXPECT_FALSE(parse(read_all(e.path())).is_discarded()) << e.path();
  }
  EXPECT_FALSE(fs::exists(home + "/sessions/corrupt") && !fs::is_empty(home + "/sessions/corrupt"));
  auto running = running_sessions();
  EXPECT_GE(running.size(), 9u);
  EXPECT_GE(files, running.size());

  // Every running session attachable and stoppable; projects untouched.
  for (auto& [name, s] : running) {
    auto a = parse(env->claudy("--json attach " + name).out);
    ASSERT_FALSE(a.is_discarded()) << name;
    EXPECT_FALSE(a["attach"].empty());
    EXPECT_EQ(exec(name, "ls -d /workspace"), "/workspace\n");
  }
  for (auto& [name, s] : running) {
    auto stop = env->claudy("stop " + name);
    EXPECT_EQ(stop.rc, 0) << stop.out;
    EXPECT_FALSE(container_exists(name));
  }
  EXPECT_TRUE(mounts_in_slots().empty());
  for (auto& p : paths)
    EXPECT_TRUE(fs::exists(p)) << p;
}

TEST_F(sessions_fixture, bad_input_is_refused_with_its_exit_code_and_nothing_changes) {
  env->vars["ENABLE_POOL_MANAGER"] = "false";  // a still engine: nothing moves by itself
  start_daemon();
  auto taken = project("taken");
  auto s = start(taken, "--name shared");
  ASSERT_EQ(s["name"], "shared");
  auto good = project("good");
  write_file(projects / "a-file", "x");
  ::symlink("/etc", (projects / "to-etc").c_str());

  auto snapshot = [&] {
    std::string out;
    for (auto& e : fs::recursive_directory_iterator{home + "/sessions"})
      out += e.path().string() + "\n" + (e.is_regular_file() ? read_all(e.path()) : "") + "\n";
    for (auto& c : containers())
      out += c.name + " " + c.state + "\n";
    return out;
  };
  // The container takes the session's name after the reply (a rename the
  // reply does not wait for): the still state is the one after it.
  ASSERT_TRUE(wait_for(
    [&] {
      for (auto& c : containers())
        if (c.name == "shared")
          return true;
      return false;
    },
    30s))
    << "the session's container never took its name";
  auto before = snapshot();
  struct bad_case {
    std::string args;
    int rc;
    std::string says;
  };
  std::vector<bad_case> cases = {
    {projects / "missing", 2, "does not exist"},
    {projects / "a-file", 2, "not a directory"},
    {"/etc", 2, "sensitive"},
    {good + "/../../../../../../../../etc", 2, "sensitive"},
    {projects / "to-etc", 2, "sensitive"},
    {good + " --name a/b", 2, "invalid name"},
    {good + " --name ..", 2, "invalid name"},
    {good + " --name " + std::string(200, 'n'), 2, "invalid name"},
    {good + " --memory abc", 2, "invalid memory limit"},
    {good + " --cpus -1", 2, "invalid cpu limit"},
    {good + " --pids-limit 0", 2, "invalid pids limit"},
    {good + " --name shared", 1, "used by a running session"},
  };
  for (auto& c : cases) {
    auto r = env->claudy(c.args + " --detach");
    EXPECT_EQ(r.rc, c.rc) << c.args << ": " << r.out;
    auto lower = r.out;
    std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
    EXPECT_NE(lower.find(c.says), std::string::npos) << c.args << ": " << r.out;
    EXPECT_EQ(snapshot(), before) << c.args;
  }
  EXPECT_EQ(running_sessions().size(), 1u);
}

// -- issue 11: one owner per session ----------------------------------------------

namespace {

std::set<std::string> warm_ids(const json& pool) {
  std::set<std::string> out;
  for (auto& w : pool["workers"])
    if (w["state"] == "warm")
      out.insert(w["id"].get<std::string>());
  return out;
}

} // namespace

// Two `claudy PATH` at the same moment on one project: one got the session,
// the other "session ... is already being claimed" (exit 1). Now every caller
// gets the same session, whether the project or the name is shared.
TEST_F(sessions_fixture, concurrent_starts_of_one_project_or_one_name_converge) {
  // A FAKE Docker proxy (fault injection) slows every reply, so the first
  // claim is surely still in flight when the others arrive.
  fake_docker_proxy proxy;
  env->vars["DOCKER_HOST"] = proxy.host();
  start_daemon();
  json pool;
  ASSERT_TRUE(wait_for([&] {
    pool = parse(env->claudy("--json pool status").out);
    return !pool.is_discarded() && pool["warm"] == 2;
  }, 60s)) << pool.dump();
  proxy.set_mode(fake_docker_proxy::mode::delay, 1500ms);
  auto p = project("together");
  auto q = project("named");
  std::vector<run_result> by_project(4), by_name(3);
  std::vector<std::thread> threads;
  for (auto& r : by_project)
    threads.emplace_back([&, pr = &r] { *pr = env->claudy("--json " + p + " --detach"); });
  for (auto& r : by_name)
    threads.emplace_back(
      [&, pr = &r] { *pr = env->claudy("--json " + q + " --detach --name same-name"); });
  for (auto& t : threads)
    t.join();
  proxy.set_mode(fake_docker_proxy::mode::pass);
  std::set<std::string> names;
  for (auto& r : by_project) {
    ASSERT_EQ(r.rc, 0) << r.out;
    auto j = parse(r.out);
    ASSERT_FALSE(j.is_discarded()) << r.out;
    names.insert(j["name"].get<std::string>());
  }
  EXPECT_EQ(names.size(), 1u) << "every caller got the same session";
  for (auto& r : by_name) {
    ASSERT_EQ(r.rc, 0) << r.out;
    EXPECT_EQ(parse(r.out)["name"], "same-name") << r.out;
  }
  auto running = running_sessions();
  EXPECT_EQ(running.size(), 2u);
  EXPECT_TRUE(running.count("same-name"));
  EXPECT_TRUE(running.count(*names.begin()));
}

// `claudy stop NAME` on an ended session exited 5; a second stop is a
// successful no-op that says the session had ended.
TEST_F(sessions_fixture, stopping_an_ended_session_succeeds_and_says_it_had_ended) {
  start_daemon();
  auto s = start(project("twice"), "--name twice");
  ASSERT_EQ(s["name"], "twice");
  auto first = env->claudy("stop twice");
  ASSERT_EQ(first.rc, 0) << first.out;
  auto again = env->claudy("stop twice");
  EXPECT_EQ(again.rc, 0) << again.out;
  EXPECT_NE(again.out.find("had already ended"), std::string::npos) << again.out;
  EXPECT_NE(again.out.find("stopped by user"), std::string::npos) << again.out;
  auto unknown = env->claudy("stop never-was");
  EXPECT_EQ(unknown.rc, 5) << unknown.out;
}

// --cpus 1000 was refused by the engine only after a warm worker had been
// claimed (and used up); --memory 99999t was accepted.
TEST_F(sessions_fixture, limits_above_the_host_are_refused_before_any_worker_is_claimed) {
  start_daemon();
  json pool;
  ASSERT_TRUE(wait_for([&] {
    pool = parse(env->claudy("--json pool status").out);
    return !pool.is_discarded() && pool["warm"] == 2;
  }, 60s)) << pool.dump();
  auto before = warm_ids(pool);
  auto p = project("greedy");
  auto cpus = env->claudy(p + " --detach --cpus 1000");
  EXPECT_EQ(cpus.rc, 2) << cpus.out;
  EXPECT_NE(cpus.out.find("--cpus 1000"), std::string::npos) << cpus.out;
  EXPECT_NE(cpus.out.find("CPUs"), std::string::npos) << cpus.out;
  auto mem = env->claudy(p + " --detach --memory 99999t");
  EXPECT_EQ(mem.rc, 2) << mem.out;
  EXPECT_NE(mem.out.find("--memory 99999t"), std::string::npos) << mem.out;
  EXPECT_NE(mem.out.find("GiB"), std::string::npos) << mem.out;
  pool = parse(env->claudy("--json pool status").out);
  EXPECT_EQ(warm_ids(pool), before) << "no refused request used up a warm worker";
  EXPECT_EQ(pool["failed"], 0) << pool.dump();
  EXPECT_TRUE(running_sessions().empty());
}

// `claudy PATH --memory M` on a project whose session runs silently ignored
// the new limits; now they are applied with the Engine's update and said so.
TEST_F(sessions_fixture, other_limits_on_a_running_project_are_applied_to_it) {
  start_daemon();
  auto p = project("grow");
  auto s = start(p);
  auto name = s["name"].get<std::string>();
  ASSERT_FALSE(name.empty());
  auto r = env->claudy(p + " --detach --memory 300m");
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("applied"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("300m"), std::string::npos) << r.out;
  EXPECT_EQ(sh("docker inspect -f '{{.HostConfig.Memory}}' " + name), "314572800\n");
  EXPECT_EQ(running_sessions()[name]["resource_limits"]["memory"], "300m");
  EXPECT_EQ(session_file(name)["resource_limits"]["memory"], "300m");
  // Dropping limits from a running container: refused, clearly.
  auto drop = env->claudy(p + " --detach --no-limits");
  EXPECT_NE(drop.rc, 0) << drop.out;
  EXPECT_NE(drop.out.find("claudy stop " + name), std::string::npos) << drop.out;
}

// The reference's pool/pool-manager.pid was documented but never written.
TEST_F(sessions_fixture, pool_manager_pid_holds_the_daemon_pid_while_the_pool_runs) {
  start_daemon();
  auto pidfile = home + "/pool/pool-manager.pid";
  auto daemon_pid = std::to_string(env->daemon_pid());
  auto holds = [&](const std::string& want) {
    return wait_for([&] {
      auto text = read_all(pidfile);
      while (!text.empty() && text.back() == '\n')
        text.pop_back();
      return text == want;
    }, 10s);
  };
  EXPECT_TRUE(holds(daemon_pid)) << read_all(pidfile);
  ASSERT_EQ(env->claudy("pool stop").rc, 0);
  EXPECT_TRUE(wait_for([&] { return !fs::exists(pidfile); }, 10s));
  ASSERT_EQ(env->claudy("pool start").rc, 0);
  EXPECT_TRUE(holds(daemon_pid)) << read_all(pidfile);
  ASSERT_EQ(env->claudy("daemon stop").rc, 0);
  EXPECT_FALSE(fs::exists(pidfile));
}

// `claudy daemon stop --all` left HAL9000_HOME/mounts a mount point:
// removing the state directory afterwards failed with "Device or resource busy".
TEST_F(sessions_fixture, daemon_stop_all_leaves_no_mount_behind) {
  start_daemon();
  auto s = start(project("last"));
  ASSERT_FALSE(s.empty());
  auto r = env->claudy("daemon stop --all");
  ASSERT_EQ(r.rc, 0) << r.out;
  auto mounts = late_bind::mounts_dir(home);
  EXPECT_TRUE(late_bind::mounts_under(mounts).empty());
  EXPECT_FALSE(late_bind::inspect_mount(mounts).mounted);
  std::error_code ec;
  fs::remove_all(mounts, ec);
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_EQ(session_file(s["name"].get<std::string>())["state"], "ended");
}

// One timeout budget: the bridge gave up on a claim after the claim timeout
// + 10 s while the worker had up to 35 s to finish it; the session then ran
// without a record. A FAKE Docker proxy (fault injection) makes the claim's
// update of the session's limits (a step of the claim; the rename follows
// the reply) slower than that old cut-off: the claim is waited for and
// recorded.
TEST_F(sessions_fixture, a_slow_claim_is_waited_for_and_recorded_never_abandoned) {
  fake_docker_proxy proxy;
  env->vars["DOCKER_HOST"] = proxy.host();
  env->vars["HAL9000_CLAIM_TIMEOUT"] = "1";
  start_daemon();
  json pool;
  ASSERT_TRUE(wait_for([&] {
    pool = parse(env->claudy("--json pool status").out);
    return !pool.is_discarded() && pool["warm"] == 2;
  }, 60s)) << pool.dump();
  proxy.set_mode(fake_docker_proxy::mode::delay, 12s);  // past 1 s + 10 s
  auto p = project("slow");
  auto r = env->claudy("--json " + p + " --detach --name slow --memory 300m");
  proxy.set_mode(fake_docker_proxy::mode::pass);
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_EQ(parse(r.out)["name"], "slow");
  auto rec = session_file("slow");
  ASSERT_FALSE(rec.is_discarded());
  EXPECT_EQ(rec["state"], "running");
  EXPECT_TRUE(container_exists("slow"));
  auto stop = env->claudy("stop slow");
  EXPECT_EQ(stop.rc, 0) << stop.out;
  EXPECT_FALSE(container_exists("slow"));
}

// The bridge capped `pool stop` at 5 s while the pool replies only once every
// warm worker is gone (claudy waits 120 s): with a slow engine the stop was
// reported as failed although it went on. Now the bridge waits the pool's
// own stop budget.
TEST_F(sessions_fixture, pool_stop_on_a_slow_engine_is_waited_for) {
  fake_docker_proxy proxy;  // a FAKE, for fault injection: slow replies
  env->vars["DOCKER_HOST"] = proxy.host();
  start_daemon();
  json pool;
  ASSERT_TRUE(wait_for([&] {
    pool = parse(env->claudy("--json pool status").out);
    return !pool.is_discarded() && pool["warm"] == 2;
  }, 60s)) << pool.dump();
  proxy.set_mode(fake_docker_proxy::mode::delay, 7s);  // one removal: past 5 s
  auto r = env->claudy("--json pool stop");
  proxy.set_mode(fake_docker_proxy::mode::pass);
  ASSERT_EQ(r.rc, 0) << r.out;
  auto j = parse(r.out);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_EQ(j["warm"], 0) << r.out;
  EXPECT_EQ(j["running"], false) << r.out;
}

// A claim replies before its container is renamed to the session (the
// rename is dockerd's slowest step); the record is written before the reply.
// A FAKE Docker proxy (fault injection) swallows the rename, and the daemon
// is killed with -9 while the acknowledged session's container still has its
// warm name: the restart adopts the session (matched by container id and
// worker label, never removed as a leftover warm worker) and renames it.
TEST_F(sessions_fixture, a_crash_between_the_reply_and_the_rename_keeps_the_session) {
  fake_docker_proxy proxy;
  env->vars["DOCKER_HOST"] = proxy.host();
  start_daemon();
  json pool;
  ASSERT_TRUE(wait_for([&] {
    pool = parse(env->claudy("--json pool status").out);
    return !pool.is_discarded() && pool["warm"] == 2;
  }, 60s)) << pool.dump();
  auto p = project("renamecrash");
  write_file(p + "/marker", "acknowledged");
  proxy.set_mode(fake_docker_proxy::mode::hang);  // Docker calls from now on never arrive
  auto r = env->claudy("--json " + p + " --detach --name renamecrash");
  ASSERT_EQ(r.rc, 0) << r.out;
  auto rec = session_file("renamecrash");
  ASSERT_FALSE(rec.is_discarded());
  EXPECT_EQ(rec["state"], "running");
  std::string cid = rec.value("container_id", "");
  std::string wid = rec.value("worker_id", "");
  ASSERT_FALSE(cid.empty() || wid.empty()) << rec.dump();
  auto name_of = [&] {
    auto out = sh("docker inspect --format '{{.Name}}' " + cid + " 2>&1");
    return out.substr(0, out.find_last_not_of("\n") + 1);
  };
  EXPECT_EQ(name_of(), "/hal9000-warm-" + wid);

  kill_daemon();
  proxy.set_mode(fake_docker_proxy::mode::pass);
  proxy.drop_all();
  start_daemon();
  auto listed = running_sessions();
  ASSERT_TRUE(listed.count("renamecrash")) << sessions(true).dump();
  EXPECT_EQ(listed["renamecrash"]["container_id"], cid);
  EXPECT_EQ(listed["renamecrash"]["worker_id"], wid);
  EXPECT_TRUE(wait_for([&] { return name_of() == "/renamecrash"; }, 10s)) << name_of();
  auto events = env->claudy("events --json").out;
  EXPECT_NE(events.find("renamed from hal9000-warm-" + wid), std::string::npos) << events;
  EXPECT_EQ(events.find("\"action\":\"removed_leftover\",\"container_id\":\"" + cid),
            std::string::npos) << events;
  EXPECT_EQ(exec("renamecrash", "cat /workspace/marker"), "acknowledged");
  auto stop = env->claudy("stop renamecrash");
  EXPECT_EQ(stop.rc, 0) << stop.out;
  EXPECT_FALSE(container_exists("renamecrash"));
  EXPECT_EQ(read_all(p + "/marker"), "acknowledged");
}
