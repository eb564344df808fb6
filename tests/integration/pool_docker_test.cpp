// The warm pool against the real Docker engine: hal9000/test:busybox workers,
// a HAL9000_HOME in a fresh /tmp directory, every container labelled with
// test_labels(); TearDown removes the containers and unmounts everything
// before deleting a single file.
#include <gtest/gtest.h>

#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include <sys/stat.h>
#include <unistd.h>

#include <caf/all.hpp>

#include "actors/docker_actor.hpp"
#include "actors/pool_scaler.hpp"
#include "messages/error.hpp"
#include "runtime/late_bind.hpp"
#include "runtime/limits.hpp"
#include "support/temp_dir.hpp"
#include "support/test_env.hpp"

using namespace hal9000;
using namespace std::chrono_literals;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in{path};
  return {std::istreambuf_iterator<char>{in}, {}};
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
    s.pop_back();
  return s;
}

// Every transition, and the worst warm + creating of the warm pool seen.
struct transitions {
  std::mutex mtx;
  std::vector<worker_transition> all;
  std::map<std::string, std::string> state;
  uint32_t worst = 0;

  void add(const worker_transition& t) {
    std::lock_guard<std::mutex> guard{mtx};
    all.push_back(t);
    if (t.served == served_kind::cold)
      return;
    if (t.to == worker_state::gone)
      state.erase(t.worker_id);
    else
      state[t.worker_id] = to_string(t.to);
    uint32_t n = 0;
    for (auto& [id, s] : state)
      n += s == "warm" || s == "creating" ? 1 : 0;
    worst = std::max(worst, n);
  }
};

worker_observer_actor::behavior_type recording(worker_observer_actor::pointer,
                                               std::shared_ptr<transitions> rec) {
  return {[rec](worker_transition& t) { rec->add(t); }};
}

struct pool_docker : ::testing::Test {
  test::system_holder holder;
  caf::actor_system& sys = holder.sys;
  std::string home;
  docker::docker_actor docker;
  pool_actor pool;
  std::shared_ptr<transitions> rec = std::make_shared<transitions>();
  test::temp_dir projects;  // removed after TearDown unmounted everything

  void SetUp() override {
    if (::geteuid() != 0)
      GTEST_SKIP() << "late binding needs root";
    char tmpl[] = "/tmp/hal9000-pool-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    home = tmpl;
    docker = docker::spawn_docker(sys, docker::options{});
  }

  void TearDown() override {
    if (pool)
      caf::anon_send_exit(pool, caf::exit_reason::user_shutdown);
    if (docker)
      caf::anon_send_exit(docker, caf::exit_reason::user_shutdown);
    test::remove_test_containers();
    if (home.empty())
      return;
    // Unmount first: a project bound into a slot must never be deleted.
    EXPECT_FALSE(late_bind::unmount_all_under(home));
    if (late_bind::mounts_under(home).empty())
      test::sh("rm -rf '" + home + "'");
  }

  pool_options options(uint32_t min, uint32_t max) {
    pool_options o;
    o.home = home;
    o.daemon_id = "pooltest";
    o.image = "hal9000/test:busybox";
    o.user_uid = 0;  // busybox runs as root: projects are id-mapped to uid 0 in it
    o.user_gid = 0;
    o.limits = *parse_limits("64m", "0.5", "50");
    o.command = "echo \"$HAL9000_SESSION\" > /workspace/.hal9000-started; exec sleep 1000";
    o.enabled = true;
    o.min_warm = min;
    o.max_warm = max;
    o.max_creating = 2;
    o.claim_timeout = 60s;
    o.check_interval = 30s;
    o.network_mode = "none";
    o.extra_labels = test::test_labels();
    return o;
  }

  void start(pool_options o) {
    pool = spawn_pool(sys, std::move(o), docker, sys.spawn(recording, rec));
  }

  // Outside HAL9000_HOME: the pool refuses projects inside it.
  std::string project(const std::string& name) {
    auto dir = projects.path + "/" + name;
    test::sh("mkdir -p '" + dir + "'");
    std::ofstream{dir + "/host.txt"} << "from the host " << name << "\n";
    return dir;
  }

