// What the parent keeper creates and how it compares what runs, without Docker.
#include <algorithm>

#include <gtest/gtest.h>

#include "actors/parent_spec.hpp"
#include "runtime/config.hpp"
#include "runtime/names.hpp"

using namespace hal9000;

namespace {

bool has(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

config sample_config() {
  config c;
  c.home = "/root/.hal9000";
  c.chromadb_port = 8080;
  c.worker_cpus = "4";
  c.daemon_id = "d1";
  return c;
}

// What inspect would tell about a container made from spec.
docker::container_info as_inspected(const docker::container_spec& s,
                                    const std::string& id) {
  docker::container_info c;
  c.id = id;
  c.name = s.name;
  c.image = s.image;
  c.running = true;
  c.state = "running";
  c.labels = s.labels;
  c.env = s.env;
  c.env.push_back("PATH=/usr/bin:/bin");  // the image's own variables
  c.network_mode = s.network_mode;
  if (c.network_mode.rfind("container:", 0) == 0)
    c.network_mode = "container:parent-id";  // the engine stores the id
  c.mounts = s.mounts;
  c.ports = s.ports;
  return c;
}

} // namespace

TEST(parent_spec, options_follow_the_configuration) {
  auto o = parent_options_from(sample_config());
  EXPECT_EQ(o.chromadb_port, 8080);
  EXPECT_EQ(o.parent_image, "hal9000/parent:local");
  EXPECT_EQ(o.chromadb_image, "hal9000/chromadb:local");
  EXPECT_EQ(o.daemon_id, "d1");
  EXPECT_EQ(o.env, to_env(sample_config()));
  EXPECT_EQ(parent_name(o), "hal9000-parent");
  EXPECT_EQ(chroma_name(o), "hal9000-chromadb");
  EXPECT_EQ(volume_names(o), (std::vector<std::string>{
                               "hal9000-chromadb", "hal9000-memorybank", "hal9000-plugins"}));
}

TEST(parent_spec, parent_carries_config_port_volumes_and_labels) {
  auto o = parent_options_from(sample_config());
  o.labels = {{"hal9000.test", "x"}};
  auto s = parent_spec(o);
  EXPECT_EQ(s.name, "hal9000-parent");
  EXPECT_EQ(s.image, "hal9000/parent:local");
  for (auto& [k, v] : to_env(sample_config()))
    EXPECT_TRUE(has(s.env, k + "=" + v)) << k;
  ASSERT_EQ(s.ports.size(), 1u);
  EXPECT_EQ(s.ports[0].container_port, 8080);
  EXPECT_EQ(s.ports[0].host_port, 8080);
  EXPECT_EQ(s.ports[0].host_ip, "127.0.0.1");
  ASSERT_EQ(s.mounts.size(), 3u);
  EXPECT_EQ(s.mounts[0].source, "hal9000-chromadb");
  EXPECT_EQ(s.mounts[0].target, "/data/chromadb");
  EXPECT_EQ(s.mounts[1].source, "hal9000-memorybank");
  EXPECT_EQ(s.mounts[1].target, "/data/membank");
  EXPECT_EQ(s.mounts[2].source, "hal9000-plugins");
  EXPECT_EQ(s.mounts[2].target, "/data/plugins");
  for (auto& m : s.mounts)
    EXPECT_EQ(m.type, "volume");
  EXPECT_TRUE(s.binds.empty());  // never the Docker socket
  EXPECT_TRUE(s.init);
  EXPECT_EQ(s.labels.at("hal9000.managed"), "true");
  EXPECT_EQ(s.labels.at("hal9000.role"), "parent");
  EXPECT_EQ(s.labels.at("hal9000.daemon"), "d1");
  EXPECT_EQ(s.labels.at("hal9000.test"), "x");
}

TEST(parent_spec, chromadb_joins_the_parent_with_its_volume) {
  auto o = parent_options_from(sample_config());
  o.name_prefix = "h9t-1";
  auto s = chroma_spec(o, configured_chroma(o));
  EXPECT_EQ(s.name, "h9t-1-chromadb");
  EXPECT_EQ(s.network_mode, "container:h9t-1-parent");
  EXPECT_TRUE(s.ports.empty());
  EXPECT_TRUE(has(s.env, "CHROMADB_PORT=8080"));
  EXPECT_TRUE(has(s.env, "CHROMADB_HOST=0.0.0.0"));
  EXPECT_TRUE(has(s.env, "CHROMADB_DATA_DIR=/data/chromadb"));
  ASSERT_EQ(s.mounts.size(), 1u);
  EXPECT_EQ(s.mounts[0].source, "h9t-1-chromadb");
  EXPECT_EQ(s.labels.at("hal9000.role"), "chromadb");
  // The image's data dir is chroma's: its own user, no capability.
  EXPECT_EQ(s.user, "");
  EXPECT_EQ(s.cap_drop, std::vector<std::string>{"ALL"});
  EXPECT_TRUE(s.cap_add.empty());
  EXPECT_EQ(s.security_opt, std::vector<std::string>{"no-new-privileges"});
  // Another data dir starts as root with only what the entrypoint needs to
  // hand the fresh volume to chroma and drop to it.
  auto custom = configured_chroma(o);
  custom.data_dir = "/var/lib/chroma";
  auto c = chroma_spec(o, custom);
  EXPECT_EQ(c.user, "0");
  EXPECT_EQ(c.cap_drop, std::vector<std::string>{"ALL"});
  EXPECT_EQ(c.cap_add, (std::vector<std::string>{"CHOWN", "SETUID", "SETGID"}));
  EXPECT_EQ(c.security_opt, std::vector<std::string>{"no-new-privileges"});
}

TEST(parent_spec, a_parent_made_from_the_spec_matches) {
  auto o = parent_options_from(sample_config());
  auto c = as_inspected(parent_spec(o), "parent-id");
  EXPECT_TRUE(parent_differences(o, c).empty());
  EXPECT_EQ(ownership_problem(o, c), "");
  auto chroma = as_inspected(chroma_spec(o, configured_chroma(o)), "c");
  EXPECT_EQ(chroma_mismatch(o, configured_chroma(o), "parent-id", chroma), "");
}

TEST(parent_spec, a_different_port_is_reported_with_the_fix) {
  auto old_cfg = sample_config();
  old_cfg.chromadb_port = 8000;
  auto running = as_inspected(parent_spec(parent_options_from(old_cfg)), "p");
  auto o = parent_options_from(sample_config());
  auto diffs = parent_differences(o, running);
  ASSERT_EQ(diffs.size(), 1u);  // the port binding follows from CHROMADB_PORT
  EXPECT_EQ(diffs[0], "CHROMADB_PORT=8000, configured 8080");
  // With sessions in its namespace: kept; the command carries the variable
  // and says how many sessions it ends.
  EXPECT_EQ(difference_note(o, diffs, 2),
            "hal9000-parent runs with CHROMADB_PORT=8000, configured 8080: kept, 2 sessions "
            "run in its network namespace (recreating it would cut them off); to apply it "
            "now run `claudy daemon stop --all; CHROMADB_PORT=8080 claudy daemon start`, "
            "which ends those 2 (start each again after with `claudy restart NAME`); "
            "otherwise the first `claudy daemon start` with no session running applies it");
  // Without: the next start recreates it; no docker rm -f, no lost variable.
  auto idle = difference_note(o, diffs, 0);
  EXPECT_NE(idle.find("the next `claudy daemon start` recreates it"), std::string::npos) << idle;
  EXPECT_EQ(idle.find("docker rm"), std::string::npos) << idle;
  // ChromaDB then keeps the parent's port.
  auto eff = chroma_from_env(running.env, configured_chroma(o));
  EXPECT_EQ(eff.port, 8000);
}

// Only what lives in the namespace owner counts: its published port. The
// daemon's other settings (limits, pool, images) in its environment are the
// configuration of the daemon that made it, applied by each daemon itself.
TEST(parent_spec, only_the_published_port_counts) {
  auto o = parent_options_from(sample_config());
  auto c = as_inspected(parent_spec(o), "p");
  for (auto kv : {"WORKER_CPUS=4", "WORKER_MEMORY=4g", "ENABLE_POOL_MANAGER=false",
                  "MIN_WARM_WORKERS=2"})
    c.env.erase(std::remove(c.env.begin(), c.env.end(), kv), c.env.end());
  c.env.push_back("WORKER_MEMORY=8g");
  c.env.push_back("ENABLE_POOL_MANAGER=true");
  c.env.push_back("MIN_WARM_WORKERS=3");
  EXPECT_TRUE(parent_differences(o, c).empty());
  c.ports.clear();
  auto diffs = parent_differences(o, c);
  ASSERT_EQ(diffs.size(), 1u);
  EXPECT_EQ(diffs[0], "publishes no port, configured 127.0.0.1:8080 -> 8080");
}

TEST(parent_spec, only_our_containers_are_ours) {
  auto o = parent_options_from(sample_config());
  auto c = as_inspected(parent_spec(o), "p");
  c.labels.erase("hal9000.managed");
  EXPECT_NE(ownership_problem(o, c).find("not made by hal9000"), std::string::npos);
  c = as_inspected(parent_spec(o), "p");
  c.labels["hal9000.daemon"] = "other";
  EXPECT_NE(ownership_problem(o, c).find("daemon 'other'"), std::string::npos);
}

TEST(parent_spec, chromadb_in_another_namespace_or_config_does_not_match) {
  auto o = parent_options_from(sample_config());
  auto s = configured_chroma(o);
  auto c = as_inspected(chroma_spec(o, s), "c");
  EXPECT_NE(chroma_mismatch(o, s, "new-parent-id", c), "");
  auto moved = s;
  moved.port = 9000;
  EXPECT_NE(chroma_mismatch(o, moved, "parent-id", c).find("CHROMADB_PORT"),
            std::string::npos);
  c.mounts.clear();
  EXPECT_NE(chroma_mismatch(o, s, "parent-id", c).find("not mounted"),
            std::string::npos);
}

TEST(parent_spec, engine_messages_for_a_taken_port) {
  EXPECT_TRUE(is_port_in_use(
    "driver failed programming external connectivity on endpoint x: Error starting "
    "userland proxy: listen tcp4 127.0.0.1:8000: bind: address already in use"));
  EXPECT_TRUE(is_port_in_use("Bind for 127.0.0.1:8000 failed: port is already allocated"));
  EXPECT_FALSE(is_port_in_use("no such image: x"));
}

TEST(parent_spec, a_missing_image_names_its_recipe) {
  EXPECT_EQ(missing_image_message("hal9000/parent:local", "hal9000/parent:local",
                                  "PARENT_IMAGE", "parent", ""),
            "image hal9000/parent:local not found and cannot be pulled: build it "
            "with scripts/build-images parent");
  auto other = missing_image_message("x/y:z", "hal9000/parent:local", "PARENT_IMAGE",
                                     "parent", "no registry");
  EXPECT_NE(other.find("check PARENT_IMAGE"), std::string::npos);
  EXPECT_NE(other.find("(pull: no registry)"), std::string::npos);
}

namespace {

const docker::mount_spec* mount_at(const docker::container_spec& s, const std::string& target) {
  for (auto& m : s.mounts)
    if (m.target == target)
      return &m;
  return nullptr;
}

} // namespace

TEST(parent_spec, the_namespace_owner_is_separate_when_the_daemon_runs_in_the_parent) {
  auto c = sample_config();
  c.parent_prefix = "p";
  EXPECT_EQ(parent_name(parent_options_from(c)), "p-parent");
  c.daemon_mode = daemon_mode_container;
  auto o = parent_options_from(c);
  EXPECT_TRUE(o.daemon_in_parent);
  EXPECT_EQ(parent_name(o), "p-netns");
  EXPECT_EQ(daemon_container_name("p"), "p-parent");
  EXPECT_EQ(parent_spec(o).name, "p-netns");
  EXPECT_EQ(chroma_spec(o, configured_chroma(o)).network_mode, "container:p-netns");
  EXPECT_EQ(egress_spec(o).network_mode, "container:p-netns");
  // The namespace owner's name is reserved for sessions too.
  EXPECT_TRUE(names::is_reserved("p-netns", "p"));
  EXPECT_TRUE(names::is_parent("p-netns", "p"));
}

TEST(parent_spec, the_egress_log_is_bound_from_where_the_engine_sees_it) {
  auto c = sample_config();
  c.home = "/root/.hal9000";
  c.host_home = "/srv/h";
  c.daemon_mode = daemon_mode_container;
  auto o = parent_options_from(c);
  EXPECT_EQ(o.egress_log_dir, "/root/.hal9000/egress/log");  // made by the daemon
  auto s = egress_spec(o);
  ASSERT_EQ(s.mounts.size(), 1u);
  EXPECT_EQ(s.mounts[0].source, "/srv/h/egress/log");  // bound by the engine
}

TEST(parent_spec, the_daemon_container_follows_the_guide) {
  auto c = sample_config();
  c.home = "/home/alice/.hal9000";
  c.parent_prefix = "p";
  c.port = 7711;
  daemon_host h;
  h.home = c.home;
  h.docker_socket = "/var/run/docker.sock";
  h.mounts_shared = true;
  h.roots = {{"/home", true}, {"/tmp", false}};
  auto s = daemon_spec(c, h);
  EXPECT_EQ(s.name, "p-parent");
  EXPECT_EQ(s.image, c.parent_image);
  EXPECT_EQ(s.cmd, (std::vector<std::string>{"hal9000d", "run"}));
  EXPECT_EQ(s.network_mode, "host");
  EXPECT_EQ(s.restart_policy, "on-failure");
  EXPECT_TRUE(s.init);
  EXPECT_EQ(s.labels.at("hal9000.role"), "daemon");
  EXPECT_EQ(s.labels.at("hal9000.daemon"), "d1");
  // The guide's environment, as the daemon inside sees it.
  for (auto kv : {"HAL9000_HOME=/root/.hal9000", "HAL9000_HOST_HOME=/home/alice/.hal9000",
                  "HAL9000_DAEMON_MODE=container", "WORKER_CPUS=4", "CHROMADB_PORT=8080",
                  "HAL9000_LISTEN=127.0.0.1:7711", "HAL9000_PARENT_PREFIX=p"})
    EXPECT_TRUE(has(s.env, kv)) << kv;
  // The guide's volumes, the roots at their own paths, mounts/ rshared.
  ASSERT_TRUE(mount_at(s, "/var/run/docker.sock"));
  EXPECT_EQ(mount_at(s, "/var/run/docker.sock")->source, "/var/run/docker.sock");
  ASSERT_TRUE(mount_at(s, "/root/.hal9000"));
  EXPECT_EQ(mount_at(s, "/root/.hal9000")->source, "/home/alice/.hal9000");
  ASSERT_TRUE(mount_at(s, "/root/.hal9000/mounts"));
  EXPECT_EQ(mount_at(s, "/root/.hal9000/mounts")->propagation, "rshared");
  ASSERT_TRUE(mount_at(s, "/home"));
  EXPECT_EQ(mount_at(s, "/home")->propagation, "rslave");
  ASSERT_TRUE(mount_at(s, "/tmp"));
  EXPECT_EQ(mount_at(s, "/tmp")->propagation, "");
  // The host's pid namespace: the sandbox enters <prefix>-netns by the pid
  // Docker reports. The host's users for NSS, read-only.
  EXPECT_EQ(s.pid_mode, "host");
  // The host's /etc as a directory (a file bind would pin the passwd of the
  // start: useradd replaces it), read-only, where the image's symlinks point.
  ASSERT_TRUE(mount_at(s, "/run/host/etc"));
  EXPECT_EQ(mount_at(s, "/run/host/etc")->source, "/etc");
  EXPECT_TRUE(mount_at(s, "/run/host/etc")->read_only);
  for (auto db : {"/etc/passwd", "/etc/group"})
    EXPECT_FALSE(mount_at(s, db)) << db;
  // Only what mount(2), setns(2), the egress filter and other users' files
  // need: none of Docker's other defaults.
  EXPECT_EQ(s.cap_drop, (std::vector<std::string>{"ALL"}));
  for (auto cap : {"SYS_ADMIN", "NET_ADMIN", "NET_RAW", "SYS_PTRACE", "SETUID", "SETGID",
                   "SETFCAP"})
    EXPECT_TRUE(has(s.cap_add, cap)) << cap;
  for (auto cap : {"MKNOD", "SYS_MODULE", "SYS_RAWIO", "NET_BIND_SERVICE", "FSETID"})
    EXPECT_FALSE(has(s.cap_add, cap)) << cap;
  EXPECT_TRUE(has(s.security_opt, "no-new-privileges"));
  // The upstream CA the credential proxy trusts, at its own path.
  EXPECT_FALSE(mount_at(s, "/etc/ssl/test-ca.pem"));
  c.proxy_ca = "/etc/ssl/test-ca.pem";
  ASSERT_TRUE(mount_at(daemon_spec(c, h), "/etc/ssl/test-ca.pem"));
  EXPECT_TRUE(mount_at(daemon_spec(c, h), "/etc/ssl/test-ca.pem")->read_only);
  // A private host mount: no rshared bind (Docker would refuse it).
  h.mounts_shared = false;
  EXPECT_EQ(mount_at(daemon_spec(c, h), "/root/.hal9000/mounts")->propagation, "");
}

TEST(parent_spec, only_a_daemon_container_of_ours_is_reused) {
  auto c = sample_config();
  c.parent_prefix = "p";
  daemon_host h;
  h.home = c.home;
  auto info = as_inspected(daemon_spec(c, h), "id1");
  EXPECT_EQ(daemon_container_problem(c, info), "");
  // A host daemon's namespace owner by the same name.
  auto owner = as_inspected(parent_spec(parent_options_from(c)), "id2");
  auto why = daemon_container_problem(c, owner);
  EXPECT_NE(why.find("--host-process"), std::string::npos) << why;
  info.labels["hal9000.daemon"] = "other";
  EXPECT_NE(daemon_container_problem(c, info).find("other"), std::string::npos);
}

TEST(parent_spec, engine_paths_move_only_the_state_directory) {
  EXPECT_EQ(engine_path("/root/.hal9000", "/tmp/h", "/root/.hal9000/mounts/w1/workspace"),
            "/tmp/h/mounts/w1/workspace");
  EXPECT_EQ(engine_path("/root/.hal9000", "/tmp/h", "/root/.hal9000"), "/tmp/h");
  EXPECT_EQ(engine_path("/root/.hal9000", "/tmp/h", "/root/.hal9000x/a"), "/root/.hal9000x/a");
  EXPECT_EQ(engine_path("/root/.hal9000", "/tmp/h", "/tmp/project"), "/tmp/project");
  EXPECT_EQ(engine_path("/root/.hal9000", "", "/root/.hal9000/bin"), "/root/.hal9000/bin");
  EXPECT_EQ(daemon_path("/root/.hal9000", "/tmp/h", "/tmp/h/mounts/w1"), "/root/.hal9000/mounts/w1");
}
