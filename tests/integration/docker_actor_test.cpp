// The docker actor against the real engine at /var/run/docker.sock.
#include <atomic>
#include <fstream>

#include <caf/scoped_actor.hpp>
#include <gtest/gtest.h>

#include "actors/docker_actor.hpp"
#include "support/docker_events.hpp"
#include "support/test_env.hpp"

using namespace hal9000;
using namespace hal9000::docker;
using namespace std::chrono_literals;
using test::ask;
using test::ask_void;

namespace {

constexpr const char* busybox = "hal9000/test:busybox";

std::string unique_name(const std::string& what) {
  static std::atomic<int> n{0};
  return "h9t-" + what + "-" + test::run_id() + "-" + std::to_string(++n);
}

struct DockerActorTest : ::testing::Test {
  test::system_holder h;
  caf::scoped_actor self{h.sys};
  docker_actor docker;

  void SetUp() override {
    options o;
    o.timeout = 20s;
    o.concurrency = 2;
    docker = spawn_docker(h.sys, o);
  }

  void TearDown() override {
    test::remove_test_containers();
    self->send_exit(docker, caf::exit_reason::user_shutdown);
  }

  container_spec sleeper(const std::string& name,
                         std::map<std::string, std::string> extra = {}) {
    container_spec s;
    s.name = name;
    s.image = busybox;
    s.cmd = {"sleep", "300"};
    s.labels = test::test_labels(std::move(extra));
    s.init = true;  // sleep ignores SIGTERM; tini does not
    s.network_mode = "none";
    return s;
  }

  std::string run(const container_spec& spec) {
    auto c = ask<container_created>(self, docker, create_req{spec});
    EXPECT_TRUE(c) << error_message(c.error());
    if (!c)
      return {};
    auto err = ask_void(self, docker, start_req{c->id});
    EXPECT_FALSE(err) << error_message(err);
    return c->id;
  }
};

} // namespace

TEST_F(DockerActorTest, PingVersionInfo) {
  auto p = ask<std::string>(self, docker, ping_req{});
  ASSERT_TRUE(p) << error_message(p.error());
  EXPECT_EQ(*p, "OK");
  auto v = ask<version_info>(self, docker, version_req{});
  ASSERT_TRUE(v) << error_message(v.error());
  EXPECT_FALSE(v->version.empty());
  EXPECT_FALSE(v->negotiated.empty());
  EXPECT_EQ(v->negotiated.rfind("1.", 0), 0u) << v->negotiated;
  auto i = ask<std::string>(self, docker, info_req{});
  ASSERT_TRUE(i) << error_message(i.error());
  EXPECT_NE(i->find("\"Containers\""), std::string::npos);
}

TEST_F(DockerActorTest, ImageInspectAndMissingImage) {
  auto i = ask<image_info>(self, docker, image_inspect_req{busybox});
  ASSERT_TRUE(i) << error_message(i.error());
  EXPECT_EQ(i->id.rfind("sha256:", 0), 0u);
  auto missing = "hal9000/missing-" + test::run_id() + ":nope";
  auto m = ask<image_info>(self, docker, image_inspect_req{missing});
  ASSERT_FALSE(m);
  EXPECT_EQ(error_code(m.error()), errc::not_found);
  EXPECT_NE(error_message(m.error()).find("no such image: " + missing), std::string::npos)
    << error_message(m.error());
}

TEST_F(DockerActorTest, PullWithoutRegistryFailsCleanly) {
  auto start = std::chrono::steady_clock::now();
  auto r = ask<image_info>(self, docker,
                           image_pull_req{"hal9000/not-pullable-" + test::run_id() + ":x", {}},
                           120s);
  ASSERT_FALSE(r);
  auto code = error_code(r.error());
  EXPECT_TRUE(code == errc::unavailable || code == errc::not_found)
    << to_string(code) << ": " << error_message(r.error());
  EXPECT_NE(error_message(r.error()).find("not-pullable-"), std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 60s);
}

