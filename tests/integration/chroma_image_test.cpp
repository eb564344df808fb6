// The hal9000/chromadb:local image served and watched by the monitor: the
// container is killed and restarted, and its data (on a volume) survives.
#include <atomic>

#include <gtest/gtest.h>

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/chroma_monitor.hpp"
#include "actors/docker_actor.hpp"
#include "messages/error.hpp"
#include "support/chroma_server.hpp"
#include "support/test_env.hpp"

using namespace hal9000;
using namespace hal9000::test;
using namespace std::chrono_literals;

namespace {

constexpr const char* image = "hal9000/chromadb:local";

chroma_status get_status(caf::actor_system& sys, const chroma_monitor_actor& m) {
  chroma_status result;
  caf::scoped_actor self{sys};
  self->request(m, 5s, status_atom::value)
    .receive([&](chroma_status& st) { result = std::move(st); },
             [&](caf::error& err) { ADD_FAILURE() << "status: " << error_message(err); });
  return result;
}

class chroma_image_test : public ::testing::Test {
protected:
  void SetUp() override {
    int rc = 0;
    sh("docker image inspect " + std::string{image} + " >/dev/null 2>&1", &rc);
    if (rc != 0)
      GTEST_SKIP() << image << " is not built: run scripts/build-images chromadb";
    name = "hal9000-test-chroma-" + run_id();
    port = free_loopback_port();
    ASSERT_NE(port, 0);
    auto labels = " --label " + std::string{test_label} + "=" + run_id();
    sh("docker volume create" + labels + " " + name + " >/dev/null", &rc);
    ASSERT_EQ(rc, 0);
    // Host network with CHROMADB_HOST/PORT: the image's own settings, and no
    // dependence on a bridge. Data on a volume, as the daemon runs it.
    auto out = sh("docker run -d" + labels + " --name " + name + " --network host"
                  + " -e CHROMADB_HOST=127.0.0.1 -e CHROMADB_PORT=" + std::to_string(port)
                  + " -v " + name + ":/data/chromadb " + image + " 2>&1",
                  &rc);
    ASSERT_EQ(rc, 0) << out;
    url = "http://127.0.0.1:" + std::to_string(port);
    ASSERT_TRUE(wait_for([&] { return http_get(url, "/api/v2/heartbeat").first == 200; }, 30s))
      << sh("docker logs " + name + " 2>&1 | tail -20");
  }
  void TearDown() override {
    if (monitor)
      caf::anon_send_exit(monitor, caf::exit_reason::user_shutdown);
    if (restarter)
      caf::anon_send_exit(restarter, caf::exit_reason::user_shutdown);
    // Handles keep (detached) actors alive: drop them before awaiting.
    monitor = nullptr;
    restarter = nullptr;
    sys_.reset();
    if (!name.empty()) {
      int rc = 0;
      sh("docker rm -f " + name + " >/dev/null 2>&1; docker volume rm " + name
           + " >/dev/null 2>&1",
         &rc);
    }
  }

  chroma::options fast_options() {
    chroma::options o;
    o.url = url;
    o.interval = 100ms;
    o.connect_timeout = 300ms;
    o.read_timeout = 1s;
    o.failure_threshold = 3;
    o.restart_backoff_min = 1s;
    o.restart_backoff_max = 4s;
    return o;
  }

  // Kills the container, waits for down then healthy again, checks the data.
  void kill_and_heal() {
    const std::string colls
      = "/api/v2/tenants/default_tenant/databases/default_database/collections";
    const std::string coll = "hal9000-image-" + run_id();
    auto [code, body] = http_post(url, colls, R"({"name": ")" + coll + R"("})");
    ASSERT_EQ(code, 200) << body;
    ASSERT_TRUE(wait_for([&] { return get_status(sys(), monitor).state == chroma::health::healthy; }, 10s));
    EXPECT_EQ(get_status(sys(), monitor).endpoint, "/api/v2/heartbeat");
    auto t0 = std::chrono::steady_clock::now();
    int rc = 0;
    sh("docker kill " + name + " >/dev/null", &rc);
    ASSERT_EQ(rc, 0);
    ASSERT_TRUE(wait_for(
      [&] {
        auto st = get_status(sys(), monitor);
        return st.state == chroma::health::down || st.restarts > 0;
      },
      3s));
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
    ASSERT_TRUE(wait_for(
      [&] {
        auto st = get_status(sys(), monitor);
        return st.state == chroma::health::healthy && st.restarts >= 1;
      },
      30s))
      << get_status(sys(), monitor).last_error;
    auto [code2, body2] = http_get(url, colls + "/" + coll);
    EXPECT_EQ(code2, 200) << body2;
  }

  caf::actor_system& sys() { return sys_->sys; }
  std::unique_ptr<system_holder> sys_ = std::make_unique<system_holder>();
  chroma_monitor_actor monitor;
  chroma_restarter_actor restarter;
  std::string name;
  std::string url;
  uint16_t port = 0;
};

} // namespace

TEST_F(chroma_image_test, container_is_healthy_killed_restarted_and_keeps_its_data) {
  // A restarter that starts the container with the docker CLI, on its own thread.
  auto calls = std::make_shared<std::atomic<int>>(0);
  auto ctr = name;
  restarter = sys().spawn<caf::detached>(
    [ctr, calls](chroma::restarter_actor::pointer) -> chroma::restarter_actor::behavior_type {
      return {[ctr, calls](chroma::restart_req&) -> caf::result<void> {
        ++*calls;
        int rc = 0;
        auto out = sh("docker start " + ctr + " 2>&1", &rc);
        if (rc != 0)
          return make_error(errc::unavailable, "docker start " + ctr + ": " + out);
        return caf::unit;
      }};
    });
  monitor = spawn_chroma_monitor(sys(), fast_options(), restarter);
  kill_and_heal();
  EXPECT_GE(calls->load(), 1);
}

TEST_F(chroma_image_test, docker_restarter_heals_through_the_docker_actor) {
  auto docker = docker::spawn_docker(sys(), docker::options{});
  {
    caf::scoped_actor self{sys()};
    bool up = false;
    self->request(docker, 5s, docker::ping_req{})
      .receive([&](std::string&) { up = true; }, [&](caf::error&) {});
    if (!up) {
      caf::anon_send_exit(docker, caf::exit_reason::user_shutdown);
      GTEST_SKIP() << "the docker actor does not answer ping yet";
    }
  }
  restarter = chroma::spawn_docker_restarter(sys(), docker, name, 2);
  monitor = spawn_chroma_monitor(sys(), fast_options(), restarter);
  kill_and_heal();
  caf::anon_send_exit(docker, caf::exit_reason::user_shutdown);
}
