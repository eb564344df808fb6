#pragma once
// The daemon's effective configuration. Sources, strongest first: command-line
// flags (applied by the caller), environment variables, HAL9000_HOME/config.json
// (same keys as the environment variables), defaults. Names and defaults follow
// shared/reference/CONFIGURATION.md; the rest are ours and documented in README.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "messages/resource_limits.hpp"
#include "runtime/egress.hpp"

namespace hal9000 {

struct config {
  // -- state ------------------------------------------------------------------
  std::string home;  // HAL9000_HOME, default ~/.hal9000 ($HOME of the daemon)

  // -- images -----------------------------------------------------------------
  std::string worker_image = "ghcr.io/hellblazer/hal-9000:worker";  // WORKER_IMAGE
  std::string worker_image_fallback = "hal9000/worker:local";
  std::string parent_image = "hal9000/parent:local";      // PARENT_IMAGE
  std::string chromadb_image = "hal9000/chromadb:local";  // CHROMADB_IMAGE
  bool skip_image_pull = false;  // SKIP_IMAGE_PULL
  bool lazy_image_pull = false;  // LAZY_IMAGE_PULL

  // -- parent --------------------------------------------------------------------
  bool manage_parent = true;              // HAL9000_MANAGE_PARENT (false: no parent, bridge workers)
  std::string parent_prefix = "hal9000";  // HAL9000_PARENT_PREFIX: <prefix>-parent, -chromadb

  // -- ChromaDB -----------------------------------------------------------------
  std::string chromadb_host = "0.0.0.0";           // CHROMADB_HOST
  uint16_t chromadb_port = 8000;                   // CHROMADB_PORT
  std::string chromadb_data_dir = "/data/chromadb";  // CHROMADB_DATA_DIR

  // -- pool -------------------------------------------------------------------------
  bool enable_pool_manager = false;  // ENABLE_POOL_MANAGER
  uint32_t min_warm_workers = 2;     // MIN_WARM_WORKERS
  uint32_t max_warm_workers = 5;     // MAX_WARM_WORKERS
  uint32_t idle_timeout_s = 300;     // IDLE_TIMEOUT
  uint32_t check_interval_s = 30;    // CHECK_INTERVAL
  uint32_t max_creating = 2;         // HAL9000_MAX_CREATING (creations in flight)
  uint32_t claim_timeout_s = 30;     // HAL9000_CLAIM_TIMEOUT
  bool force_cold = false;           // HAL9000_FORCE_COLD (claims never late-bind)
  /// Bind HAL9000_HOME/mcp/managed-mcp.json into every worker (runtime/mcp_config.hpp).
  bool managed_mcp = true;           // HAL9000_MANAGED_MCP

  // -- worker limits (Docker syntax, validated by runtime/limits.hpp) ------------
  std::string worker_memory = "4g";    // WORKER_MEMORY
  std::string worker_cpus = "2";       // WORKER_CPUS
  std::string worker_pids_limit = "100";  // WORKER_PIDS_LIMIT
  std::string worker_command;          // WORKER_COMMAND (empty: Claude Code in tmux)
  // -- per-user state in workers (runtime/users.hpp) ---------------------------
  /// The uid:gid the worker image runs as (hal9000/worker:local: claude,
  /// 1000:1000): each user's Claude home and key are handed to it, since a
  /// session drops every capability. HAL9000_WORKER_UID / HAL9000_WORKER_GID.
  uint32_t worker_uid = 1000;
  uint32_t worker_gid = 1000;
  /// Where ~/.claude is inside the worker image (HAL9000_CLAUDE_HOME).
  std::string claude_home = "/home/claude/.claude";

  // -- control ----------------------------------------------------------------------
  std::string listen_host = "127.0.0.1";  // HAL9000_LISTEN host part
  uint16_t port = 7700;                   // HAL9000_PORT / HAL9000_LISTEN port part
  uint16_t metrics_port = 0;              // HAL9000_METRICS_PORT (0: off)
  std::vector<std::string> allowed_roots;  // HAL9000_ALLOWED_ROOTS (':'-separated)
  /// HAL9000_TLS_USERS: "CLIENT=LOGIN_OR_UID,...": the local user a TLS
  /// client bundle's sessions act as (runtime/acting_user.hpp). A client not
  /// listed may not start sessions.
  std::map<std::string, std::string> tls_users;