  template <class Result, class... Ts>
  caf::expected<Result> call(std::chrono::milliseconds timeout, Ts&&... xs) {
    caf::scoped_actor self{sys};
    caf::expected<Result> out{caf::sec::unexpected_response};
    self->request(pool, timeout, std::forward<Ts>(xs)...)
      .receive([&](Result& r) { out = std::move(r); },
               [&](caf::error& e) { out = std::move(e); });
    return out;
  }

  pool_status status() {
    auto s = call<pool_status>(5s, status_atom::value);
    EXPECT_TRUE(s) << error_message(s.error());
    return s ? *s : pool_status{};
  }

  caf::expected<claim_reply> claim(const std::string& name, const std::string& dir) {
    claim_request r;
    r.session_name = name;
    r.project_dir = dir;
    return call<claim_reply>(60s, claim_atom::value, r);
  }

  std::string docker_cli(const std::string& args) {
    return trim(test::sh("docker " + args + " 2>&1"));
  }

  size_t running_workers() {
    auto out = docker_cli("ps -q --filter label=hal9000.test=" + test::run_id()
                          + " --filter label=hal9000.role=worker");
    return out.empty() ? 0 : std::count(out.begin(), out.end(), '\n') + 1;
  }
};

} // namespace

TEST_F(pool_docker, min_is_maintained_with_labelled_hardened_workers) {
  start(options(2, 3));
  ASSERT_TRUE(test::wait_for([&] { return status().warm == 2; }, 15s));
  EXPECT_EQ(running_workers(), 2u);
  auto s = status();
  EXPECT_TRUE(s.late_bind) << s.late_bind_reason;
  EXPECT_EQ(s.creating, 0u);
  auto cid = s.workers.front().container_id;
  auto fmt = docker_cli("inspect " + cid + " --format "
                        "'{{.Name}} {{index .Config.Labels \"hal9000.managed\"}} "
                        "{{index .Config.Labels \"hal9000.daemon\"}} {{.HostConfig.CapDrop}} "
                        "{{.HostConfig.SecurityOpt}} {{.HostConfig.Init}} {{.HostConfig.Memory}}'");
  EXPECT_EQ(fmt, "/hal9000-warm-" + s.workers.front().id
                   + " true pooltest [ALL] [no-new-privileges:true] true 67108864");
  auto mounts = docker_cli("inspect " + cid + " --format "
                           "'{{range .Mounts}}{{.Destination}}={{.Propagation}} {{end}}'");
  EXPECT_NE(mounts.find("/workspace=rslave"), std::string::npos) << mounts;
  EXPECT_EQ(mounts.find("docker.sock"), std::string::npos);
}

TEST_F(pool_docker, claimed_worker_shares_the_project_both_ways_and_release_cleans) {
  start(options(1, 2));
  ASSERT_TRUE(test::wait_for([&] { return status().warm == 1; }, 15s));
  auto dir = project("p1");
  auto r = claim("sess-p1-" + test::run_id(), dir);
  ASSERT_TRUE(r) << error_message(r.error());
  EXPECT_EQ(r->served, served_kind::warm);
  EXPECT_GT(r->latency_us, 0);
  std::cout << "warm claim latency " << r->latency_us << " us\n";
  // The command ran in the project: its write is on the host.
  ASSERT_TRUE(test::wait_for([&] { return read_file(dir + "/.hal9000-started")
                                          == r->session_name + "\n"; }, 5s));
  EXPECT_EQ(docker_cli("exec " + r->container_id + " cat /workspace/host.txt"),
            "from the host p1");
  std::ofstream{dir + "/later.txt"} << "written after the claim\n";
  EXPECT_EQ(docker_cli("exec " + r->container_id + " cat /workspace/later.txt"),
            "written after the claim");
  docker_cli("exec " + r->container_id + " sh -c 'echo inside > /workspace/inside.txt'");
  EXPECT_EQ(read_file(dir + "/inside.txt"), "inside\n");
  EXPECT_EQ(docker_cli("inspect " + r->container_id + " --format '{{.Name}}'"),
            "/" + r->session_name);
  // The replacement refills to MIN.
  ASSERT_TRUE(test::wait_for([&] { return status().warm == 1; }, 5s));
  // Release: container gone, slot empty and gone, project untouched.
  auto slot = late_bind::slot_for(home, r->worker_id);
  auto done = call<worker_status>(30s, release_atom::value, r->session_name,
                                  std::string{"test done"});
  ASSERT_TRUE(done) << error_message(done.error());
  EXPECT_EQ(done->state, worker_state::gone);
  EXPECT_NE(docker_cli("inspect " + r->container_id).find("No such"), std::string::npos);
  EXPECT_FALSE(late_bind::inspect_mount(slot.workspace).mounted);
  EXPECT_NE(::access(slot.root.c_str(), F_OK), 0) << "slot directory removed";
  EXPECT_EQ(read_file(dir + "/host.txt"), "from the host p1\n");
  EXPECT_EQ(read_file(dir + "/inside.txt"), "inside\n");
  // Transitions reported to the observer in order.
  std::vector<std::string> seen;
  {
    std::lock_guard<std::mutex> guard{rec->mtx};
    for (auto& t : rec->all)
      if (t.worker_id == r->worker_id)
        seen.push_back(to_string(t.to));
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"creating", "warm", "claimed", "busy",
                                            "stopping", "gone"}));
}

