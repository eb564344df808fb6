#include <gtest/gtest.h>

#include <map>

#include "messages/error.hpp"
#include "runtime/config.hpp"

using namespace hal9000;

namespace {

env_lookup env_of(std::map<std::string, std::string> vars) {
  if (!vars.count("HAL9000_HOME"))
    vars["HAL9000_HOME"] = "/nonexistent/hal9000-test-home";
  return [vars](const std::string& k) -> std::optional<std::string> {
    auto i = vars.find(k);
    if (i == vars.end())
      return std::nullopt;
    return i->second;
  };
}

} // namespace

TEST(config, defaults_match_the_reference) {
  auto cfg = load_config(env_of({}));
  ASSERT_TRUE(cfg) << error_message(cfg.error());
  EXPECT_EQ(cfg->worker_image, "ghcr.io/hellblazer/hal-9000:worker");
  EXPECT_EQ(cfg->chromadb_host, "0.0.0.0");
  EXPECT_EQ(cfg->chromadb_port, 8000);
  EXPECT_EQ(cfg->chromadb_data_dir, "/data/chromadb");
  EXPECT_FALSE(cfg->skip_image_pull);
  EXPECT_FALSE(cfg->lazy_image_pull);
  EXPECT_FALSE(cfg->enable_pool_manager);
  EXPECT_EQ(cfg->min_warm_workers, 2u);
  EXPECT_EQ(cfg->max_warm_workers, 5u);
  EXPECT_EQ(cfg->idle_timeout_s, 300u);
  EXPECT_EQ(cfg->check_interval_s, 30u);
  EXPECT_EQ(cfg->worker_memory, "4g");
  EXPECT_EQ(cfg->worker_cpus, "2");
  EXPECT_EQ(cfg->worker_pids_limit, "100");
  EXPECT_EQ(cfg->port, 7700);
}

TEST(config, environment_overrides_defaults) {
  auto cfg = load_config(env_of({{"ENABLE_POOL_MANAGER", "true"},
                                 {"MIN_WARM_WORKERS", "3"},
                                 {"WORKER_MEMORY", "8g"},
                                 {"CHROMADB_PORT", "8080"}}));
  ASSERT_TRUE(cfg) << error_message(cfg.error());
  EXPECT_TRUE(cfg->enable_pool_manager);
  EXPECT_EQ(cfg->min_warm_workers, 3u);
  EXPECT_EQ(cfg->worker_memory, "8g");
  EXPECT_EQ(cfg->chromadb_port, 8080);
}

TEST(config, bad_values_name_the_variable) {
  struct bad_case { const char* var; const char* value; };
  for (auto [var, value] : {bad_case{"MIN_WARM_WORKERS", "-1"},
                            bad_case{"MIN_WARM_WORKERS", "abc"},
                            bad_case{"MAX_WARM_WORKERS", "101"},
                            bad_case{"CHROMADB_PORT", "70000"},
                            bad_case{"ENABLE_POOL_MANAGER", "maybe"},
                            bad_case{"WORKER_MEMORY", "lots"},
                            bad_case{"WORKER_CPUS", "-1"},
                            bad_case{"WORKER_PIDS_LIMIT", "0"},
                            bad_case{"DOCKER_HOST", "ssh://x"},
                            bad_case{"HAL9000_DAEMON_MODE", "vm"},
                            bad_case{"HAL9000_HOST_HOME", "relative/path"}}) {
    auto cfg = load_config(env_of({{var, value}}));
    ASSERT_FALSE(cfg) << var << "=" << value;
    EXPECT_EQ(error_code(cfg.error()), errc::invalid_argument);
    EXPECT_NE(error_message(cfg.error()).find(var), std::string::npos)
      << error_message(cfg.error());
  }
}

TEST(config, min_above_max_is_refused) {
  auto cfg = load_config(env_of({{"MIN_WARM_WORKERS", "6"}}));
  ASSERT_FALSE(cfg);
  EXPECT_NE(error_message(cfg.error()).find("must not exceed"), std::string::npos);
}

TEST(config, tls_users_map_clients_to_local_users) {
  auto cfg = load_config(env_of({{"HAL9000_TLS_USERS", "laptop=alice,ci=1005"}}));
  ASSERT_TRUE(cfg) << error_message(cfg.error());
  EXPECT_EQ(cfg->tls_users, (std::map<std::string, std::string>{{"laptop", "alice"},
                                                                {"ci", "1005"}}));
  for (auto bad : {"laptop", "=alice", "laptop=", "a=b,,c"}) {
    auto x = load_config(env_of({{"HAL9000_TLS_USERS", bad}}));
    if (std::string{bad} == "a=b,,c") {
      EXPECT_FALSE(x) << bad;  // "c" has no '='
      continue;
    }
    ASSERT_FALSE(x) << bad;
    EXPECT_NE(error_message(x.error()).find("HAL9000_TLS_USERS"), std::string::npos)
      << error_message(x.error());
  }
}

TEST(config, the_daemon_mode_is_container_for_start_and_host_for_hal9000d) {
  auto unset = load_config(env_of({}));
  ASSERT_TRUE(unset);
  EXPECT_FALSE(runs_in_container(*unset));  // hal9000d run: a host process
  EXPECT_EQ(default_start_mode(*unset), "container");  // claudy daemon start
  auto host = load_config(env_of({{"HAL9000_DAEMON_MODE", "host"}}));
  ASSERT_TRUE(host);
  EXPECT_EQ(default_start_mode(*host), "host");
  auto inside = load_config(env_of({{"HAL9000_DAEMON_MODE", "container"},
                                    {"HAL9000_HOST_HOME", "/tmp/h"}}));
  ASSERT_TRUE(inside);
  EXPECT_TRUE(runs_in_container(*inside));
  EXPECT_EQ(inside->host_home, "/tmp/h");
  // daemon_env carries what a daemon elsewhere needs, and reads back the same.
  auto env = daemon_env(*inside);
  EXPECT_EQ(env.at("HAL9000_DAEMON_MODE"), "container");
  EXPECT_EQ(env.at("HAL9000_HOST_HOME"), "/tmp/h");
  EXPECT_EQ(env.at("HAL9000_LISTEN"), "127.0.0.1:7700");
  auto again = load_config([&](const std::string& k) -> std::optional<std::string> {
    auto i = env.find(k);
    return i == env.end() ? std::nullopt : std::optional<std::string>{i->second};
  });
  ASSERT_TRUE(again);
  EXPECT_EQ(daemon_env(*again), env);
}
