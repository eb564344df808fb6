#include "runtime/config.hpp"

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "messages/error.hpp"
#include "runtime/egress.hpp"
#include "runtime/limits.hpp"

namespace hal9000 {

namespace {

constexpr uint32_t max_count = 100;

std::string default_home() {
  const char* home = std::getenv("HOME");
  return std::string{home && *home ? home : "/root"} + "/.hal9000";
}

caf::error bad(const std::string& var, const std::string& value,
               const std::string& why) {
  return make_error(errc::invalid_argument,
                    "invalid " + var + "='" + value + "': " + why);
}

caf::error parse_bool(const std::string& var, const std::string& v, bool& out) {
  if (v == "true" || v == "1" || v == "yes" || v == "on")
    out = true;
  else if (v == "false" || v == "0" || v == "no" || v == "off" || v.empty())
    out = false;
  else
    return bad(var, v, "expected true or false");
  return caf::none;
}

template <class T>
caf::error parse_uint(const std::string& var, const std::string& v, T& out,
                      uint64_t lo, uint64_t hi) {
  bool digits = !v.empty() && v.size() <= 10;
  for (auto c : v)
    digits = digits && c >= '0' && c <= '9';
  if (!digits)
    return bad(var, v, "expected a whole number");
  auto n = std::stoull(v);
  if (n < lo || n > hi)
    return bad(var, v, "expected a number from " + std::to_string(lo) + " to "
                         + std::to_string(hi));
  out = static_cast<T>(n);
  return caf::none;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in{s};
  while (std::getline(in, cur, sep))
    if (!cur.empty())
      out.push_back(cur);
  return out;
}

// Applies one NAME=VALUE setting; unknown names are ignored (the environment
// holds plenty of them).
caf::error apply(config& c, const std::string& k, const std::string& v) {
  if (k == "HAL9000_HOME") c.home = v;
  else if (k == "WORKER_IMAGE") c.worker_image = v;
  else if (k == "PARENT_IMAGE") c.parent_image = v;
  else if (k == "CHROMADB_IMAGE") c.chromadb_image = v;
  else if (k == "SKIP_IMAGE_PULL") return parse_bool(k, v, c.skip_image_pull);
  else if (k == "LAZY_IMAGE_PULL") return parse_bool(k, v, c.lazy_image_pull);
  else if (k == "CHROMADB_HOST") c.chromadb_host = v;
  else if (k == "CHROMADB_PORT") return parse_uint(k, v, c.chromadb_port, 1, 65535);
  else if (k == "CHROMADB_DATA_DIR") c.chromadb_data_dir = v;
  else if (k == "ENABLE_POOL_MANAGER") return parse_bool(k, v, c.enable_pool_manager);
  else if (k == "MIN_WARM_WORKERS") return parse_uint(k, v, c.min_warm_workers, 0, max_count);
  else if (k == "MAX_WARM_WORKERS") return parse_uint(k, v, c.max_warm_workers, 0, max_count);
  else if (k == "IDLE_TIMEOUT") return parse_uint(k, v, c.idle_timeout_s, 1, 86400 * 7);
  else if (k == "CHECK_INTERVAL") return parse_uint(k, v, c.check_interval_s, 1, 86400);
  else if (k == "HAL9000_MAX_CREATING") return parse_uint(k, v, c.max_creating, 1, 32);
  else if (k == "HAL9000_CLAIM_TIMEOUT") return parse_uint(k, v, c.claim_timeout_s, 1, 3600);
  else if (k == "HAL9000_FORCE_COLD") return parse_bool(k, v, c.force_cold);
  else if (k == "HAL9000_MANAGED_MCP") return parse_bool(k, v, c.managed_mcp);
  else if (k == "HAL9000_MANAGE_PARENT") return parse_bool(k, v, c.manage_parent);
  else if (k == "HAL9000_PARENT_PREFIX") c.parent_prefix = v;
  else if (k == "WORKER_MEMORY") c.worker_memory = v;
  else if (k == "WORKER_CPUS") c.worker_cpus = v;
  else if (k == "WORKER_PIDS_LIMIT") c.worker_pids_limit = v;
  else if (k == "WORKER_COMMAND") c.worker_command = v;
  else if (k == "HAL9000_WORKER_UID") return parse_uint(k, v, c.worker_uid, 0, 4294967294u);
  else if (k == "HAL9000_WORKER_GID") return parse_uint(k, v, c.worker_gid, 0, 4294967294u);
  else if (k == "HAL9000_CLAUDE_HOME") c.claude_home = v;
  else if (k == "HAL9000_PORT") return parse_uint(k, v, c.port, 1, 65535);
  else if (k == "HAL9000_LISTEN") {
    auto colon = v.rfind(':');
    if (colon == std::string::npos || colon == 0)
      return bad(k, v, "expected ADDRESS:PORT");
    c.listen_host = v.substr(0, colon);
    return parse_uint(k, v.substr(colon + 1), c.port, 1, 65535);
  }
  else if (k == "HAL9000_METRICS_PORT") return parse_uint(k, v, c.metrics_port, 0, 65535);
  else if (k == "HAL9000_ALLOWED_ROOTS") c.allowed_roots = split(v, ':');
  else if (k == "DOCKER_HOST") c.docker_host = v;
  else if (k == "DOCKER_TLS_VERIFY") return parse_bool(k, v, c.docker_tls_verify);
  else if (k == "DOCKER_CERT_PATH") c.docker_cert_path = v;
  else if (k == "HAL9000_DOCKER_CONCURRENCY") return parse_uint(k, v, c.docker_concurrency, 1, 64);
  else if (k == "HAL9000_DAEMON_ID") c.daemon_id = v;
  else if (k == "HAL9000_TLS_USERS") {
    c.tls_users.clear();
    for (auto& entry : split(v, ',')) {
      auto eq = entry.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == entry.size())
        return bad(k, v, "expected CLIENT=LOGIN_OR_UID[,CLIENT=LOGIN_OR_UID...]");
      c.tls_users[entry.substr(0, eq)] = entry.substr(eq + 1);
    }
  }
  else if (k == "HAL9000_PROXY_PORT") return parse_uint(k, v, c.proxy_port, 1, 65535);
  else if (k == "HAL9000_PROXY_UPSTREAM") c.proxy_upstream = v;
  else if (k == "HAL9000_PROXY_CA") c.proxy_ca = v;
  else if (k == "HAL9000_EGRESS_ALLOW") c.egress_allow = v;
  else if (k == "HAL9000_EGRESS_PORT") return parse_uint(k, v, c.egress_port, 1, 65534);
  else if (k == "HAL9000_EGRESS_IMAGE") c.egress_image = v;
  else if (k == "HAL9000_DAEMON_MODE") {
    if (v != daemon_mode_container && v != daemon_mode_host && !v.empty())
      return bad(k, v, "expected container or host");
    c.daemon_mode = v;
  }
  else if (k == "HAL9000_HOST_HOME") c.host_home = v;
  return caf::none;
}

const char* const known_keys[] = {
  "HAL9000_HOME", "WORKER_IMAGE", "PARENT_IMAGE", "CHROMADB_IMAGE",
  "SKIP_IMAGE_PULL", "LAZY_IMAGE_PULL", "CHROMADB_HOST", "CHROMADB_PORT",
  "CHROMADB_DATA_DIR", "ENABLE_POOL_MANAGER", "MIN_WARM_WORKERS",
  "MAX_WARM_WORKERS", "IDLE_TIMEOUT", "CHECK_INTERVAL", "HAL9000_MAX_CREATING",
  "HAL9000_CLAIM_TIMEOUT", "HAL9000_FORCE_COLD", "HAL9000_MANAGE_PARENT",
  "HAL9000_PARENT_PREFIX", "WORKER_MEMORY", "WORKER_CPUS", "WORKER_PIDS_LIMIT",
  "WORKER_COMMAND", "HAL9000_PORT", "HAL9000_LISTEN", "HAL9000_METRICS_PORT",
  "HAL9000_ALLOWED_ROOTS", "DOCKER_HOST", "DOCKER_TLS_VERIFY",
  "DOCKER_CERT_PATH", "HAL9000_DOCKER_CONCURRENCY", "HAL9000_DAEMON_ID",
  "HAL9000_WORKER_UID", "HAL9000_WORKER_GID", "HAL9000_CLAUDE_HOME",
  "HAL9000_TLS_USERS",
  "HAL9000_PROXY_PORT", "HAL9000_PROXY_UPSTREAM", "HAL9000_PROXY_CA",
  "HAL9000_EGRESS_ALLOW", "HAL9000_EGRESS_PORT", "HAL9000_EGRESS_IMAGE",
  "HAL9000_MANAGED_MCP", "HAL9000_DAEMON_MODE", "HAL9000_HOST_HOME",
};

bool valid_daemon_id(const std::string& s) {
  if (s.empty() || s.size() > 63)
    return false;
  for (auto c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'
          || c == '.'))
      return false;
  return true;
}

} // namespace

