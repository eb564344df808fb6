// A session is its user's own (issue 12), through the real binaries, the
// real engine and the real worker image (hal9000/worker:local, uid 1000),
// with real users made here (useradd, a unique name and a uid found free at
// run time) and root:
//   case01  projects of root (0700, 0755) and of a user, each started by its
//           owner: files written in both directions, owners checked on the host
//   case02  git status and commit inside, no safe.directory anywhere
//   case03  a tmpfs inside the project, warm and cold
//   case12  two projects, two Claude Code project keys; a second session of
//           one project finds its history
//   refused before any worker: a directory the user cannot enter, a path in
//           another user's private home: exit 2 naming the path
//   a second user's whole flow through su, with no variable set
// The cases are ../shared/cases/{01,02,03,12}-*.sh, as tests of our own.
// Every session, user, mount and directory made here is removed in TearDown.
#include <fstream>

#include <grp.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <pwd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/late_bind.hpp"
#include "support/cli_process.hpp"
#include "support/temp_dir.hpp"
#include "support/test_env.hpp"

using namespace hal9000;
using namespace hal9000::test;
using namespace std::chrono_literals;

namespace {

constexpr uid_t worker_uid = 1000;  // hal9000/worker:local's claude

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r'))
    s.pop_back();
  return s;
}

uid_t owner_of(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 ? st.st_uid : static_cast<uid_t>(-1);
}

std::string q(const std::string& s) {  // single-quoted for sh
  std::string out = "'";
  for (auto c : s)
    out += c == '\'' ? std::string{"'\\''"} : std::string(1, c);
  return out + "'";
}

// A host user for one test: a unique login and a uid (= its group's gid)
// that nobody uses, found at run time; removed with its home at the end.
struct host_user {
  std::string login;
  uid_t uid = 0;
  std::string home;

  host_user() {
    auto base = 30000u + static_cast<uid_t>(::getpid() % 2000) * 10;
    for (uid_t u = base; u < base + 2000 && login.empty(); ++u) {
      if (::getpwuid(u) || ::getgrgid(u))
        continue;
      auto name = "h9t" + std::to_string(u) + "x" + std::to_string(::getpid() % 1000);
      int rc = 0;
      sh("useradd -m -u " + std::to_string(u) + " -U -s /bin/sh " + name + " 2>&1", &rc);
      if (rc != 0)
        continue;  // taken meanwhile by someone else: the next one
      login = name;
      uid = u;
      home = "/home/" + name;
      ::chmod(home.c_str(), 0700);
    }
  }
  ~host_user() {
    if (!login.empty())
      sh("userdel -r -f " + login + " >/dev/null 2>&1");
  }
  host_user(const host_user&) = delete;
  host_user& operator=(const host_user&) = delete;
};

struct started {
  std::string name;
  std::string container;
  std::string served;
  run_result raw;
};

struct identity : ::testing::Test {
  temp_dir home;
  temp_dir projects;  // 0755: users reach their projects in it
  daemon_env env{home.path};
  std::vector<std::pair<std::string, std::string>> sessions;  // name, token file
  std::vector<std::string> submounts;

  void SetUp() override {
    if (::geteuid() != 0)
      GTEST_SKIP() << "users, mounts and id mapping need root";
    int rc = 0;
    sh("docker image inspect hal9000/worker:local >/dev/null 2>&1", &rc);
    if (rc != 0)
      GTEST_SKIP() << "hal9000/worker:local is not built (scripts/build-images worker)";
    ::chmod(projects.path.c_str(), 0755);
    env.vars["WORKER_IMAGE"] = "hal9000/worker:local";
    env.vars["SKIP_IMAGE_PULL"] = "true";
    env.vars["ENABLE_POOL_MANAGER"] = "true";
    env.vars["MIN_WARM_WORKERS"] = "1";
    env.vars["MAX_WARM_WORKERS"] = "2";
    env.vars["WORKER_MEMORY"] = "1g";
    env.vars["WORKER_CPUS"] = "1";
    env.vars["WORKER_PIDS_LIMIT"] = "200";
    auto r = env.claudy("daemon start");
    ASSERT_EQ(r.rc, 0) << r.out;
  }

