// What outlives a session, through the real binaries and the real engine:
// each user's Claude home (late-bound into warm workers, bound at create into
// cold ones), the shared Memory Bank volume, the API key staying on the host
// (never in a worker: sandbox_test covers the credential proxy), per-user
// tokens, and claudy refusing ANTHROPIC_API_KEY. TearDown stops every session
// and unmounts everything under HAL9000_HOME before a file is removed.
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include "messages/error.hpp"
#include "runtime/late_bind.hpp"
#include "support/cli_process.hpp"
#include "support/temp_dir.hpp"
#include "support/test_env.hpp"

using namespace hal9000;
using namespace hal9000::test;
using namespace std::chrono_literals;

namespace {

std::string read_all(const std::string& path) {
  std::ifstream in{path};
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
    s.pop_back();
  return s;
}

bool exists(const std::string& path) {
  return ::access(path.c_str(), F_OK) == 0;
}

// What every busybox session records in its project, then idles.
constexpr const char* probe_command
  = "c=$CLAUDE_CONFIG_DIR; cat $c/marker > /workspace/home-before 2>/dev/null;"
    " echo $HAL9000_SESSION > $c/marker;"
    " cat /data/membank/mb > /workspace/mb-before 2>/dev/null;"
    " echo $HAL9000_SESSION > /data/membank/mb;"
    " cat /run/secrets/anthropic_key > /workspace/key 2>/dev/null;"
    " ls /run/secrets > /workspace/secrets 2>/dev/null;"
    " echo done > /workspace/done; exec sleep 1000";

const std::string test_key = "sk-ant-test-" + run_id() + "-0123456789abcdef";

struct users : ::testing::Test {
  temp_dir home;
  temp_dir projects;  // outside HAL9000_HOME: the daemon refuses projects inside it
  daemon_env env{home.path};
  std::vector<std::string> sessions;

  void SetUp() override {
    if (::geteuid() != 0)
      GTEST_SKIP() << "late binding and per-user ownership need root";
    env.vars["WORKER_IMAGE"] = "hal9000/test:busybox";
    env.vars["SKIP_IMAGE_PULL"] = "true";
    env.vars["ENABLE_POOL_MANAGER"] = "true";
    env.vars["MIN_WARM_WORKERS"] = "1";
    env.vars["MAX_WARM_WORKERS"] = "2";
    env.vars["WORKER_MEMORY"] = "64m";
    env.vars["WORKER_CPUS"] = "0.5";
    env.vars["WORKER_PIDS_LIMIT"] = "50";
    // busybox runs as root with every capability dropped: it must own the homes.
    env.vars["HAL9000_WORKER_UID"] = "0";
    env.vars["HAL9000_WORKER_GID"] = "0";
    env.vars["WORKER_COMMAND"] = probe_command;
  }

  void TearDown() override {
    if (home.path.empty())
      return;
    for (auto& s : sessions)
      env.claudy("stop " + s);
    env.claudy("daemon stop --all");
    // Before any temp dir goes: nothing of a project or a user's home may be
    // deleted through a mount.
    EXPECT_FALSE(late_bind::unmount_all_under(home.path));
    EXPECT_TRUE(late_bind::mounts_under(home.path).empty());
  }

  void start_daemon() {
    auto r = env.claudy("daemon start");
    ASSERT_EQ(r.rc, 0) << r.out;
  }

  // A project owned by owner: a user's session acts as that user (issue 12),
  // so it must be able to reach its project.
  std::string project(const std::string& name, uid_t owner = 0) {
    ::chmod(projects.path.c_str(), 0755);
    auto dir = projects / name;
    sh("mkdir -p '" + dir + "'");
    if (owner != 0)
      sh("chown " + std::to_string(owner) + ":" + std::to_string(owner) + " '" + dir + "'");
    return dir;
  }

  // `claudy --detach` as whoever token_file names ("" = root); waits until
  // the session's command wrote its probes.
  std::string session(const std::string& tag, const std::string& dir,
                      const std::string& token_file = "", const std::string& flags = "") {
    auto name = tag + "-" + run_id();
    auto who = token_file.empty() ? "" : "--token-file " + token_file + " ";
    auto r = env.claudy(who + "--detach --name " + name + " " + flags + " " + dir);
    EXPECT_EQ(r.rc, 0) << r.out;
    if (r.rc != 0)
      return "";
    sessions.push_back(name);
    EXPECT_TRUE(wait_for([&] { return exists(dir + "/done"); }, 20s)) << name;
    return name;
  }

  void stop(const std::string& name, const std::string& token_file = "") {
    auto who = token_file.empty() ? "" : "--token-file " + token_file + " ";
    auto r = env.claudy(who + "stop " + name);
    EXPECT_EQ(r.rc, 0) << r.out;
  }

  nlohmann::json status(const std::string& token_file = "") {
    auto who = token_file.empty() ? "" : "--token-file " + token_file + " ";
    auto r = env.claudy(who + "--json daemon status");
    EXPECT_EQ(r.rc, 0) << r.out;
    return nlohmann::json::parse(r.out, nullptr, false);
  }