env_lookup process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    if (auto v = std::getenv(name.c_str()))
      return std::string{v};
    return std::nullopt;
  };
}

caf::expected<config> load_config(const env_lookup& env) {
  config c;
  c.home = default_home();
  if (auto home = env("HAL9000_HOME"); home && !home->empty())
    c.home = *home;
  // config.json: same keys, values as strings, numbers or booleans.
  auto path = c.home + "/config.json";
  if (std::ifstream in{path}) {
    auto doc = nlohmann::json::parse(in, nullptr, false);
    if (doc.is_discarded() || !doc.is_object())
      return make_error(errc::invalid_argument,
                        path + " is not a JSON object of settings");
    for (auto& [k, v] : doc.items()) {
      std::string text = v.is_string() ? v.get<std::string>() : v.dump();
      if (k == "HAL9000_HOME")
        continue;  // the file lives in HAL9000_HOME; it cannot move it
      if (auto err = apply(c, k, text))
        return make_error(errc::invalid_argument,
                          error_message(err) + " (in " + path + ")");
    }
  }
  for (auto key : known_keys)
    if (auto v = env(key))
      if (auto err = apply(c, key, *v))
        return err;
  if (c.allowed_roots.empty())
    c.allowed_roots = {"/home", "/root", "/tmp", "/workspace"};
  if (auto err = validate(c))
    return err;
  return c;
}