TEST_F(pool_docker, per_claim_limits_are_applied) {
  start(options(1, 1));
  ASSERT_TRUE(test::wait_for([&] { return status().warm == 1; }, 15s));
  claim_request req;
  req.session_name = "sess-lim-" + test::run_id();
  req.project_dir = project("lim");
  req.has_limits = true;
  req.limits = *parse_limits("96m", "1", "64");
  auto r = call<claim_reply>(60s, claim_atom::value, req);
  ASSERT_TRUE(r) << error_message(r.error());
  EXPECT_EQ(r->served, served_kind::warm);
  EXPECT_EQ(r->limits.memory_text, "96m");
  EXPECT_EQ(r->limits.memory_bytes, 96ll << 20);
  EXPECT_EQ(docker_cli("inspect " + r->container_id + " --format "
                       "'{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}}'"),
            "100663296 1000000000 64");
}

TEST_F(pool_docker, killed_warm_worker_is_replaced_within_two_seconds) {
  start(options(2, 2));
  ASSERT_TRUE(test::wait_for([&] { return status().warm == 2; }, 15s));
  auto victim = status().workers.front();
  auto t0 = std::chrono::steady_clock::now();
  docker_cli("kill " + victim.container_id);
  ASSERT_TRUE(test::wait_for([&] {
    auto s = status();
    bool victim_present = false;
    for (auto& w : s.workers)
      victim_present |= w.id == victim.id && w.state != worker_state::failed;
    return s.warm == 2 && !victim_present;
  }, 2s)) << "not replaced within 2 s";
  std::cout << "replaced (warm again) after "
            << std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::steady_clock::now() - t0).count()
            << " ms\n";
  auto s = status();
  EXPECT_EQ(s.failed, 1u);
  bool reason_ok = false;
  for (auto& w : s.workers)
    reason_ok |= w.id == victim.id && w.reason.find("killed by signal 9") != std::string::npos;
  EXPECT_TRUE(reason_ok) << "the failure names the signal";
}