TEST_F(DockerActorTest, ImportInspectRemoveImage) {
  auto dir = "/tmp/h9t-import-" + test::run_id();
  test::sh("mkdir -p " + dir + "/root && echo hello > " + dir + "/root/greeting && tar -C "
           + dir + "/root -cf " + dir + "/rootfs.tar .");
  auto tag = "hal9000/test-import:" + test::run_id();
  image_import_req req{dir + "/rootfs.tar", tag,
                       {"LABEL " + std::string{test::test_label} + "=" + test::run_id(),
                        "CMD [\"/greeting\"]"}};
  auto i = ask<image_info>(self, docker, req);
  test::sh("rm -rf " + dir);
  ASSERT_TRUE(i) << error_message(i.error());
  EXPECT_EQ(i->labels[test::test_label], test::run_id());
  ASSERT_FALSE(i->tags.empty());
  EXPECT_EQ(i->tags.front(), tag);
  EXPECT_FALSE(ask_void(self, docker, image_remove_req{tag, true}));
  auto gone = ask<image_info>(self, docker, image_inspect_req{tag});
  ASSERT_FALSE(gone);
  EXPECT_EQ(error_code(gone.error()), errc::not_found);
  auto bad = ask<image_info>(self, docker, image_import_req{"/nonexistent.tar", tag, {}});
  ASSERT_FALSE(bad);
  EXPECT_NE(error_message(bad.error()).find("/nonexistent.tar"), std::string::npos);
}

TEST_F(DockerActorTest, CreateWithFullSpecShowsInInspect) {
  auto dir = "/tmp/h9t-bind-" + test::run_id();
  test::sh("mkdir -p " + dir + "/a " + dir + "/b && echo from-host > " + dir + "/a/file");
  auto s = sleeper(unique_name("spec"), {{"role", "spec"}});
  s.env = {"GREETING=hi"};
  s.working_dir = "/tmp";
  s.user = "1000:1000";
  s.memory = 64 * 1024 * 1024;
  s.nano_cpus = 500000000;
  s.pids_limit = 50;
  s.binds = {dir + "/a:/data-a:ro"};
  s.mounts = {mount_spec{"bind", dir + "/b", "/data-b", false, "rprivate"}};
  s.cap_drop = {"ALL"};
  s.cap_add = {"CHOWN"};
  s.security_opt = {"no-new-privileges"};
  s.readonly_rootfs = true;
  s.tmpfs = {{"/tmp", "rw,size=16m"}};
  auto id = run(s);
  ASSERT_FALSE(id.empty());
  auto c = ask<container_info>(self, docker, inspect_req{id});
  ASSERT_TRUE(c) << error_message(c.error());
  EXPECT_EQ(c->name, s.name);
  EXPECT_TRUE(c->running);
  EXPECT_EQ(c->state, "running");
  EXPECT_GT(c->pid, 0);
  EXPECT_EQ(c->memory, s.memory);
  EXPECT_EQ(c->nano_cpus, s.nano_cpus);
  EXPECT_EQ(c->pids_limit, s.pids_limit);
  EXPECT_EQ(c->network_mode, "none");
  EXPECT_EQ(c->labels["role"], "spec");
  EXPECT_EQ(c->cap_drop, std::vector<std::string>{"ALL"});
  EXPECT_EQ(c->cap_add, std::vector<std::string>{"CHOWN"});
  EXPECT_EQ(c->security_opt, std::vector<std::string>{"no-new-privileges"});
  EXPECT_NE(std::find(c->env.begin(), c->env.end(), "GREETING=hi"), c->env.end());
  bool saw_a = false, saw_b = false;
  for (auto& m : c->mounts) {
    if (m.target == "/data-a") {
      saw_a = true;
      EXPECT_TRUE(m.read_only);
    }
    if (m.target == "/data-b") {
      saw_b = true;
      EXPECT_EQ(m.propagation, "rprivate");
    }
  }
  EXPECT_TRUE(saw_a && saw_b);
  // What the engine really applied, seen from inside.
  auto e = ask<exec_result>(self, docker,
                            exec_req{id, {"sh", "-c", "cat /data-a/file; id -u; pwd; "
                                                      "touch /x 2>/dev/null || echo ro"},
                                     {}, "", "", false});
  ASSERT_TRUE(e) << error_message(e.error());
  EXPECT_EQ(e->out, "from-host\n1000\n/tmp\nro\n");
  EXPECT_EQ(e->exit_code, 0);
  test::sh("rm -rf " + dir);
}