  void TearDown() override {
    if (home.path.empty())
      return;
    for (auto& [s, token] : sessions)
      env.claudy((token.empty() ? "" : "--token-file " + token + " ") + "stop " + s);
    env.claudy("daemon stop --all");
    for (auto& m : submounts)
      ::umount2(m.c_str(), MNT_DETACH);
    EXPECT_FALSE(late_bind::unmount_all_under(home.path));
    EXPECT_TRUE(late_bind::mounts_under(home.path).empty());
  }

  std::string project(const std::string& name, uid_t owner, mode_t mode = 0755) {
    auto dir = projects / name;
    ::mkdir(dir.c_str(), mode);
    ::chmod(dir.c_str(), mode);
    std::ofstream{dir + "/README"} << "hello\n";
    sh("chown -R " + std::to_string(owner) + ":" + std::to_string(owner) + " " + q(dir));
    return dir;
  }

  std::string add_user(const host_user& u) {
    auto r = env.claudy("setup --user " + u.login + " --no-key");
    EXPECT_EQ(r.rc, 0) << r.out;
    return home / ("auth/users/" + std::to_string(u.uid) + "/token");
  }

  started start(const std::string& tag, const std::string& dir, const std::string& token = "",
                const std::string& flags = "") {
    started s;
    s.name = tag + "-" + run_id();
    auto who = token.empty() ? "" : "--token-file " + token + " ";
    s.raw = env.claudy(who + "--json --detach --name " + s.name + " " + flags + " " + q(dir));
    if (s.raw.rc != 0)
      return s;
    sessions.emplace_back(s.name, token);
    auto j = nlohmann::json::parse(s.raw.out, nullptr, false);
    if (j.is_object()) {
      s.container = j.value("container_id", "");
      s.served = j.value("served", "");
    }
    return s;
  }

  void stop(const started& s) {
    for (auto& [name, token] : sessions)
      if (name == s.name) {
        auto r = env.claudy((token.empty() ? "" : "--token-file " + token + " ") + "stop "
                            + name);
        EXPECT_EQ(r.rc, 0) << r.out;
      }
  }

  // A command inside the session's container, as the image's user.
  run_result in(const started& s, const std::string& cmd) {
    int rc = 0;
    auto out = sh("docker exec " + s.container + " sh -c " + q(cmd) + " 2>&1", &rc);
    return {rc, out};
  }

  // The pool part of `claudy --json daemon status`.
  nlohmann::json pool() {
    auto j = nlohmann::json::parse(env.claudy("--json daemon status").out, nullptr, false);
    return j.is_object() && j.contains("pool") ? j["pool"] : nlohmann::json::object();
  }

  bool wait_warm() {
    return wait_for([&] { return pool().value("warm", 0) >= 1; }, 120s);
  }
};

// Claude Code's key for a path: every character but letters and digits -> '-'.
std::string key_of(const std::string& path) {
  std::string k;
  for (auto c : path)
    k += std::isalnum(static_cast<unsigned char>(c)) ? c : '-';
  return k;
}

} // namespace