TEST_F(pool_docker, burst_of_twenty_claims_min_max_three) {
  auto o = options(3, 3);
  start(o);
  ASSERT_TRUE(test::wait_for([&] { return status().warm == 3; }, 15s));
  std::vector<std::string> dirs;
  for (int i = 0; i < 20; ++i)
    dirs.push_back(project("b" + std::to_string(i)));
  caf::scoped_actor self{sys};
  using handle = decltype(self->request(pool, 60s, claim_atom::value, claim_request{}));
  std::vector<handle> handles;
  for (int i = 0; i < 20; ++i) {
    claim_request r;
    r.session_name = "burst-" + std::to_string(i) + "-" + test::run_id();
    r.project_dir = dirs[i];
    handles.push_back(self->request(pool, 60s, claim_atom::value, r));
  }
  std::set<std::string> containers, workers;
  int warm = 0;
  for (size_t i = 0; i < handles.size(); ++i)
    handles[i].receive(
      [&](claim_reply& r) {
        containers.insert(r.container_id);
        workers.insert(r.worker_id);
        warm += r.served == served_kind::warm ? 1 : 0;
      },
      [&](caf::error& e) { ADD_FAILURE() << "claim " << i << ": " << error_message(e); });
  EXPECT_EQ(containers.size(), 20u) << "no container shared";
  EXPECT_EQ(workers.size(), 20u);
  std::cout << warm << " of 20 served warm\n";
  // Each session ran in its own project.
  for (int i = 0; i < 20; ++i)
    EXPECT_TRUE(test::wait_for([&] {
      return read_file(dirs[i] + "/.hal9000-started")
             == "burst-" + std::to_string(i) + "-" + test::run_id() + "\n";
    }, 5s)) << dirs[i];
  ASSERT_TRUE(test::wait_for([&] { return status().warm == 3; }, 10s));
  std::lock_guard<std::mutex> guard{rec->mtx};
  EXPECT_LE(rec->worst, 3u) << "warm + creating exceeded MAX";
}

TEST_F(pool_docker, cold_path_when_late_binding_is_off) {
  auto o = options(2, 3);
  o.force_cold = true;
  start(o);
  auto s = status();
  EXPECT_FALSE(s.late_bind);
  EXPECT_NE(s.late_bind_reason.find("switched off"), std::string::npos);
  EXPECT_EQ(s.creating + s.warm, 0u);
  auto dir = project("cold");
  auto r = claim("sess-cold-" + test::run_id(), dir);
  ASSERT_TRUE(r) << error_message(r.error());
  EXPECT_EQ(r->served, served_kind::cold);
  ASSERT_FALSE(r->warnings.empty());
  std::cout << "cold claim latency " << r->latency_us << " us\n";
  ASSERT_TRUE(test::wait_for([&] { return read_file(dir + "/.hal9000-started")
                                          == r->session_name + "\n"; }, 5s));
  EXPECT_EQ(docker_cli("exec " + r->container_id + " cat /workspace/host.txt"),
            "from the host cold");
  auto done = call<worker_status>(30s, release_atom::value, r->session_name,
                                  std::string{"test done"});
  ASSERT_TRUE(done) << error_message(done.error());
  EXPECT_EQ(read_file(dir + "/host.txt"), "from the host cold\n");
}

TEST_F(pool_docker, rename_can_finish_after_the_reply) {
  auto o = options(1, 1);
  o.rename_before_reply = false;
  start(o);
  ASSERT_TRUE(test::wait_for([&] { return status().warm == 1; }, 15s));
  auto dir = project("fast");
  auto r = claim("sess-fast-" + test::run_id(), dir);
  ASSERT_TRUE(r) << error_message(r.error());
  EXPECT_EQ(r->served, served_kind::warm);
  std::cout << "warm claim latency (rename after reply) " << r->latency_us << " us\n";
  EXPECT_TRUE(test::wait_for([&] {
    return docker_cli("inspect " + r->container_id + " --format '{{.Name}}'")
           == "/" + r->session_name;
  }, 2s));
  ASSERT_TRUE(test::wait_for([&] { return read_file(dir + "/.hal9000-started")
                                          == r->session_name + "\n"; }, 5s));
}

TEST_F(pool_docker, periodic_check_removes_orphan_warm_workers_of_this_daemon) {
  auto o = options(0, 1);
  o.check_interval = 500ms;
  start(o);
  // A warm worker left by an earlier pool of this daemon (never claimed).
  auto labels = std::string{" --label hal9000.test="} + test::run_id()
                + " --label hal9000.role=worker --label hal9000.daemon=pooltest"
                + " --label hal9000.managed=true --label hal9000.worker=orphan1";
  auto name = "hal9000-warm-orphan1-" + test::run_id();
  auto cid = docker_cli("run -d --network none --name " + name + labels
                        + " hal9000/test:busybox sleep 1000");
  ASSERT_EQ(cid.size(), 64u) << cid;
  // A renamed one (a session) of the same daemon is never touched.
  auto session = docker_cli("run -d --network none --name sess-keep-" + test::run_id()
                            + labels + "b hal9000/test:busybox sleep 1000");
  ASSERT_EQ(session.size(), 64u) << session;
  EXPECT_TRUE(test::wait_for([&] {
    return docker_cli("inspect " + cid).find("No such") != std::string::npos;
  }, 5s)) << "orphan not removed by the periodic check";
  EXPECT_EQ(docker_cli("inspect " + session + " --format '{{.State.Running}}'"), "true");
}