  // -- Docker -----------------------------------------------------------------------
  std::string docker_host = "unix:///var/run/docker.sock";  // DOCKER_HOST
  bool docker_tls_verify = false;   // DOCKER_TLS_VERIFY
  std::string docker_cert_path;     // DOCKER_CERT_PATH
  uint32_t docker_concurrency = 4;  // HAL9000_DOCKER_CONCURRENCY

  // -- sandbox (messages/sandbox.hpp) -------------------------------------------
  /// The credential proxy's port on 127.0.0.1 inside the parent's namespace.
  uint16_t proxy_port = 8001;                                // HAL9000_PROXY_PORT
  std::string proxy_upstream = "https://api.anthropic.com";  // HAL9000_PROXY_UPSTREAM
  std::string proxy_ca;       // HAL9000_PROXY_CA: PEM CA bundle for the upstream ("": system's)
  /// Host names workers may reach through the filtering proxy; "*": open.
  std::string egress_allow = egress::default_allow;  // HAL9000_EGRESS_ALLOW
  /// The filtering proxy's port inside the namespace; the refusal reporter
  /// listens on the next one.
  uint16_t egress_port = 8002;                             // HAL9000_EGRESS_PORT
  std::string egress_image = "hal9000/egress:local";       // HAL9000_EGRESS_IMAGE

  // -- identity ---------------------------------------------------------------------
  std::string daemon_id = "default";  // HAL9000_DAEMON_ID (label hal9000.daemon)

  // -- where the daemon runs -------------------------------------------------------
  /// HAL9000_DAEMON_MODE: "container" (hal9000d inside <prefix>-parent, what
  /// `claudy daemon start` does unless told otherwise) or "host" (a process on
  /// the host: --host-process, systemd, tests). hal9000d reads it to know
  /// where it runs; unset means host for hal9000d and container for
  /// `claudy daemon start` (see default_start_mode).
  std::string daemon_mode;
  /// HAL9000_HOST_HOME: where HAL9000_HOME is on the Docker host when the
  /// daemon sees it elsewhere (in its container: /root/.hal9000). Bind
  /// sources given to the engine are translated with it. "" = same path.
  std::string host_home;
};

/// "container" or "host".
constexpr const char* daemon_mode_container = "container";
constexpr const char* daemon_mode_host = "host";

/// Whether this process is a daemon inside its parent container.
bool runs_in_container(const config& cfg);

/// The mode `claudy daemon start` uses: HAL9000_DAEMON_MODE, else container.
std::string default_start_mode(const config& cfg);

/// A path of the daemon's as the Docker engine sees it: under HAL9000_HOME it
/// is moved to HAL9000_HOST_HOME; any other path is the same on both sides
/// (the allowed roots are bound at their own paths).
std::string engine_path(const config& cfg, const std::string& path);
std::string engine_path(const std::string& home, const std::string& host_home,
                        const std::string& path);
/// The reverse: a bind source Docker reports, as the daemon sees it.
std::string daemon_path(const std::string& home, const std::string& host_home,
                        const std::string& path);

/// Reads a variable; the default reads the process environment.
using env_lookup = std::function<std::optional<std::string>(const std::string&)>;

env_lookup process_env();

/// Builds the configuration from defaults, HAL9000_HOME/config.json and the
/// environment. Errors (invalid_argument) name the variable and the value.
caf::expected<config> load_config(const env_lookup& env = process_env());

/// Checks ranges and cross-field rules (MIN <= MAX, counts capped at 100,
/// limits parseable). load_config calls it; callers that change fields after
/// loading call it again.
caf::error validate(const config& cfg);

/// WORKER_MEMORY, WORKER_CPUS and WORKER_PIDS_LIMIT as the typed value the
/// pool and the sessions actor carry (parsed here, once, where the config's
/// text enters; validate() refused bad text at load, and a hand-made config's
/// bad text gives numbers that validate_limits refuses).
resource_limits worker_limits(const config& c);

/// 127.0.0.0/8, ::1 or localhost: the only addresses plain TCP may bind.
bool is_loopback_host(const std::string& host);

/// The configuration as NAME=VALUE pairs, as users set them (for the parent
/// container's environment and `claudy daemon status`).
std::map<std::string, std::string> to_env(const config& cfg);

/// Every setting a daemon needs, as NAME=VALUE pairs: to_env plus the
/// daemon's own (listen address, metrics, prefix, timeouts, worker identity,
/// Docker's variables when set). The environment `claudy daemon start` gives
/// hal9000d in its container, so that .Config.Env is the whole configuration.
std::map<std::string, std::string> daemon_env(const config& cfg);

} // namespace hal9000