TEST_F(DockerActorTest, PortBindingsReachTheEngine) {
  // This engine may have no usable bridge (no docker0), so check what the
  // engine recorded rather than starting the container.
  auto s = sleeper(unique_name("ports"));
  s.network_mode = "bridge";
  s.ports = {port_binding{8080, "tcp", "127.0.0.1", 18080}, port_binding{53, "udp", "127.0.0.1", 0}};
  auto c = ask<container_created>(self, docker, create_req{s});
  ASSERT_TRUE(c) << error_message(c.error());
  auto pb = test::sh("docker inspect --format '{{json .HostConfig.PortBindings}}' " + c->id);
  EXPECT_NE(pb.find(R"("8080/tcp":[{"HostIp":"127.0.0.1","HostPort":"18080"}])"), std::string::npos) << pb;
  EXPECT_NE(pb.find(R"("53/udp":[{"HostIp":"127.0.0.1","HostPort":""}])"), std::string::npos) << pb;
  auto ex = test::sh("docker inspect --format '{{json .Config.ExposedPorts}}' " + c->id);
  EXPECT_NE(ex.find("8080/tcp"), std::string::npos) << ex;
}

TEST_F(DockerActorTest, NameConflictIsAlreadyExists) {
  auto s = sleeper(unique_name("dup"));
  auto first = ask<container_created>(self, docker, create_req{s});
  ASSERT_TRUE(first) << error_message(first.error());
  auto second = ask<container_created>(self, docker, create_req{s});
  ASSERT_FALSE(second);
  EXPECT_EQ(error_code(second.error()), errc::already_exists);
  EXPECT_EQ(error_message(second.error()), "name already in use: " + s.name);
}

TEST_F(DockerActorTest, CreateFromMissingImageIsNotFound) {
  auto s = sleeper(unique_name("noimg"));
  s.image = "hal9000/missing-" + test::run_id() + ":v1";
  auto r = ask<container_created>(self, docker, create_req{s});
  ASSERT_FALSE(r);
  EXPECT_EQ(error_code(r.error()), errc::not_found);
  EXPECT_EQ(error_message(r.error()), "no such image: " + s.image);
}

TEST_F(DockerActorTest, MissingContainerIsNotFound) {
  auto name = unique_name("ghost");
  auto r = ask<container_info>(self, docker, inspect_req{name});
  ASSERT_FALSE(r);
  EXPECT_EQ(error_code(r.error()), errc::not_found);
  EXPECT_EQ(error_message(r.error()), "no such container: " + name);
  auto err = ask_void(self, docker, start_req{name});
  EXPECT_EQ(error_code(err), errc::not_found);
}

TEST(DockerActorUnreachable, UnreachableSocketIsUnavailableNamingThePath) {
  test::system_holder h;
  caf::scoped_actor self{h.sys};
  options o;
  o.host = "unix:///tmp/h9t-no-engine-" + test::run_id() + ".sock";
  o.timeout = 2s;
  auto d = spawn_docker(h.sys, o);
  auto start = std::chrono::steady_clock::now();
  auto r = ask<std::string>(self, d, ping_req{});
  ASSERT_FALSE(r);
  EXPECT_EQ(error_code(r.error()), errc::unavailable);
  EXPECT_EQ(error_message(r.error()),
            "cannot reach the Docker engine at " + o.host + ": no such file or directory");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  // Every operation fails the same way, none hangs.
  auto c = ask<container_created>(self, d, create_req{container_spec{}});
  EXPECT_EQ(error_code(c.error()), errc::unavailable);
  self->send_exit(d, caf::exit_reason::user_shutdown);
}