TEST_F(identity, case01_files_belong_to_the_projects_owner_both_ways) {
  host_user u;
  ASSERT_FALSE(u.login.empty()) << "no free uid for a test user";
  auto token = add_user(u);
  struct proj {
    std::string label;
    std::string dir;
    uid_t owner;
    std::string token;
  };
  std::vector<proj> list{
    {"scratch0700", project("scratch", 0, 0700), 0, ""},  // mktemp -d, started by root
    {"root0755", project("root", 0), 0, ""},
    {"user", project("user", u.uid), u.uid, token},       // started by that user
  };
  for (auto& p : list) {
    SCOPED_TRACE(p.label);
    auto s = start("c01-" + p.label, p.dir, p.token);
    ASSERT_EQ(s.raw.rc, 0) << s.raw.out;
    ASSERT_FALSE(s.container.empty()) << s.raw.out;
    auto r = in(s, "ls /workspace");
    EXPECT_EQ(r.rc, 0) << r.out;
    EXPECT_NE(r.out.find("README"), std::string::npos) << r.out;
    // The session's files belong to the project's owner on the host...
    r = in(s, "echo from-session > /workspace/from-session && pwd");
    EXPECT_EQ(r.rc, 0) << r.out;
    EXPECT_EQ(owner_of(p.dir + "/from-session"), p.owner);
    // ... and the owner's files are the session's own.
    std::ofstream{p.dir + "/from-host"} << "from-host\n";
    ASSERT_EQ(::chown((p.dir + "/from-host").c_str(), p.owner, p.owner), 0);
    r = in(s, "stat -c %u /workspace/from-host && echo more >> /workspace/from-host");
    EXPECT_EQ(r.rc, 0) << r.out;
    EXPECT_EQ(trim(r.out), std::to_string(worker_uid));
    EXPECT_EQ(owner_of(p.dir + "/from-host"), p.owner);
    // The project's own path shows the same tree.
    auto workdir = late_bind::project_workdir(p.dir);
    r = in(s, "cat " + workdir + "/from-session");
    EXPECT_EQ(trim(r.out), "from-session") << r.out;
    stop(s);
  }
}

TEST_F(identity, case02_git_status_and_commit_without_safe_directory) {
  host_user u;
  ASSERT_FALSE(u.login.empty()) << "no free uid for a test user";
  auto token = add_user(u);
  auto make_repo = [&](const std::string& name, uid_t owner, mode_t mode) {
    auto dir = project(name, 0, mode);
    sh("cd " + q(dir) + " && git -c init.defaultBranch=main init -q && git add README"
       " && git -c user.name=t -c user.email=t@example.invalid -c commit.gpgsign=false"
       " commit -q -m host-commit && chown -R " + std::to_string(owner) + ":"
       + std::to_string(owner) + " .");
    return dir;
  };
  struct repo {
    std::string tag;
    std::string dir;
    uid_t owner;
    std::string token;
    std::string host_git;  // git on the host, as the repository's owner
  };
  for (auto& r : {repo{"c02u", make_repo("repo-user", u.uid, 0755), u.uid, token,
                       "runuser -u " + u.login + " -- git"},
                  repo{"c02r", make_repo("repo-root", 0, 0700), 0, "", "git"}}) {
    SCOPED_TRACE(r.dir);
    auto s = start(r.tag, r.dir, r.token);
    ASSERT_EQ(s.raw.rc, 0) << s.raw.out;
    auto x = in(s, "cd /workspace && git status --porcelain && git log -1 --format=%s");
    EXPECT_EQ(x.rc, 0) << x.out;
    EXPECT_NE(x.out.find("host-commit"), std::string::npos) << x.out;
    EXPECT_EQ(x.out.find("dubious"), std::string::npos) << x.out;
    // Git works in the project's own directory too, and commits.
    auto workdir = late_bind::project_workdir(r.dir);
    x = in(s, "cd " + workdir + " && echo new > new.txt && git add new.txt"
              " && git -c user.name=s -c user.email=s@example.invalid commit -q -m inside"
              " && git status --porcelain");
    EXPECT_EQ(x.rc, 0) << x.out;
    EXPECT_EQ(trim(x.out), "") << x.out;
    // No safe.directory override anywhere in the session's git config.
    x = in(s, "git config --show-origin --get-all safe.directory");
    EXPECT_NE(x.rc, 0) << "safe.directory is set: " << x.out;
    EXPECT_EQ(trim(sh(r.host_git + " -C " + q(r.dir) + " log -1 --format=%s 2>&1")), "inside");
    EXPECT_EQ(owner_of(r.dir + "/new.txt"), r.owner);
    EXPECT_EQ(owner_of(r.dir + "/.git/index"), r.owner);
    stop(s);
  }
}