resource_limits worker_limits(const config& c) {
  return read_limits(true, c.worker_memory, c.worker_cpus, c.worker_pids_limit);
}

caf::error validate(const config& c) {
  if (c.min_warm_workers > c.max_warm_workers)
    return make_error(errc::invalid_argument,
                      "MIN_WARM_WORKERS (" + std::to_string(c.min_warm_workers)
                        + ") must not exceed MAX_WARM_WORKERS ("
                        + std::to_string(c.max_warm_workers) + ")");
  if (c.max_warm_workers > max_count)
    return make_error(errc::invalid_argument, "MAX_WARM_WORKERS is capped at 100");
  if (auto x = parse_memory(c.worker_memory); !x)
    return make_error(errc::invalid_argument,
                      "WORKER_MEMORY: " + error_message(x.error()));
  if (auto x = parse_cpus(c.worker_cpus); !x)
    return make_error(errc::invalid_argument,
                      "WORKER_CPUS: " + error_message(x.error()));
  if (auto x = parse_pids_limit(c.worker_pids_limit); !x)
    return make_error(errc::invalid_argument,
                      "WORKER_PIDS_LIMIT: " + error_message(x.error()));
  if (c.home.empty() || c.home[0] != '/')
    return make_error(errc::invalid_argument,
                      "HAL9000_HOME must be an absolute path, got '" + c.home + "'");
  if (c.claude_home.size() < 2 || c.claude_home[0] != '/'
      || c.claude_home.find("..") != std::string::npos)
    return make_error(errc::invalid_argument,
                      "HAL9000_CLAUDE_HOME must be an absolute path inside the worker, got '"
                        + c.claude_home + "'");
  if (!valid_daemon_id(c.parent_prefix))
    return make_error(errc::invalid_argument,
                      "invalid HAL9000_PARENT_PREFIX '" + c.parent_prefix
                        + "': use 1-63 of [A-Za-z0-9_.-]");
  if (!valid_daemon_id(c.daemon_id))
    return make_error(errc::invalid_argument,
                      "invalid HAL9000_DAEMON_ID '" + c.daemon_id
                        + "': use 1-63 of [A-Za-z0-9_.-]");
  if (auto allow = egress::parse_allow(c.egress_allow); !allow)
    return allow.error();
  if (c.proxy_upstream.rfind("https://", 0) != 0 && c.proxy_upstream.rfind("http://", 0) != 0)
    return make_error(errc::invalid_argument,
                      "invalid HAL9000_PROXY_UPSTREAM='" + c.proxy_upstream
                        + "': expected https://host[:port]");
  {
    auto ports = {c.chromadb_port, c.proxy_port, c.egress_port,
                  static_cast<uint16_t>(c.egress_port + 1)};
    for (auto a = ports.begin(); a != ports.end(); ++a)
      for (auto b = a + 1; b != ports.end(); ++b)
        if (*a == *b)
          return make_error(errc::invalid_argument,
                            "CHROMADB_PORT, HAL9000_PROXY_PORT, HAL9000_EGRESS_PORT and "
                            "HAL9000_EGRESS_PORT+1 must differ (all are in the parent's "
                            "namespace); "
                              + std::to_string(*a) + " is used twice");
  }
  if (!c.host_home.empty() && (c.host_home[0] != '/' || c.host_home.find("..") != std::string::npos))
    return make_error(errc::invalid_argument,
                      "HAL9000_HOST_HOME must be an absolute path, got '" + c.host_home + "'");
  if (c.docker_host.rfind("unix://", 0) != 0 && c.docker_host.rfind("tcp://", 0) != 0)
    return make_error(errc::invalid_argument,
                      "invalid DOCKER_HOST='" + c.docker_host
                        + "': expected unix:///path or tcp://host:port");
  return caf::none;
}