TEST_F(DockerActorTest, StartStopKillRemove) {
  auto id = run(sleeper(unique_name("life")));
  ASSERT_FALSE(id.empty());
  // Starting a running container is fine (the engine says 304).
  EXPECT_FALSE(ask_void(self, docker, start_req{id}));
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(ask_void(self, docker, stop_req{id, 10}));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);  // init forwards SIGTERM
  auto c = ask<container_info>(self, docker, inspect_req{id});
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->running);
  EXPECT_EQ(c->state, "exited");
  // Killing a stopped container is a conflict, not a success.
  auto k = ask_void(self, docker, kill_req{id, "KILL"});
  EXPECT_EQ(error_code(k), errc::conflict) << error_message(k);
  EXPECT_FALSE(ask_void(self, docker, start_req{id}));
  EXPECT_FALSE(ask_void(self, docker, kill_req{id, "KILL"}));
  auto w = ask<int64_t>(self, docker, wait_req{id, 10});
  ASSERT_TRUE(w) << error_message(w.error());
  EXPECT_EQ(*w, 137);
  EXPECT_FALSE(ask_void(self, docker, remove_req{id, true, false}));
  auto gone = ask<container_info>(self, docker, inspect_req{id});
  EXPECT_EQ(error_code(gone.error()), errc::not_found);
}

TEST_F(DockerActorTest, RemoveForceRemovesARunningContainer) {
  auto id = run(sleeper(unique_name("force")));
  ASSERT_FALSE(id.empty());
  auto refused = ask_void(self, docker, remove_req{id, false, false});
  EXPECT_EQ(error_code(refused), errc::conflict) << error_message(refused);
  EXPECT_FALSE(ask_void(self, docker, remove_req{id, true, false}));
  EXPECT_EQ(test::sh("docker ps -aq --filter id=" + id), "");
}

TEST_F(DockerActorTest, ListByExactLabelsReturnsOnlyMatches) {
  auto a = ask<container_created>(self, docker,
                                  create_req{sleeper(unique_name("la"), {{"h9t.group", "a"}})});
  auto ab = ask<container_created>(
    self, docker, create_req{sleeper(unique_name("lab"), {{"h9t.group", "ab"}})});
  auto none = ask<container_created>(self, docker, create_req{sleeper(unique_name("lnone"))});
  ASSERT_TRUE(a && ab && none);
  auto l = ask<std::vector<container_summary>>(self, docker,
                                               list_req{test::test_labels({{"h9t.group", "a"}}), true});
  ASSERT_TRUE(l) << error_message(l.error());
  ASSERT_EQ(l->size(), 1u);
  EXPECT_EQ(l->front().id, a->id);
  EXPECT_EQ(l->front().labels["h9t.group"], "a");
  EXPECT_EQ(l->front().state, "created");
  // An empty value selects by the key's presence.
  auto keyed = ask<std::vector<container_summary>>(
    self, docker, list_req{test::test_labels({{"h9t.group", ""}}), true});
  ASSERT_TRUE(keyed);
  EXPECT_EQ(keyed->size(), 2u);
  auto all = ask<std::vector<container_summary>>(self, docker, list_req{test::test_labels(), true});
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 3u);
  auto running = ask<std::vector<container_summary>>(self, docker,
                                                     list_req{test::test_labels(), false});
  ASSERT_TRUE(running);
  EXPECT_EQ(running->size(), 0u);
}

