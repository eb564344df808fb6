#pragma once
// What the parent keeper wants on the engine, as plain values: names, labels,
// container specs, and the comparisons that decide whether what runs matches.
// No CAF here beyond the message types, so unit tests cover it without Docker.

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "messages/docker.hpp"

namespace hal9000 {

struct config;

struct parent_options {
  /// Containers <prefix>-parent and <prefix>-chromadb; volumes
  /// <prefix>-chromadb, <prefix>-memorybank, <prefix>-plugins.
  std::string name_prefix = "hal9000";
  std::string parent_image = "hal9000/parent:local";      // PARENT_IMAGE
  std::string chromadb_image = "hal9000/chromadb:local";  // CHROMADB_IMAGE
  std::string chromadb_host = "0.0.0.0";                  // CHROMADB_HOST
  uint16_t chromadb_port = 8000;                          // CHROMADB_PORT
  std::string chromadb_data_dir = "/data/chromadb";       // CHROMADB_DATA_DIR
  std::string daemon_id = "default";  // label hal9000.daemon
  /// The egress policy's filtering proxy, <prefix>-egress (images/egress),
  /// joined to the parent's namespace like ChromaDB. Empty image: none.
  std::string egress_image = "hal9000/egress:local";  // HAL9000_EGRESS_IMAGE
  std::string egress_allow;                           // HAL9000_EGRESS_ALLOW
  uint16_t egress_port = 8002;                        // HAL9000_EGRESS_PORT
  /// Host directory bound at /run/hal9000-egress/log (the daemon reads the
  /// refusals there): HAL9000_HOME/egress/log, owned by the proxy's uid.
  std::string egress_log_dir;
  /// The same directory as the engine sees it (bind source): differs when
  /// hal9000d runs in its container (HAL9000_HOST_HOME). "" = egress_log_dir.
  std::string egress_log_source;
  /// hal9000d itself runs in <prefix>-parent (HAL9000_DAEMON_MODE=container):
  /// the namespace workers join is then a separate owner, <prefix>-netns,
  /// that outlives the daemon's container (restarts, upgrades, resets).
  bool daemon_in_parent = false;
  /// The daemon's effective configuration (to_env(config)): the parent's
  /// environment. The fields above override their own keys in it.
  std::map<std::string, std::string> env;
  /// Added to every container and volume the keeper creates (tests:
  /// test_labels()).
  std::map<std::string, std::string> labels;
  /// Where CHROMADB_PORT is published on the host.
  std::string host_ip = "127.0.0.1";
  /// Timeout of one docker call; pulls get pull_timeout.
  std::chrono::milliseconds call_timeout{30000};
  std::chrono::milliseconds pull_timeout{600000};
  /// Grace period of a stop before SIGKILL.
  int32_t stop_timeout_s = 5;
};

/// Options for the daemon: images, ChromaDB settings and daemon id from cfg,
/// its to_env() as the parent's environment.
parent_options parent_options_from(const config& cfg);

// -- names and labels -------------------------------------------------------------

/// The container that owns the network namespace workers and ChromaDB join
/// ("container:<name>"): <prefix>-parent for a daemon on the host,
/// <prefix>-netns when the daemon runs in <prefix>-parent (container mode).
/// Sessions record it as their "parent". The one place this name is decided:
/// namespace_owner_name(cfg) and parent_name(o) follow the daemon's mode;
/// namespace_owner_name(prefix) is the host process's.
std::string namespace_owner_name(const std::string& prefix);
std::string namespace_owner_name(const config& cfg);

std::string parent_name(const parent_options& o);
/// The container hal9000d runs in (container mode): <prefix>-parent.
std::string daemon_container_name(const std::string& prefix);
std::string chroma_name(const parent_options& o);
std::string chroma_volume(const parent_options& o);
std::string egress_name(const parent_options& o);
std::string membank_volume(const parent_options& o);
std::string plugins_volume(const parent_options& o);
/// chromadb, memorybank, plugins, in that order.
std::vector<std::string> volume_names(const parent_options& o);

/// Memory Bank at /data/membank and plugins at /data/plugins, as every
/// worker (and the parent) mounts them.
std::vector<docker::mount_spec> worker_volumes(const parent_options& o);

/// hal9000.managed=true, hal9000.daemon=<id>, hal9000.role=<role> (when not
/// empty), plus o.labels.
std::map<std::string, std::string> labels_for(const parent_options& o,
                                              const std::string& role);

// -- what to create ------------------------------------------------------------------

/// ChromaDB's listen settings.
struct chroma_settings {
  std::string host;
  uint16_t port = 0;
  std::string data_dir;
};

chroma_settings configured_chroma(const parent_options& o);

/// The settings a running parent was created with (its CHROMADB_* variables),
/// each falling back to `fallback` when absent or unreadable.
chroma_settings chroma_from_env(const std::vector<std::string>& env,
                                const chroma_settings& fallback);

/// The parent's full expected environment: o.env with the fields' keys set.
std::map<std::string, std::string> parent_env(const parent_options& o);

docker::container_spec parent_spec(const parent_options& o);

/// ChromaDB joined to the parent's namespace ("container:<parent name>").
docker::container_spec chroma_spec(const parent_options& o,
                                   const chroma_settings& s);

/// The filtering proxy joined to the parent's namespace, as uid 64991 (the
/// only uid the packet filter lets out), hardened like ChromaDB.
docker::container_spec egress_spec(const parent_options& o);

// -- the daemon's own container (claudy daemon start) ----------------------------------

/// HAL9000_HOME inside the daemon's container, as the reference says.
constexpr const char* daemon_home_in_container = "/root/.hal9000";
/// Where the host's /etc is bound (read-only) in the daemon's container; the
/// parent image's /etc/passwd and /etc/group are symlinks to the files there.
constexpr const char* daemon_host_etc = "/run/host/etc";

/// What `claudy daemon start` found on the host for the daemon's container.
struct daemon_host {
  std::string home;            // HAL9000_HOME on the host (absolute)
  std::string docker_socket;   // the engine's unix socket on the host; "" for tcp://
  bool mounts_shared = false;  // home/mounts is a shared mount: bound rshared
  /// Allowed roots that exist on the host, each with whether its mount
  /// propagates (then bound rslave, so mounts made under it later show too).
  std::vector<std::pair<std::string, bool>> roots;
  /// "uid:gid" of the user who ran `claudy daemon start` when not root
  /// (HAL9000_HOME_OWNER): the daemon, root in its container, hands that user
  /// the state directory, the control token and what it writes there
  /// (records, logs, its directories), as a daemon they ran would.
  std::string owner;
};

/// hal9000d in <prefix>-parent: PARENT_IMAGE running `hal9000d run` on the
/// host's network (the control port binds HAL9000_LISTEN on the host, loopback
/// unless TLS; ChromaDB is at 127.0.0.1:CHROMADB_PORT as for a host daemon),
/// daemon_env(cfg) as its environment with HAL9000_HOME=/root/.hal9000,
/// HAL9000_HOST_HOME and HAL9000_DAEMON_MODE=container; the Docker socket,
/// the state directory (mounts/ rshared when it can be), the allowed roots
/// (rslave when their host mount propagates) and HAL9000_PROXY_CA at their
/// own paths, the host's /etc read-only at daemon_host_etc (its users, always
/// the current files); the host's pid namespace (the sandbox's setns and
/// /proc lookups use the pids Docker reports); CAP_SYS_ADMIN for mount(2)
/// and setns(2), NET_ADMIN/NET_RAW for the egress filter, SYS_PTRACE for
/// /proc, plus the file capabilities users' homes need, nothing else;
/// restarted by Docker when it fails (kill -9, a crash), not after a clean
/// stop. Labels: role daemon.
docker::container_spec daemon_spec(const config& cfg, const daemon_host& h);

/// "" when c is this configuration's daemon container (ours, role daemon);
/// otherwise why not, with the fix.
std::string daemon_container_problem(const config& cfg,
                                     const docker::container_info& c);

// -- what runs ------------------------------------------------------------------------

/// "" when the container is ours to manage (label hal9000.managed=true and our
/// daemon id); otherwise why not, naming the container.
std::string ownership_problem(const parent_options& o,
                              const docker::container_info& c);

/// How a running namespace owner differs from the options in what lives in
/// it (the port it publishes for ChromaDB; nothing else: every daemon applies
/// its own limits, pool and images), one entry per setting:
/// "CHROMADB_PORT=8000, configured 8080", or "publishes 127.0.0.1:8000 ->
/// 8000, configured 127.0.0.1:8080 -> 8080" when its environment says no
/// other port.
std::vector<std::string> parent_differences(const parent_options& o,
                                            const docker::container_info& c);

/// The command that applies the configured owner settings at once: `claudy
/// daemon stop --all; CHROMADB_PORT=<configured> claudy daemon start` (it
/// ends the sessions that run in the namespace).
std::string apply_command(const parent_options& o);

/// "<owner> runs with X: ..." and what to do, given the sessions that run
/// in its network namespace: none, the next daemon start recreates it; some,
/// it is kept, with apply_command and how many sessions that ends.
std::string difference_note(const parent_options& o,
                            const std::vector<std::string>& diffs, uint32_t sessions);

/// "" when the ChromaDB container matches (image, joined to parent_id, env,
/// data volume); otherwise why not.
std::string chroma_mismatch(const parent_options& o, const chroma_settings& s,
                            const std::string& parent_id,
                            const docker::container_info& c);

/// Whether an engine error says a host port is taken (userland proxy:
/// "address already in use"; another container: "port is already allocated").
/// "" when the filtering proxy matches (image, joined to the parent, env);
/// otherwise why not.
std::string egress_mismatch(const parent_options& o, const std::string& parent_id,
                            const docker::container_info& c);

bool is_port_in_use(const std::string& engine_message);

/// "image X not found and cannot be pulled: build it with
/// scripts/build-images <recipe>" (+ the pull's error).
std::string missing_image_message(const std::string& image,
                                  const std::string& default_image,
                                  const std::string& variable,
                                  const std::string& recipe,
                                  const std::string& pull_error);

} // namespace hal9000