bool runs_in_container(const config& cfg) {
  return cfg.daemon_mode == daemon_mode_container;
}

std::string default_start_mode(const config& cfg) {
  return cfg.daemon_mode.empty() ? daemon_mode_container : cfg.daemon_mode;
}

namespace {

// path moved from under `from` to under `to`; unchanged when not under from.
std::string rebase(const std::string& from, const std::string& to,
                   const std::string& path) {
  if (from.empty() || to.empty() || from == to)
    return path;
  if (path == from)
    return to;
  if (path.size() > from.size() && path.compare(0, from.size(), from) == 0
      && path[from.size()] == '/')
    return to + path.substr(from.size());
  return path;
}

} // namespace

std::string engine_path(const std::string& home, const std::string& host_home,
                        const std::string& path) {
  return rebase(home, host_home, path);
}

std::string engine_path(const config& cfg, const std::string& path) {
  return engine_path(cfg.home, cfg.host_home, path);
}

std::string daemon_path(const std::string& home, const std::string& host_home,
                        const std::string& path) {
  return rebase(host_home, home, path);
}

bool is_loopback_host(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

std::map<std::string, std::string> to_env(const config& c) {
  auto b = [](bool x) { return std::string{x ? "true" : "false"}; };
  std::string roots;
  for (auto& r : c.allowed_roots)
    roots += (roots.empty() ? "" : ":") + r;
  return {
    {"HAL9000_HOME", c.home},
    {"WORKER_IMAGE", c.worker_image},
    {"PARENT_IMAGE", c.parent_image},
    {"CHROMADB_IMAGE", c.chromadb_image},
    {"SKIP_IMAGE_PULL", b(c.skip_image_pull)},
    {"LAZY_IMAGE_PULL", b(c.lazy_image_pull)},
    {"CHROMADB_HOST", c.chromadb_host},
    {"CHROMADB_PORT", std::to_string(c.chromadb_port)},
    {"CHROMADB_DATA_DIR", c.chromadb_data_dir},
    {"ENABLE_POOL_MANAGER", b(c.enable_pool_manager)},
    {"MIN_WARM_WORKERS", std::to_string(c.min_warm_workers)},
    {"MAX_WARM_WORKERS", std::to_string(c.max_warm_workers)},
    {"IDLE_TIMEOUT", std::to_string(c.idle_timeout_s)},
    {"CHECK_INTERVAL", std::to_string(c.check_interval_s)},
    {"WORKER_MEMORY", c.worker_memory},
    {"WORKER_CPUS", c.worker_cpus},
    {"WORKER_PIDS_LIMIT", c.worker_pids_limit},
    {"HAL9000_PORT", std::to_string(c.port)},
    {"HAL9000_ALLOWED_ROOTS", roots},
    {"HAL9000_DAEMON_ID", c.daemon_id},
  };
}

std::map<std::string, std::string> daemon_env(const config& c) {
  auto b = [](bool x) { return std::string{x ? "true" : "false"}; };
  auto env = to_env(c);
  env["HAL9000_LISTEN"] = c.listen_host + ":" + std::to_string(c.port);
  env["HAL9000_METRICS_PORT"] = std::to_string(c.metrics_port);
  env["HAL9000_MANAGE_PARENT"] = b(c.manage_parent);
  env["HAL9000_PARENT_PREFIX"] = c.parent_prefix;
  env["HAL9000_MAX_CREATING"] = std::to_string(c.max_creating);
  env["HAL9000_CLAIM_TIMEOUT"] = std::to_string(c.claim_timeout_s);
  env["HAL9000_FORCE_COLD"] = b(c.force_cold);
  env["HAL9000_WORKER_UID"] = std::to_string(c.worker_uid);
  env["HAL9000_WORKER_GID"] = std::to_string(c.worker_gid);
  env["HAL9000_CLAUDE_HOME"] = c.claude_home;
  env["HAL9000_DOCKER_CONCURRENCY"] = std::to_string(c.docker_concurrency);
  env["HAL9000_MANAGED_MCP"] = b(c.managed_mcp);
  env["DOCKER_HOST"] = c.docker_host;
  env["HAL9000_PROXY_PORT"] = std::to_string(c.proxy_port);
  env["HAL9000_PROXY_UPSTREAM"] = c.proxy_upstream;
  env["HAL9000_EGRESS_ALLOW"] = c.egress_allow;
  env["HAL9000_EGRESS_PORT"] = std::to_string(c.egress_port);
  env["HAL9000_EGRESS_IMAGE"] = c.egress_image;
  if (!c.proxy_ca.empty())
    env["HAL9000_PROXY_CA"] = c.proxy_ca;
  if (!c.tls_users.empty()) {
    std::string users;
    for (auto& [client, user] : c.tls_users)
      users += (users.empty() ? "" : ",") + client + "=" + user;
    env["HAL9000_TLS_USERS"] = users;
  }
  if (!c.worker_command.empty())
    env["WORKER_COMMAND"] = c.worker_command;
  if (c.docker_tls_verify)
    env["DOCKER_TLS_VERIFY"] = "1";
  if (!c.docker_cert_path.empty())
    env["DOCKER_CERT_PATH"] = c.docker_cert_path;
  if (!c.daemon_mode.empty())
    env["HAL9000_DAEMON_MODE"] = c.daemon_mode;
  if (!c.host_home.empty())
    env["HAL9000_HOST_HOME"] = c.host_home;
  return env;
}

} // namespace hal9000