TEST_F(DockerActorTest, RenameAndConflictingRename) {
  auto id = run(sleeper(unique_name("old")));
  auto other = unique_name("other");
  ASSERT_TRUE(ask<container_created>(self, docker, create_req{sleeper(other)}));
  auto fresh = unique_name("new");
  EXPECT_FALSE(ask_void(self, docker, rename_req{id, fresh}));
  auto c = ask<container_info>(self, docker, inspect_req{id});
  ASSERT_TRUE(c);
  EXPECT_EQ(c->name, fresh);
  auto clash = ask_void(self, docker, rename_req{id, other});
  EXPECT_EQ(error_code(clash), errc::already_exists);
  EXPECT_EQ(error_message(clash), "name already in use: " + other);
}

TEST_F(DockerActorTest, UpdateChangesLimitsOfARunningContainer) {
  auto s = sleeper(unique_name("upd"));
  s.memory = 64 * 1024 * 1024;
  s.nano_cpus = 1000000000;
  s.pids_limit = 50;
  auto id = run(s);
  ASSERT_FALSE(id.empty());
  EXPECT_FALSE(ask_void(self, docker, update_req{id, 256 * 1024 * 1024, 500000000, 80}));
  auto c = ask<container_info>(self, docker, inspect_req{id});
  ASSERT_TRUE(c);
  EXPECT_EQ(c->memory, 256 * 1024 * 1024);
  EXPECT_EQ(c->nano_cpus, 500000000);
  EXPECT_EQ(c->pids_limit, 80);
  EXPECT_TRUE(c->running);
  // Only the given limit changes.
  EXPECT_FALSE(ask_void(self, docker, update_req{id, 0, 0, 90}));
  c = ask<container_info>(self, docker, inspect_req{id});
  ASSERT_TRUE(c);
  EXPECT_EQ(c->memory, 256 * 1024 * 1024);
  EXPECT_EQ(c->pids_limit, 90);
  auto bad = ask_void(self, docker, update_req{id, 1024, 0, 0});  // below the engine's floor
  EXPECT_EQ(error_code(bad), errc::invalid_argument) << error_message(bad);
}

TEST_F(DockerActorTest, ExecWithOutputAndExitCode) {
  auto id = run(sleeper(unique_name("exec")));
  ASSERT_FALSE(id.empty());
  auto r = ask<exec_result>(self, docker,
                            exec_req{id, {"sh", "-c", "echo out; echo err >&2; exit 7"},
                                     {"X=1"}, "", "/", false});
  ASSERT_TRUE(r) << error_message(r.error());
  EXPECT_EQ(r->out, "out\n");
  EXPECT_EQ(r->err, "err\n");
  EXPECT_EQ(r->exit_code, 7);
  EXPECT_FALSE(r->exec_id.empty());
  auto env = ask<exec_result>(self, docker,
                              exec_req{id, {"sh", "-c", "echo $X; whoami"}, {"X=42"}, "nobody",
                                       "", false});
  ASSERT_TRUE(env) << error_message(env.error());
  EXPECT_EQ(env->out, "42\nnobody\n");
  // Output bigger than one frame arrives whole.
  auto big = ask<exec_result>(self, docker,
                              exec_req{id, {"sh", "-c", "seq 1 20000"}, {}, "", "", false});
  ASSERT_TRUE(big);
  EXPECT_EQ(std::count(big->out.begin(), big->out.end(), '\n'), 20000);
  auto missing = ask<exec_result>(self, docker,
                                  exec_req{id, {"/no/such/binary"}, {}, "", "", false});
  // The runtime cannot start it: a failure either way, never exit code 0.
  if (missing) {
    EXPECT_NE(missing->exit_code, 0) << missing->out << missing->err;
  }
}

TEST_F(DockerActorTest, DetachedExecRunsInTheBackground) {
  auto id = run(sleeper(unique_name("detach")));
  ASSERT_FALSE(id.empty());
  auto r = ask<exec_result>(self, docker,
                            exec_req{id, {"sh", "-c", "sleep 0.2; touch /tmp/done"}, {}, "", "",
                                     true});
  ASSERT_TRUE(r) << error_message(r.error());
  EXPECT_EQ(r->exit_code, -1);
  EXPECT_TRUE(test::wait_for(
    [&] {
      auto e = ask<exec_result>(self, docker, exec_req{id, {"test", "-e", "/tmp/done"}, {}, "", "", false});
      return e && e->exit_code == 0;
    },
    5s));
}