TEST_F(identity, case03_a_mount_inside_the_project_is_there_warm_and_cold) {
  host_user u;
  ASSERT_FALSE(u.login.empty()) << "no free uid for a test user";
  auto token = add_user(u);
  auto dir = project("nested", u.uid);
  auto data = dir + "/data";
  ::mkdir(data.c_str(), 0755);
  ASSERT_EQ(::mount("h9test03", data.c_str(), "tmpfs", 0, "size=1m,mode=0755"), 0)
    << std::strerror(errno);
  submounts.push_back(data);
  std::ofstream{data + "/inner.txt"} << "nested\n";
  sh("chown -R " + std::to_string(u.uid) + ":" + std::to_string(u.uid) + " " + q(data));
  for (auto flags : {std::string{""}, std::string{"--no-limits"}}) {
    if (flags.empty()) {
      ASSERT_TRUE(wait_warm()) << "no warm worker within 120 s";
    }
    auto s = start(flags.empty() ? "c03w" : "c03c", dir, token, flags);
    ASSERT_EQ(s.raw.rc, 0) << s.raw.out;
    EXPECT_EQ(s.served, flags.empty() ? "warm" : "cold") << s.raw.out;
    SCOPED_TRACE(s.served);
    auto r = in(s, "cat /workspace/data/inner.txt");
    EXPECT_EQ(trim(r.out), "nested") << r.out;
    r = in(s, "cat " + late_bind::project_workdir(dir) + "/data/inner.txt");
    EXPECT_EQ(trim(r.out), "nested") << r.out;
    r = in(s, "echo w > /workspace/data/" + s.served + " && stat -c %u /workspace/data");
    EXPECT_EQ(r.rc, 0) << r.out;
    EXPECT_EQ(trim(r.out), std::to_string(worker_uid));
    EXPECT_EQ(owner_of(data + "/" + s.served), u.uid);
    stop(s);
    // The user's own mount stays on the host: with / shared (systemd), an
    // unmount at the session's teardown propagated back and took it away.
    struct stat top{}, inner{};
    ASSERT_EQ(::stat(dir.c_str(), &top), 0);
    ASSERT_EQ(::stat(data.c_str(), &inner), 0);
    EXPECT_NE(top.st_dev, inner.st_dev) << "stopping " << s.served
                                        << " session unmounted " << data << " on the host";
  }
}

TEST_F(identity, case12_each_project_its_own_claude_key_and_history) {
  auto a = project("proj-a", 0);
  auto b = project("proj-b", 0);
  auto pane = [&](const started& s) {
    std::string path;
    wait_for(
      [&] {
        auto r = in(s, "tmux display-message -p -t claude '#{pane_current_path}'");
        path = r.rc == 0 ? trim(r.out) : "";
        return !path.empty();
      },
      60s);
    return path;
  };
  auto sa = start("c12a", a);
  ASSERT_EQ(sa.raw.rc, 0) << sa.raw.out;
  auto sb = start("c12b", b);
  ASSERT_EQ(sb.raw.rc, 0) << sb.raw.out;
  auto cwd_a = pane(sa);
  auto cwd_b = pane(sb);
  EXPECT_EQ(cwd_a, late_bind::project_workdir(a));
  EXPECT_EQ(cwd_b, late_bind::project_workdir(b));
  ASSERT_NE(key_of(cwd_a), key_of(cwd_b));
  // /workspace is the same tree as the working directory.
  auto r = in(sa, "stat -c %d:%i /workspace " + cwd_a);
  auto nl = r.out.find('\n');
  ASSERT_NE(nl, std::string::npos) << r.out;
  EXPECT_EQ(r.out.substr(0, nl), trim(r.out.substr(nl + 1)));
  // A transcript in A's history, as Claude Code keeps it.
  auto marker = "transcript-" + run_id() + ".jsonl";
  r = in(sa, "d=$CLAUDE_CONFIG_DIR/projects/" + key_of(cwd_a) + " && mkdir -p $d && echo '{}' > $d/"
               + marker);
  ASSERT_EQ(r.rc, 0) << r.out;
  // B's history does not have it; on the host the two keys are two directories.
  r = in(sb, "ls $CLAUDE_CONFIG_DIR/projects/" + key_of(cwd_b) + "/ 2>/dev/null");
  EXPECT_EQ(r.out.find(marker), std::string::npos) << r.out;
  auto host_projects = home / "users/root/claude/projects/";
  EXPECT_EQ(owner_of(host_projects + key_of(cwd_a) + "/" + marker), 0u)
    << "root's Claude home belongs to root on disk";
  EXPECT_NE(::access((host_projects + key_of(cwd_b) + "/" + marker).c_str(), F_OK), 0);
  stop(sa);
  // A second session of A: the same key, A's history there to resume.
  auto sa2 = start("c12a2", a);
  ASSERT_EQ(sa2.raw.rc, 0) << sa2.raw.out;
  EXPECT_EQ(pane(sa2), cwd_a);
  r = in(sa2, "ls $CLAUDE_CONFIG_DIR/projects/" + key_of(cwd_a) + "/");
  EXPECT_NE(r.out.find(marker), std::string::npos) << r.out;
  stop(sa2);
  stop(sb);
}

