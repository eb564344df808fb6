// The guide's configuration examples against the default container mode, with
// the real images, the real hal9000d in <prefix>-parent and the real claudy
// (issue 15, a new user's trial):
//   - a changed CHROMADB_PORT recreates the namespace owner <prefix>-netns at
//     the next start when no session runs in it, and keeps it (saying what
//     differs, the command with the variable, how many sessions it ends) when
//     one does; settings that do not live in the owner (WORKER_MEMORY, the
//     pool) never count as different; a start on a running daemon names the
//     given settings it does not run with;
//   - session records name the parent container as "parent" and the
//     namespace owner as "netns";
//   - WORKER_CPUS / WORKER_MEMORY beyond the host (the engine's NCPU and
//     MemTotal) are refused at start with exit 2 and the daemon's words;
//   - SKIP_IMAGE_PULL skips only the pull: a missing WORKER_IMAGE falls back
//     to hal9000/worker:local, whose MCP label is looked at;
//   - refusals logged by an earlier filtering proxy are not reported again.
// Every name, port, HAL9000_HOME and daemon id is the test's own.
// HAL9000_TEST_PARENT_IMAGE names another parent image (default
// hal9000/parent:local).
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include "runtime/late_bind.hpp"
#include "support/chroma_server.hpp"
#include "support/cli_process.hpp"
#include "support/container_daemon.hpp"
#include "support/temp_dir.hpp"
#include "support/test_env.hpp"

using namespace hal9000;
using namespace hal9000::test;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class daemon_config_test : public container_daemon_test {
protected:
  daemon_config_test() : container_daemon_test("h9f") {}

  std::string notes(const json& st) {
    std::string out;
    if (st.contains("notes"))
      for (auto& n : st["notes"])
        out += n.get<std::string>() + "\n";
    return out;
  }

  run_result start(const std::string& extra_env = "") {
    return env_->run(extra_env + bin("claudy") + " daemon start --timeout 180");
  }

  run_result start_ok(const std::string& extra_env = "") {
    auto r = start(extra_env);
    EXPECT_EQ(r.rc, 0) << r.out << "\n--- docker logs:\n"
                       << sh("docker logs --tail 30 " + parent() + " 2>&1");
    return r;
  }

  /// ChromaDB's heartbeat from inside a worker (bash's /dev/tcp on its loopback).
  std::string heartbeat_from(const std::string& container, uint16_t port) {
    return sh("docker exec " + container
              + " timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/" + std::to_string(port)
              + "; printf \"GET /api/v2/heartbeat HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n\" >&3;"
                " cat <&3' 2>&1");
  }

  bool heartbeat_on_host(uint16_t port) {
    auto [code, body] = http_get("http://127.0.0.1:" + std::to_string(port), "/api/v2/heartbeat");
    return code == 200 && contains(body, "nanosecond heartbeat");
  }

  /// A warm session on project_ named <prefix>-<suffix>; the container name.
  std::string start_session(const std::string& suffix) {
    auto name = prefix_ + "-" + suffix;
    auto r = claudy("--json --via-parent " + project_.path + " --detach --name " + name);
    EXPECT_EQ(r.rc, 0) << r.out;
    return name;
  }

  json record(const std::string& name) {
    auto j = json::parse(read_all(home_.path + "/sessions/" + name + ".json"), nullptr, false);
    EXPECT_FALSE(j.is_discarded());
    return j.is_discarded() ? json::object() : j;
  }
};

