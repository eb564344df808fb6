// The container a worker asks Docker for: labels, hardening, limits, mounts.
#include <gtest/gtest.h>

#include <algorithm>

#include "actors/worker.hpp"
#include "runtime/late_bind.hpp"
#include "runtime/limits.hpp"

using namespace hal9000;

namespace {

worker_options warm_opts() {
  worker_options o;
  o.id = "abc123";
  o.home = "/srv/hal";
  o.daemon_id = "d1";
  o.image = "hal9000/test:busybox";
  o.limits = *parse_limits("512m", "1.5", "64");
  o.network_mode = "container:hal9000-parent";
  o.extra_labels = {{"hal9000.test", "run-1"}};
  o.default_command = "sleep 1";
  return o;
}

const docker::mount_spec* mount_at(const docker::container_spec& s, const std::string& target) {
  auto i = std::find_if(s.mounts.begin(), s.mounts.end(),
                        [&](const docker::mount_spec& m) { return m.target == target; });
  return i == s.mounts.end() ? nullptr : &*i;
}

} // namespace

TEST(worker_spec, warm_worker_is_labelled_hardened_limited_and_late_bound) {
  auto s = worker_container_spec(warm_opts());
  EXPECT_EQ(s.name, "hal9000-warm-abc123");
  EXPECT_EQ(s.labels.at("hal9000.managed"), "true");
  EXPECT_EQ(s.labels.at("hal9000.role"), "worker");
  EXPECT_EQ(s.labels.at("hal9000.daemon"), "d1");
  EXPECT_EQ(s.labels.at("hal9000.worker"), "abc123");
  EXPECT_EQ(s.labels.at("hal9000.test"), "run-1");
  EXPECT_TRUE(s.init);
  EXPECT_EQ(s.cap_drop, std::vector<std::string>{"ALL"});
  EXPECT_TRUE(s.cap_add.empty());
  EXPECT_EQ(s.security_opt, std::vector<std::string>{"no-new-privileges:true"});
  EXPECT_EQ(s.memory, 512ll * 1024 * 1024);
  EXPECT_EQ(s.nano_cpus, 1500000000ll);
  EXPECT_EQ(s.pids_limit, 64);
  EXPECT_EQ(s.network_mode, "container:hal9000-parent");
  auto* ws = mount_at(s, "/workspace");
  ASSERT_NE(ws, nullptr);
  EXPECT_EQ(ws->source, "/srv/hal/mounts/abc123/workspace");
  EXPECT_EQ(ws->propagation, "rslave");
  auto* projects = mount_at(s, late_bind::container_projects);
  ASSERT_NE(projects, nullptr);
  EXPECT_EQ(projects->source, "/srv/hal/mounts/abc123/projects");
  EXPECT_EQ(projects->propagation, "rslave");
  auto* ctl = mount_at(s, late_bind::container_control_dir);
  ASSERT_NE(ctl, nullptr);
  EXPECT_EQ(ctl->source, "/srv/hal/mounts/abc123/control");
  auto* ep = mount_at(s, late_bind::container_entrypoint);
  ASSERT_NE(ep, nullptr);
  EXPECT_TRUE(ep->read_only);
  EXPECT_EQ(ep->source, "/srv/hal/bin/worker-entrypoint.sh");
  EXPECT_EQ(s.entrypoint, (std::vector<std::string>{"/bin/sh", late_bind::container_entrypoint}));
  for (auto& m : s.mounts)
    EXPECT_EQ(m.source.find("docker.sock"), std::string::npos);
  for (auto& b : s.binds)
    EXPECT_EQ(b.find("docker.sock"), std::string::npos);
}

TEST(worker_spec, cold_worker_binds_the_project_with_the_claims_limits) {
  auto o = warm_opts();
  o.cold = true;
  o.cold_claim.session_name = "s1";
  o.cold_claim.project_dir = "/home/u/proj";
  o.cold_claim.has_limits = true;
  o.cold_claim.limits = *parse_limits("1g", "2", "100");
  auto s = worker_container_spec(o);
  EXPECT_EQ(s.name, "hal9000-cold-abc123");
  // The project was mounted id-mapped into the slot before create: the
  // container binds that at /workspace and at the project's own path.
  auto* ws = mount_at(s, "/workspace");
  ASSERT_NE(ws, nullptr);
  EXPECT_EQ(ws->source, "/srv/hal/mounts/abc123/workspace");
  EXPECT_EQ(ws->propagation, "");
  auto* own = mount_at(s, late_bind::project_workdir("/home/u/proj"));
  ASSERT_NE(own, nullptr);
  EXPECT_EQ(own->source, ws->source);
  EXPECT_EQ(s.memory, 1024ll * 1024 * 1024);
  EXPECT_EQ(s.nano_cpus, 2000000000ll);
}