TEST_F(DockerActorTest, WaitReturnsTheExitCodeAndTimesOut) {
  auto s = sleeper(unique_name("wait"));
  s.cmd = {"sh", "-c", "sleep 0.3; exit 3"};
  auto id = run(s);
  ASSERT_FALSE(id.empty());
  auto w = ask<int64_t>(self, docker, wait_req{id, 10});
  ASSERT_TRUE(w) << error_message(w.error());
  EXPECT_EQ(*w, 3);
  auto forever = run(sleeper(unique_name("waitlong")));
  auto t0 = std::chrono::steady_clock::now();
  auto late = ask<int64_t>(self, docker, wait_req{forever, 1});
  ASSERT_FALSE(late);
  EXPECT_EQ(error_code(late.error()), errc::deadline_exceeded);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  // The actor still answers after a timed-out call.
  EXPECT_TRUE(ask<std::string>(self, docker, ping_req{}));
}

TEST_F(DockerActorTest, LogsTail) {
  auto s = sleeper(unique_name("logs"));
  // stdout and stderr travel through separate pipes: pause so their order is known.
  s.cmd = {"sh", "-c",
           "for i in 1 2 3 4 5; do echo line$i; done; sleep 0.2; echo oops >&2; sleep 300"};
  auto id = run(s);
  ASSERT_FALSE(id.empty());
  std::string text;
  EXPECT_TRUE(test::wait_for(
    [&] {
      auto l = ask<std::string>(self, docker, logs_req{id, 3});
      text = l ? *l : error_message(l.error());
      return text.find("oops") != std::string::npos;
    },
    5s));
  EXPECT_EQ(text, "line4\nline5\noops\n");
}

TEST_F(DockerActorTest, VolumeCreateInspectRemove) {
  auto name = unique_name("vol");
  auto v = ask<volume_info>(self, docker,
                            volume_create_req{name, test::test_labels({{"h9t.kind", "vol"}})});
  ASSERT_TRUE(v) << error_message(v.error());
  EXPECT_EQ(v->name, name);
  EXPECT_EQ(v->driver, "local");
  auto i = ask<volume_info>(self, docker, volume_inspect_req{name});
  ASSERT_TRUE(i) << error_message(i.error());
  EXPECT_EQ(i->labels["h9t.kind"], "vol");
  EXPECT_FALSE(i->mountpoint.empty());
  EXPECT_FALSE(ask_void(self, docker, volume_remove_req{name, false}));
  auto gone = ask<volume_info>(self, docker, volume_inspect_req{name});
  ASSERT_FALSE(gone);
  EXPECT_EQ(error_code(gone.error()), errc::not_found);
  EXPECT_EQ(error_message(gone.error()), "no such volume: " + name);
}