  // Root issues a token for uid; returns the token file.
  std::string add_user(uid_t uid) {
    auto r = env.claudy("setup --user " + std::to_string(uid) + " --no-key");
    EXPECT_EQ(r.rc, 0) << r.out;
    return home / ("auth/users/" + std::to_string(uid) + "/token");
  }

  run_result setup_key(const std::string& key, const std::string& token_file = "") {
    auto who = token_file.empty() ? "" : " --token-file " + token_file;
    return env.run("sh -c \"printf '%s\\n' " + key + " | " + bin("claudy") + who
                   + " setup\"");
  }
};

} // namespace

TEST_F(users, home_follows_its_user_and_no_one_else) {
  start_daemon();
  auto bob = add_user(4242);
  struct stat st {};
  ASSERT_EQ(::stat(bob.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 4242u);
  EXPECT_EQ(st.st_mode & 0777, 0400u);
  EXPECT_EQ(status()["user"], "root");
  EXPECT_EQ(status(bob)["user"], "uid-4242");

  // Root, warm: a fresh home; writes its marker.
  auto p1 = project("p1");
  auto s1 = session("us1", p1);
  EXPECT_EQ(read_all(p1 + "/home-before"), "");
  stop(s1);
  // Root again, cold (--no-limits takes the cold path): the same home.
  auto p2 = project("p2");
  auto s2 = session("us2", p2, "", "--no-limits");
  EXPECT_EQ(trim(read_all(p2 + "/home-before")), s1);
  stop(s2);
  // Another user, warm: nothing of root's.
  auto p3 = project("p3", 4242);
  auto s3 = session("us3", p3, bob);
  EXPECT_EQ(read_all(p3 + "/home-before"), "");
  stop(s3, bob);
  // That user again: their own home, as they left it.
  auto p4 = project("p4", 4242);
  auto s4 = session("us4", p4, bob);
  EXPECT_EQ(trim(read_all(p4 + "/home-before")), s3);
  stop(s4, bob);
  // On the host: one home per user, neither holding the other's marker.
  EXPECT_EQ(trim(read_all(home / "users/root/claude/marker")), s2);
  EXPECT_EQ(trim(read_all(home / "users/uid-4242/claude/marker")), s4);
  // Sessions are recorded under the token's user, not the client's words.
  auto r = env.claudy("--json sessions --all");
  auto list = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_TRUE(list.is_array()) << r.out;
  std::map<std::string, std::string> owner;
  for (auto& s : list)
    owner[s["name"]] = s.value("user_id", "");
  EXPECT_EQ(owner[s1], "root") << r.out;
  EXPECT_EQ(owner[s3], "uid-4242") << r.out;
}

TEST_F(users, memory_bank_is_shared_between_workers) {
  start_daemon();
  auto st = status();
  ASSERT_TRUE(st["volumes"].is_array()) << st.dump();
  std::set<std::string> names;
  for (auto& v : st["volumes"]) {
    names.insert(v["name"].get<std::string>());
    EXPECT_TRUE(v["state"] == "created" || v["state"] == "exists") << v.dump();
  }
  EXPECT_EQ(names, (std::set<std::string>{env.daemon_id + "-memorybank",
                                          env.daemon_id + "-plugins"}));
  auto p1 = project("m1");
  auto s1 = session("um1", p1);
  auto p2 = project("m2");
  auto s2 = session("um2", p2);
  // The second worker read what the first one wrote (both still running).
  EXPECT_EQ(trim(read_all(p2 + "/mb-before")), s1);
  auto mounts = sh("docker inspect --format '{{range .Mounts}}{{.Name}}:{{.Destination}} {{end}}' "
                   + s2);
  EXPECT_NE(mounts.find(env.daemon_id + "-memorybank:/data/membank"), std::string::npos) << mounts;
  EXPECT_NE(mounts.find(env.daemon_id + "-plugins:/data/plugins"), std::string::npos) << mounts;
}

TEST_F(users, api_key_stays_on_the_host_and_reaches_no_worker) {
  start_daemon();
  auto r = setup_key(test_key);
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_EQ(r.out.find(test_key), std::string::npos) << "setup echoed the key: " << r.out;
  auto key_file = home / "users/root/secrets/anthropic_key";
  struct stat st {};
  ASSERT_EQ(::stat(key_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0400u);

  auto p1 = project("k1");
  auto s1 = session("uk1", p1);  // warm
  EXPECT_EQ(read_all(p1 + "/key"), "");
  EXPECT_EQ(read_all(p1 + "/secrets"), "");
  auto p2 = project("k2");
  auto s2 = session("uk2", p2, "", "--no-limits");  // cold
  EXPECT_EQ(read_all(p2 + "/key"), "");
  EXPECT_EQ(read_all(p2 + "/secrets"), "");
  // Every worker of this daemon, claimed or warm: no key in its configuration.
  auto ids = sh("docker ps -aq --filter label=hal9000.daemon=" + env.daemon_id);
  ASSERT_FALSE(trim(ids).empty());
  int rc = 0;
  auto inspect = sh("docker inspect $(docker ps -aq --filter label=hal9000.daemon="
                      + env.daemon_id + ")", &rc);
  ASSERT_EQ(rc, 0);
  EXPECT_EQ(inspect.find("/run/secrets"), std::string::npos);
  EXPECT_EQ(inspect.find(test_key), std::string::npos) << "a key in docker inspect";
  EXPECT_EQ(inspect.find("ANTHROPIC_API_KEY"), std::string::npos);
  // The key stayed intact on the host.
  EXPECT_EQ(trim(read_all(key_file)), test_key);

  // A user without a key gets none, not root's.
  auto bob = add_user(4343);
  auto p3 = project("k3", 4343);
  session("uk3", p3, bob);
  EXPECT_EQ(read_all(p3 + "/key"), "");
  // Only root sets up someone else.
  r = env.claudy("--token-file " + bob + " setup --user 4444 --no-key");
  EXPECT_EQ(r.rc, 4) << r.out;
  EXPECT_NE(r.out.find("only root"), std::string::npos) << r.out;
}

TEST_F(users, claudy_refuses_an_api_key_in_its_environment) {
  start_daemon();
  auto p = project("env");
  auto r = env.run("env ANTHROPIC_API_KEY=sk-ant-never " + bin("claudy") + " --detach " + p);
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_NE(r.out.find("ANTHROPIC_API_KEY is set"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("claudy setup"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("sk-ant-never"), std::string::npos) << r.out;
  r = env.claudy("--json sessions --all");
  EXPECT_EQ(r.out.find(p), std::string::npos) << "a session was started: " << r.out;
}

TEST_F(users, spawn_worker_sh_wraps_claudy) {
  start_daemon();
  auto p1 = project("sw1");
  auto r = env.run(bin("spawn-worker.sh") + " --memory 96m --cpus 0.5 --name usw1-" + run_id()
                   + " " + p1);
  ASSERT_EQ(r.rc, 0) << r.out;
  sessions.push_back("usw1-" + run_id());
  EXPECT_NE(r.out.find("attach with: claudy attach"), std::string::npos) << r.out;
  // The container takes the session's name just after the reply.
  auto memory_of = [](const std::string& name) {
    std::string mem;
    wait_for([&] {
      mem = trim(sh("docker inspect --format '{{.HostConfig.Memory}}' " + name + " 2>/dev/null"));
      return !mem.empty();
    }, 10s);
    return mem;
  };
  auto mem = memory_of("usw1-" + run_id());
  EXPECT_EQ(mem, std::to_string(96 * 1024 * 1024));
  auto p2 = project("sw2");
  r = env.run(bin("spawn-worker.sh") + " --no-limits --name usw2-" + run_id() + " " + p2);
  ASSERT_EQ(r.rc, 0) << r.out;
  sessions.push_back("usw2-" + run_id());
  mem = memory_of("usw2-" + run_id());
  EXPECT_EQ(mem, "0");
}

// The real worker image: Claude Code runs as user claude in the project's own
// directory, with
// the user's home writable at ~/.claude and the key readable.
TEST_F(users, real_worker_image_runs_claude_as_claude) {
  int rc = 0;
  sh("docker image inspect hal9000/worker:local >/dev/null 2>&1", &rc);
  if (rc != 0)
    GTEST_SKIP() << "hal9000/worker:local is not built (scripts/build-images worker)";
  env.vars["WORKER_IMAGE"] = "hal9000/worker:local";
  env.vars.erase("HAL9000_WORKER_UID");  // the image's claude: 1000:1000
  env.vars.erase("HAL9000_WORKER_GID");
  env.vars["WORKER_MEMORY"] = "1g";
  env.vars["WORKER_CPUS"] = "1";
  env.vars["WORKER_PIDS_LIMIT"] = "200";
  env.vars["WORKER_COMMAND"]
    = "claude --version > /workspace/version 2>&1; id -un > /workspace/user;"
      " pwd > /workspace/pwd; touch $CLAUDE_CONFIG_DIR/probe && echo yes > /workspace/home-ok;"
      " cat /run/secrets/anthropic_key > /workspace/key; echo done > /workspace/done;"
      " exec sleep 1000";
  start_daemon();
  ASSERT_EQ(setup_key(test_key).rc, 0);
  auto p = project("real");
  ASSERT_EQ(::chown(p.c_str(), 1000, 1000), 0);
  session("ureal", p);
  EXPECT_NE(read_all(p + "/version").find("Claude Code"), std::string::npos)
    << read_all(p + "/version");
  EXPECT_EQ(trim(read_all(p + "/user")), "claude");
  // The project's own path (one Claude Code project key per project).
  EXPECT_EQ(trim(read_all(p + "/pwd")), late_bind::project_workdir(p));
  EXPECT_EQ(trim(read_all(p + "/home-ok")), "yes");
  EXPECT_EQ(read_all(p + "/key"), "") << "the key reached the worker";
  struct stat st {};
  ASSERT_EQ(::stat((home / "users/root/claude/probe").c_str(), &st), 0);
  // Root's Claude home is root's on disk, id-mapped to claude in the session.
  EXPECT_EQ(st.st_uid, 0u);
}