TEST_F(identity, a_project_the_user_cannot_use_is_refused_before_any_worker) {
  host_user u;
  host_user other;
  ASSERT_FALSE(u.login.empty() || other.login.empty()) << "no free uid for a test user";
  auto token = add_user(u);
  ASSERT_TRUE(wait_warm());
  auto before = pool();
  // A directory they cannot enter (root's, 0700) with a project inside.
  auto locked = project("locked", 0, 0700);
  auto inner = locked + "/proj";
  ::mkdir(inner.c_str(), 0755);
  ::chown(inner.c_str(), u.uid, u.uid);
  auto r = env.claudy("--token-file " + token + " --detach " + q(inner));
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_NE(r.out.find("cannot enter " + locked), std::string::npos) << r.out;
  // A path under another user's private home.
  auto theirs = other.home + "/proj";
  sh("su " + other.login + " -c " + q("mkdir " + theirs));
  r = env.claudy("--token-file " + token + " --detach " + q(theirs));
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_NE(r.out.find("cannot enter " + other.home), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(theirs), std::string::npos) << r.out;
  // No worker was used: nothing claimed or busy, no session recorded.
  auto after = pool();
  EXPECT_EQ(after.value("busy", -1), 0) << after.dump();
  EXPECT_EQ(after.value("warm", -1), before.value("warm", -2)) << after.dump();
  EXPECT_EQ(before.value("busy", -1), 0);
  auto list = env.claudy("--json sessions --all");
  EXPECT_EQ(trim(list.out), "[]") << list.out;
}