TEST_F(DockerActorTest, EventsStartDieDestroyAndKillFromOutsideWithinOneSecond) {
  auto log = std::make_shared<test::event_log>();
  auto sink = test::spawn_event_recorder(h.sys, log);
  auto group = test::test_labels({{"h9t.events", unique_name("ev")}});
  ASSERT_FALSE(ask_void(self, docker, subscribe_req{sink, group}));
  ASSERT_TRUE(log->wait_status(true, 0, 1s));
  auto s = sleeper(unique_name("victim"));
  s.labels = group;
  auto id = run(s);
  ASSERT_FALSE(id.empty());
  auto started = log->wait_event(
    [&](const event& e) { return e.id == id && e.action == "start"; }, 2s);
  ASSERT_TRUE(started);
  EXPECT_EQ(started->name, s.name);
  EXPECT_EQ(started->labels.at(test::test_label), test::run_id());
  auto t0 = std::chrono::steady_clock::now();
  int rc = 0;
  test::sh("docker kill " + id + " >/dev/null", &rc);
  ASSERT_EQ(rc, 0);
  auto died = log->wait_event([&](const event& e) { return e.id == id && e.action == "die"; },
                              1s);
  ASSERT_TRUE(died) << "no die event within 1 s of docker kill";
  EXPECT_EQ(died->exit_code, 137);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  EXPECT_FALSE(ask_void(self, docker, remove_req{id, true, false}));
  EXPECT_TRUE(log->wait_event(
    [&](const event& e) { return e.id == id && e.action == "destroy"; }, 2s));
  // A container without the subscriber's labels is not delivered.
  auto other = run(sleeper(unique_name("unrelated")));
  EXPECT_FALSE(ask_void(self, docker, kill_req{other, "KILL"}));
  EXPECT_FALSE(log->wait_event([&](const event& e) { return e.id == other; }, 300ms));
}

TEST_F(DockerActorTest, OomKillIsReported) {
  auto log = std::make_shared<test::event_log>();
  auto sink = test::spawn_event_recorder(h.sys, log);
  auto group = test::test_labels({{"h9t.events", unique_name("oom")}});
  ASSERT_FALSE(ask_void(self, docker, subscribe_req{sink, group}));
  auto s = sleeper(unique_name("hog"));
  s.labels = group;
  s.memory = 16 * 1024 * 1024;
  s.init = false;
  s.cmd = {"sh", "-c", "x=aaaaaaaaaaaaaaaa; while true; do x=$x$x; done"};
  auto id = run(s);
  ASSERT_FALSE(id.empty());
  EXPECT_TRUE(log->wait_event([&](const event& e) { return e.id == id && e.action == "oom"; },
                              20s));
  auto died = log->wait_event([&](const event& e) { return e.id == id && e.action == "die"; },
                              20s);
  ASSERT_TRUE(died);
  EXPECT_EQ(died->exit_code, 137);
  auto c = ask<container_info>(self, docker, inspect_req{id});
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->oom_killed);
}

TEST_F(DockerActorTest, ExitedSubscriberIsDroppedAndOthersStillServed) {
  auto log1 = std::make_shared<test::event_log>();
  auto log2 = std::make_shared<test::event_log>();
  auto sink1 = test::spawn_event_recorder(h.sys, log1);
  auto sink2 = test::spawn_event_recorder(h.sys, log2);
  auto group = test::test_labels({{"h9t.events", unique_name("subs")}});
  ASSERT_FALSE(ask_void(self, docker, subscribe_req{sink1, group}));
  ASSERT_FALSE(ask_void(self, docker, subscribe_req{sink2, group}));
  self->send_exit(sink1, caf::exit_reason::user_shutdown);
  ASSERT_FALSE(ask_void(self, docker, unsubscribe_req{sink2}));
  ASSERT_FALSE(ask_void(self, docker, subscribe_req{sink2, group}));
  auto s = sleeper(unique_name("subs"));
  s.labels = group;
  auto id = run(s);
  EXPECT_TRUE(log2->wait_event([&](const event& e) { return e.id == id; }, 2s));
  EXPECT_TRUE(log1->events.empty());
}

TEST_F(DockerActorTest, ConcurrentCallsBeyondTheWorkerCountAllComplete) {
  int ok = 0;
  for (int i = 0; i < 16; ++i)
    self->request(docker, 10s, ping_req{}).receive(
      [&](std::string& s) { ok += s == "OK"; }, [&](caf::error&) {});
  EXPECT_EQ(ok, 16);
  // Truly concurrent: many requests in flight, replies in any order.
  for (int i = 0; i < 16; ++i)
    self->send(docker, ping_req{});
  int replies = 0;
  self->receive_for(replies, 16)([&](std::string& s) { EXPECT_EQ(s, "OK"); });
}