// Defects 1, 4 and 7 of the trial: CHROMADB_PORT changed between starts.
TEST_F(daemon_config_test, a_changed_chromadb_port_recreates_the_owner_only_when_no_session_runs) {
  start_ok();
  auto name = start_session("s1");
  // The record names the parent container as the guide shows, the owner apart.
  auto rec = record(name);
  EXPECT_EQ(rec.value("parent", ""), parent()) << rec.dump(2);
  EXPECT_EQ(rec.value("netns", ""), netns()) << rec.dump(2);
  auto first_owner = inspect(netns(), "{{.Id}}");

  // Another port while the session runs: the owner is kept (the session
  // would be cut off), and start and status say what differs and how to
  // apply it with the variable.
  auto port2 = free_loopback_port();
  ASSERT_EQ(claudy("daemon stop").rc, 0);
  auto with_port2 = "CHROMADB_PORT=" + std::to_string(port2) + " ";
  auto r = start_ok(with_port2);
  EXPECT_EQ(inspect(netns(), "{{.Id}}"), first_owner);
  EXPECT_TRUE(contains(r.out, "CHROMADB_PORT=" + std::to_string(chroma_port_) + ", configured "
                                + std::to_string(port2)))
    << r.out;
  EXPECT_TRUE(contains(r.out, "kept, 1 session runs in its network namespace")) << r.out;
  EXPECT_TRUE(contains(r.out, "`claudy daemon stop --all; CHROMADB_PORT=" + std::to_string(port2)
                                + " claudy daemon start`, which ends those 1"))
    << r.out;
  EXPECT_FALSE(contains(r.out, "docker rm -f")) << r.out;
  auto st = status();
  EXPECT_EQ(st["parent"].value("state", ""), "different-config") << st.dump(2);
  EXPECT_TRUE(contains(notes(st), "kept, 1 session runs")) << st.dump(2);
  // The session still reaches ChromaDB where the owner publishes it.
  EXPECT_TRUE(contains(heartbeat_from(name, chroma_port_), "nanosecond heartbeat"));
  EXPECT_EQ(st["chromadb"].value("state", ""), "healthy") << st.dump(2);

  // A start on the running daemon with other settings: named, not ignored.
  r = start(with_port2 + "WORKER_MEMORY=768m ");
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "already running")) << r.out;
  EXPECT_TRUE(contains(r.out, "WORKER_MEMORY=768m (it runs with 512m)")) << r.out;
  EXPECT_TRUE(contains(r.out, "WORKER_MEMORY=768m claudy daemon restart")) << r.out;
  EXPECT_FALSE(contains(r.out, "CHROMADB_PORT=" + std::to_string(port2) + " (it runs")) << r.out;

  // The session ends; the next start recreates the owner with the new port.
  ASSERT_EQ(claudy("stop " + name).rc, 0);
  ASSERT_EQ(claudy("daemon stop").rc, 0);
  r = start_ok(with_port2);
  EXPECT_TRUE(contains(r.out, "no session ran in its network namespace: recreated it")) << r.out;
  EXPECT_NE(inspect(netns(), "{{.Id}}"), first_owner);
  EXPECT_TRUE(contains(inspect(netns(), "{{json .HostConfig.PortBindings}}"),
                       "\"HostPort\":\"" + std::to_string(port2) + "\""));
  EXPECT_TRUE(wait_for([&] { return heartbeat_on_host(port2); }, 60s));
  EXPECT_FALSE(heartbeat_on_host(chroma_port_));
  st = status();
  EXPECT_EQ(st["parent"].value("state", ""), "running") << st.dump(2);
  EXPECT_EQ(st["chromadb"].value("state", ""), "healthy") << st.dump(2);
  EXPECT_EQ(inspect(prefix_ + "-egress", "{{.HostConfig.NetworkMode}}"),
            "container:" + inspect(netns(), "{{.Id}}"));
  EXPECT_EQ(std::to_string(st["sandbox"].value("parent_pid", int64_t{0})),
            inspect(netns(), "{{.State.Pid}}")) << st.dump(2);

  // Settings that do not live in the owner never make it different: they
  // are the daemon's, applied by it.
  ASSERT_EQ(claudy("daemon stop").rc, 0);
  start_ok(with_port2 + "WORKER_MEMORY=768m MIN_WARM_WORKERS=2 ");
  st = status();
  EXPECT_EQ(st["parent"].value("state", ""), "running") << st.dump(2);
  EXPECT_FALSE(contains(notes(st), "runs with")) << st.dump(2);
  EXPECT_TRUE(wait_for([&] { return status()["pool"].value("warm", 0) >= 2; }, 120s));
  auto warm = trim(sh("docker ps -q --filter label=hal9000.daemon=" + env_->daemon_id
                      + " --filter label=hal9000.role=worker | head -1"));
  ASSERT_FALSE(warm.empty());
  EXPECT_EQ(inspect(warm, "{{.HostConfig.Memory}}"), std::to_string(768LL << 20));
}