TEST(worker_spec, no_limits_means_none_set) {
  auto o = warm_opts();
  o.limits.enabled = false;
  auto s = worker_container_spec(o);
  EXPECT_EQ(s.memory, 0);
  EXPECT_EQ(s.nano_cpus, 0);
  EXPECT_EQ(s.pids_limit, 0);
}

TEST(worker_spec, remote_engine_cold_worker_runs_the_command_directly) {
  auto o = warm_opts();
  o.cold = true;
  o.local_control = false;
  o.cold_claim.session_name = "s2";
  o.cold_claim.project_dir = "/p";
  o.cold_claim.command = "echo hi";
  auto s = worker_container_spec(o);
  EXPECT_EQ(s.entrypoint, (std::vector<std::string>{"/bin/sh", "-c"}));
  EXPECT_EQ(s.cmd, std::vector<std::string>{"echo hi"});
  EXPECT_EQ(mount_at(s, late_bind::container_control_dir), nullptr)
    << "no host files the engine cannot see";
  EXPECT_NE(std::find(s.env.begin(), s.env.end(), "HAL9000_SESSION=s2"), s.env.end());
}

TEST(worker_spec, warm_worker_has_slots_for_a_users_home_and_secrets_and_the_volumes) {
  auto o = warm_opts();
  o.claude_home = "/home/claude/.claude";
  o.volumes = {{"volume", "hal9000-memorybank", "/data/membank", false, ""},
               {"volume", "hal9000-plugins", "/data/plugins", false, ""}};
  auto s = worker_container_spec(o);
  auto* home = mount_at(s, "/home/claude/.claude");
  ASSERT_NE(home, nullptr);
  EXPECT_EQ(home->source, "/srv/hal/mounts/abc123/claude");
  EXPECT_EQ(home->propagation, "rslave");
  EXPECT_FALSE(home->read_only);
  // The key never enters a worker (the credential proxy holds it).
  EXPECT_EQ(mount_at(s, "/run/secrets"), nullptr);
  auto* mb = mount_at(s, "/data/membank");
  ASSERT_NE(mb, nullptr);
  EXPECT_EQ(mb->type, "volume");
  EXPECT_EQ(mb->source, "hal9000-memorybank");
  ASSERT_NE(mount_at(s, "/data/plugins"), nullptr);
  EXPECT_NE(std::find(s.env.begin(), s.env.end(), "CLAUDE_CONFIG_DIR=/home/claude/.claude"),
            s.env.end());
  for (auto& e : s.env)
    EXPECT_EQ(e.find("ANTHROPIC"), std::string::npos) << e;
}

TEST(worker_spec, cold_worker_binds_the_claiming_users_directories) {
  auto o = warm_opts();
  o.claude_home = "/home/claude/.claude";
  o.cold = true;
  o.cold_claim.session_name = "s1";
  o.cold_claim.project_dir = "/home/alice/proj";
  o.cold_claim.user_id = "uid-1000";
  auto s = worker_container_spec(o);
  // users/uid-1000/{claude,secrets} were id-mapped into the slot before
  // create: the container binds the slot's copies.
  auto* home = mount_at(s, "/home/claude/.claude");
  ASSERT_NE(home, nullptr);
  EXPECT_EQ(home->source, "/srv/hal/mounts/abc123/claude");
  EXPECT_EQ(mount_at(s, "/run/secrets"), nullptr);
  // No user, no per-user mounts.
  o.cold_claim.user_id.clear();
  s = worker_container_spec(o);
  EXPECT_EQ(mount_at(s, "/home/claude/.claude"), nullptr);
  EXPECT_EQ(mount_at(s, "/run/secrets"), nullptr);
}