TEST_F(identity, a_second_users_whole_flow_through_su) {
  host_user u;
  ASSERT_FALSE(u.login.empty()) << "no free uid for a test user";
  add_user(u);
  // Delivered where claudy looks by default, that user's own.
  auto delivered = u.home + "/.hal9000/auth/token";
  EXPECT_EQ(owner_of(delivered), u.uid);
  struct stat st {};
  ASSERT_EQ(::stat(delivered.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // The user's own project, made by them; claudy run by them with no variable.
  auto as_user = [&](const std::string& cmd) {
    int rc = 0;
    auto out = sh("su - " + u.login + " -c " + q(cmd) + " 2>&1", &rc);
    return run_result{rc, out};
  };
  auto claudy = bin("claudy");
  auto name = "su-" + run_id();
  auto r = as_user("mkdir proj && echo hi > proj/README");
  ASSERT_EQ(r.rc, 0) << r.out;
  r = as_user(claudy + " ~/proj --detach --name " + name);
  ASSERT_EQ(r.rc, 0) << r.out;
  sessions.emplace_back(name, home / ("auth/users/" + std::to_string(u.uid) + "/token"));
  r = as_user(claudy + " sessions");
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find(name), std::string::npos) << r.out;
  // Files the session writes are theirs on the host.
  int rc = 0;
  sh("docker exec " + name + " sh -c 'echo s > /workspace/from-session' 2>&1", &rc);
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(owner_of(u.home + "/proj/from-session"), u.uid);
  // Their Claude home belongs to them on disk.
  EXPECT_EQ(owner_of(home / ("users/uid-" + std::to_string(u.uid) + "/claude")), u.uid);
  r = as_user(claudy + " stop " + name);
  EXPECT_EQ(r.rc, 0) << r.out;
  r = as_user(claudy + " sessions");
  EXPECT_EQ(r.out.find(name), std::string::npos) << r.out;
}

// The owner rule beyond terminals: another user's stop is refused (exit 4,
// the session runs on); `claudy sessions` shows each user only their own
// (root: all); pool changes and daemon stop are root's (exit 4, the daemon
// answers on); the owner's own stop and root's work. Audit lines name the
// authenticated user.
TEST_F(identity, only_the_owner_or_root_stops_and_sees_a_session_and_only_root_runs_the_daemon) {
  host_user a;
  host_user b;
  ASSERT_FALSE(a.login.empty() || b.login.empty()) << "no free uid for a test user";
  add_user(a);
  add_user(b);
  auto as = [&](const host_user& u, const std::string& cmd) {
    int rc = 0;
    auto out = sh("su - " + u.login + " -c " + q(cmd) + " 2>&1", &rc);
    return run_result{rc, out};
  };
  auto claudy = bin("claudy") + " ";
  auto token_a = home / ("auth/users/" + std::to_string(a.uid) + "/token");
  auto running = [&](const std::string& name) {
    auto j = nlohmann::json::parse(env.claudy("--json sessions").out, nullptr, false);
    if (j.is_array())
      for (auto& s : j)
        if (s.value("name", "") == name)
          return s.value("state", "") == "running";
    return false;
  };
  ASSERT_EQ(as(a, "mkdir p1 p2").rc, 0);
  auto s1 = "own1-" + run_id();
  auto s2 = "own2-" + run_id();
  for (auto& [name, dir] : {std::pair{s1, "~/p1"}, std::pair{s2, "~/p2"}}) {
    auto r = as(a, claudy + dir + " --detach --name " + name);
    ASSERT_EQ(r.rc, 0) << r.out;
    sessions.emplace_back(name, token_a);
  }
  ASSERT_TRUE(running(s1));

  // B cannot stop A's session: exit 4 naming the rule, and it runs on.
  auto r = as(b, claudy + "stop " + s1);
  EXPECT_EQ(r.rc, 4) << r.out;
  EXPECT_NE(r.out.find("belongs to another user (only its owner or root may stop it)"),
            std::string::npos) << r.out;
  EXPECT_TRUE(running(s1));
  // The refusal is audited as B's token, not as what the client says.
  auto audit = sh("cat " + q(home / "logs/audit.log"));
  EXPECT_NE(audit.find("uid-" + std::to_string(b.uid) + " ("), std::string::npos) << audit;
  // The same wording as an attach's refusal.
  r = as(b, claudy + "logs " + s1);
  EXPECT_EQ(r.rc, 4) << r.out;
  EXPECT_NE(r.out.find("belongs to another user (only its owner or root may"),
            std::string::npos) << r.out;

  // Each user sees their own sessions; root sees every one.
  r = as(b, claudy + "sessions --all");
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_EQ(r.out.find(s1), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find(a.home), std::string::npos) << "B sees A's project path: " << r.out;
  r = as(a, claudy + "sessions");
  EXPECT_NE(r.out.find(s1), std::string::npos) << r.out;
  EXPECT_NE(env.claudy("sessions").out.find(s1), std::string::npos);

  // Pool changes and daemon stop are root's: exit 4, nothing changes.
  auto before = pool();
  for (auto cmd : {"pool scale 0", "pool stop", "pool start", "daemon stop",
                   "daemon stop --all"}) {
    SCOPED_TRACE(cmd);
    r = as(b, claudy + cmd);
    EXPECT_EQ(r.rc, 4) << r.out;
    EXPECT_NE(r.out.find("only root"), std::string::npos) << r.out;
  }
  EXPECT_EQ(env.claudy("daemon status").rc, 0) << "the daemon went away";
  EXPECT_TRUE(running(s1));
  EXPECT_EQ(pool().value("running", false), before.value("running", true));
  // Read-only queries stay open.
  EXPECT_EQ(as(b, claudy + "pool status").rc, 0);
  EXPECT_EQ(as(b, claudy + "daemon status").rc, 0);

  // The owner stops their own; root stops anyone's.
  r = as(a, claudy + "stop " + s1);
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_FALSE(running(s1));
  r = env.claudy("stop " + s2);
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_FALSE(running(s2));
}