// Defect 3: limits the host cannot give are refused at start, in the
// daemon's words, with exit 2, and nothing is left running.
TEST_F(daemon_config_test, worker_limits_beyond_the_host_are_refused_at_start) {
  auto ncpu = trim(sh("docker info --format '{{.NCPU}}'"));
  ASSERT_FALSE(ncpu.empty());
  auto too_many = std::to_string(std::stoi(ncpu) + 2);
  auto r = start("WORKER_CPUS=" + too_many + " ");
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_TRUE(contains(r.out, "WORKER_CPUS=" + too_many + " is more than the host has (" + ncpu
                                + " CPUs)"))
    << r.out;
  int rc = -1;
  sh("docker inspect " + parent() + " >/dev/null 2>&1", &rc);
  EXPECT_NE(rc, 0) << "the refused daemon's container was left";
  EXPECT_NE(claudy("daemon status").rc, 0);
  EXPECT_TRUE(late_bind::mounts_under(late_bind::mounts_dir(home_.path)).empty());

  auto mem = trim(sh("docker info --format '{{.MemTotal}}'"));
  ASSERT_FALSE(mem.empty());
  auto too_much = std::to_string(std::stoll(mem) * 2);
  r = start("WORKER_MEMORY=" + too_much + " ");
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_TRUE(contains(r.out, "WORKER_MEMORY=" + too_much + " is more than the host's memory"))
    << r.out;

  // A host process refuses the same way.
  r = env_->run("WORKER_CPUS=" + too_many + " " + bin("claudy")
                + " daemon start --host-process --timeout 60");
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_TRUE(contains(r.out, "WORKER_CPUS=" + too_many + " is more than the host has")) << r.out;
}

// Defects 2 and 5: SKIP_IMAGE_PULL with a WORKER_IMAGE this host lacks uses
// the local image (and looks at its MCP label); refusals an earlier proxy
// logged are not reported as new ones.
TEST_F(daemon_config_test, skip_image_pull_falls_back_and_old_refusals_are_not_replayed) {
  auto absent = "hal9000-test/absent-" + run_id() + ":worker";
  env_->vars["WORKER_IMAGE"] = absent;
  // An earlier run's proxy log with three refusals.
  auto log_dir = home_.path + "/egress/log";
  ASSERT_EQ(sh("mkdir -p " + log_dir + " && echo ok"), "ok\n");
  {
    std::ofstream log{log_dir + "/tinyproxy.log"};
    for (auto host : {"old1.test", "old2.test", "old3.test"})
      log << "NOTICE   Nov 30 23:00:00.000 [7]: Proxying refused on filtered domain \"" << host
          << "\"\n";
  }
  start_ok();
  auto st = status();
  auto n = notes(st);
  EXPECT_TRUE(contains(n, "worker image " + absent
                            + " is not present (SKIP_IMAGE_PULL: not pulled); using "
                              "hal9000/worker:local"))
    << n;
  EXPECT_FALSE(contains(n, "does not carry hal9000's MCP servers")) << n;
  EXPECT_FALSE(contains(n, "MCP servers: not configured")) << n;
  EXPECT_EQ(st["sandbox"].value("refusals", -1), 0) << st.dump(2);

  auto name = start_session("s1");
  EXPECT_EQ(inspect(name, "{{.Config.Image}}"), "hal9000/worker:local");
  EXPECT_EQ(record(name).value("image", ""), "hal9000/worker:local");

  // One new refusal through the filtering proxy: counted once, the three old
  // ones never.
  auto reply = sh("docker exec " + name
                  + " timeout 8 bash -c 'exec 3<>/dev/tcp/127.0.0.1/8002;"
                    " printf \"GET http://refused-new.test/ HTTP/1.0\\r\\nHost: refused-new.test"
                    "\\r\\n\\r\\n\" >&3; cat <&3' 2>&1");
  EXPECT_TRUE(contains(reply, "403")) << reply;
  ASSERT_TRUE(wait_for([&] { return status()["sandbox"].value("refusals", 0) >= 1; }, 30s))
    << status().dump(2);
  // The sandbox reads the log once a second: a replay would have come with
  // the same read as the new line.
  EXPECT_EQ(status()["sandbox"].value("refusals", -1), 1);
  auto events = claudy("events --json");
  EXPECT_TRUE(contains(events.out, "refused-new.test")) << events.out;
  EXPECT_FALSE(contains(events.out, "old1.test")) << events.out;
  // The old log was moved aside when <prefix>-egress was created.
  EXPECT_TRUE(contains(read_all(log_dir + "/tinyproxy.log.old"), "old1.test"));
}

} // namespace