TEST_F(pool_docker, missing_image_fails_with_reason_and_backs_off) {
  auto o = options(2, 2);
  o.image = "hal9000/does-not-exist:nope";
  start(o);
  ASSERT_TRUE(test::wait_for([&] { return status().failed >= 1; }, 5s));
  auto s = status();
  bool named = false;
  for (auto& w : s.workers)
    named |= w.reason.find("image missing") != std::string::npos
             && w.reason.find("does-not-exist") != std::string::npos;
  EXPECT_TRUE(named) << "the failure names the image";
  // Backoff: 100 ms doubling, one probe at a time -> a handful in 1.5 s.
  std::this_thread::sleep_for(1500ms);  // measuring a rate, not synchronising
  auto failed = status().failed;
  EXPECT_LE(failed, 10u) << "creation failures must back off, got " << failed;
}

TEST_F(pool_docker, pool_stop_removes_warm_workers_and_keeps_sessions) {
  start(options(2, 2));
  ASSERT_TRUE(test::wait_for([&] { return status().warm == 2; }, 15s));
  auto r = claim("sess-stay-" + test::run_id(), project("stay"));
  ASSERT_TRUE(r) << error_message(r.error());
  auto stopped = call<pool_status>(10s, stop_atom::value);
  ASSERT_TRUE(stopped);
  EXPECT_FALSE(stopped->running);
  EXPECT_EQ(running_workers(), 1u) << "stop replies once the warm workers are gone";
  EXPECT_EQ(docker_cli("inspect " + r->container_id + " --format '{{.State.Running}}'"),
            "true");
  auto s = status();
  EXPECT_EQ(s.warm + s.creating, 0u);
  EXPECT_EQ(s.busy, 1u);
}

TEST_F(pool_docker, a_new_pool_releases_a_session_of_an_earlier_run) {
  start(options(1, 1));
  ASSERT_TRUE(test::wait_for([&] { return status().warm == 1; }, 15s));
  auto dir = project("restart");
  auto r = claim("sess-restart-" + test::run_id(), dir);
  ASSERT_TRUE(r) << error_message(r.error());
  ASSERT_TRUE(test::wait_for([&] { return status().warm == 1; }, 5s));
  auto warm_left = status().workers;
  // The daemon goes away without stopping the pool: session and warm worker stay.
  caf::scoped_actor self{sys};
  self->monitor(pool);
  self->send_exit(pool, caf::exit_reason::user_shutdown);
  self->receive([](const caf::down_msg&) {});
  ASSERT_EQ(running_workers(), 2u);
  // The next run: the orphan warm worker goes at once, the session is released by name.
  start(options(0, 1));
  EXPECT_TRUE(test::wait_for([&] { return running_workers() == 1; }, 5s))
    << "the earlier run's warm worker was not removed at start";
  auto slot = late_bind::slot_for(home, r->worker_id);
  EXPECT_TRUE(late_bind::inspect_mount(slot.workspace).mounted);
  auto done = call<worker_status>(30s, release_atom::value, r->session_name,
                                  std::string{"user"});
  ASSERT_TRUE(done) << error_message(done.error());
  EXPECT_EQ(done->state, worker_state::gone);
  EXPECT_EQ(running_workers(), 0u);
  EXPECT_FALSE(late_bind::inspect_mount(slot.workspace).mounted);
  EXPECT_NE(::access(slot.root.c_str(), F_OK), 0);
  EXPECT_EQ(read_file(dir + "/host.txt"), "from the host restart\n");
  auto missing = call<worker_status>(10s, release_atom::value, std::string{"no-such-session"},
                                     std::string{});
  ASSERT_FALSE(missing);
  EXPECT_EQ(error_code(missing.error()), errc::not_found);
}
