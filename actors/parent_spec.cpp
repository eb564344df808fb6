#include "actors/parent_spec.hpp"

#include <algorithm>
#include <cstdlib>

#include "runtime/config.hpp"
#include "runtime/names.hpp"

namespace hal9000 {

namespace {

// Docker's volume for the reference's shared paths (CONFIGURATION.md).
constexpr const char* membank_path = "/data/membank";
constexpr const char* plugins_path = "/data/plugins";

std::map<std::string, std::string> parse_env(const std::vector<std::string>& env) {
  std::map<std::string, std::string> out;
  for (auto& kv : env) {
    auto eq = kv.find('=');
    if (eq != std::string::npos)
      out[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return out;
}

std::vector<std::string> to_kv(const std::map<std::string, std::string>& env) {
  std::vector<std::string> out;
  out.reserve(env.size());
  for (auto& [k, v] : env)
    out.push_back(k + "=" + v);
  return out;
}

std::string binding_text(const docker::port_binding& p) {
  return p.host_ip + ":" + std::to_string(p.host_port) + " -> "
         + std::to_string(p.container_port);
}

docker::mount_spec volume_mount(std::string name, std::string target) {
  docker::mount_spec m;
  m.type = "volume";
  m.source = std::move(name);
  m.target = std::move(target);
  return m;
}

// The parent needs no capability: it only idles. ChromaDB serves as its
// non-root user on a port above 1023 by default; see chroma_spec for the
// three it starts with.
void harden(docker::container_spec& s) {
  s.init = true;
  s.cap_drop = {"ALL"};
  s.security_opt = {"no-new-privileges"};
}

} // namespace

parent_options parent_options_from(const config& cfg) {
  parent_options o;
  o.name_prefix = cfg.parent_prefix;
  o.parent_image = cfg.parent_image;
  o.chromadb_image = cfg.chromadb_image;
  o.chromadb_host = cfg.chromadb_host;
  o.chromadb_port = cfg.chromadb_port;
  o.chromadb_data_dir = cfg.chromadb_data_dir;
  o.daemon_id = cfg.daemon_id;
  o.daemon_in_parent = runs_in_container(cfg);
  o.env = to_env(cfg);
  o.egress_image = cfg.egress_image;
  o.egress_allow = cfg.egress_allow;
  o.egress_port = cfg.egress_port;
  o.egress_log_dir = cfg.home + "/egress/log";
  o.egress_log_source = engine_path(cfg, o.egress_log_dir);
  return o;
}

// -- names and labels -------------------------------------------------------------

std::string namespace_owner_name(const std::string& prefix) {
  return names::parent_container(prefix);
}

std::string namespace_owner_name(const config& cfg) {
  return runs_in_container(cfg) ? names::netns_container(cfg.parent_prefix)
                                : namespace_owner_name(cfg.parent_prefix);
}

std::string parent_name(const parent_options& o) {
  return o.daemon_in_parent ? names::netns_container(o.name_prefix)
                            : names::parent_container(o.name_prefix);
}

std::string daemon_container_name(const std::string& prefix) {
  return names::parent_container(prefix);
}

std::string chroma_name(const parent_options& o) {
  return names::chromadb_container(o.name_prefix);
}

std::string egress_name(const parent_options& o) {
  return o.name_prefix + "-egress";
}

std::string chroma_volume(const parent_options& o) {
  return names::chromadb_volume(o.name_prefix);
}

std::string membank_volume(const parent_options& o) {
  return names::membank_volume(o.name_prefix);
}

std::string plugins_volume(const parent_options& o) {
  return names::plugins_volume(o.name_prefix);
}

std::vector<docker::mount_spec> worker_volumes(const parent_options& o) {
  return {volume_mount(membank_volume(o), membank_path),
          volume_mount(plugins_volume(o), plugins_path)};
}

std::vector<std::string> volume_names(const parent_options& o) {
  return {chroma_volume(o), membank_volume(o), plugins_volume(o)};
}

std::map<std::string, std::string> labels_for(const parent_options& o,
                                              const std::string& role) {
  auto out = o.labels;
  out[names::label_managed] = "true";
  out[names::label_daemon] = o.daemon_id;
  if (!role.empty())
    out[names::label_role] = role;
  return out;
}

// -- what to create ------------------------------------------------------------------

chroma_settings configured_chroma(const parent_options& o) {
  return {o.chromadb_host, o.chromadb_port, o.chromadb_data_dir};
}

chroma_settings chroma_from_env(const std::vector<std::string>& env,
                                const chroma_settings& fallback) {
  auto m = parse_env(env);
  auto out = fallback;
  if (auto i = m.find("CHROMADB_HOST"); i != m.end() && !i->second.empty())
    out.host = i->second;
  if (auto i = m.find("CHROMADB_DATA_DIR"); i != m.end() && !i->second.empty())
    out.data_dir = i->second;
  if (auto i = m.find("CHROMADB_PORT"); i != m.end()) {
    auto n = std::strtoul(i->second.c_str(), nullptr, 10);
    if (n > 0 && n <= 65535)
      out.port = static_cast<uint16_t>(n);
  }
  return out;
}

std::map<std::string, std::string> parent_env(const parent_options& o) {
  auto env = o.env;
  env["PARENT_IMAGE"] = o.parent_image;
  env["CHROMADB_IMAGE"] = o.chromadb_image;
  env["CHROMADB_HOST"] = o.chromadb_host;
  env["CHROMADB_PORT"] = std::to_string(o.chromadb_port);
  env["CHROMADB_DATA_DIR"] = o.chromadb_data_dir;
  env["HAL9000_DAEMON_ID"] = o.daemon_id;
  return env;
}

docker::container_spec parent_spec(const parent_options& o) {
  docker::container_spec s;
  s.name = parent_name(o);
  s.image = o.parent_image;
  s.env = to_kv(parent_env(o));
  s.labels = labels_for(o, "parent");
  s.ports.push_back({o.chromadb_port, "tcp", o.host_ip, o.chromadb_port});
  s.mounts = {volume_mount(chroma_volume(o), o.chromadb_data_dir),
              volume_mount(membank_volume(o), membank_path),
              volume_mount(plugins_volume(o), plugins_path)};
  harden(s);
  return s;
}

docker::container_spec chroma_spec(const parent_options& o,
                                   const chroma_settings& c) {
  docker::container_spec s;
  s.name = chroma_name(o);
  s.image = o.chromadb_image;
  s.env = {"CHROMADB_HOST=" + c.host, "CHROMADB_PORT=" + std::to_string(c.port),
           "CHROMADB_DATA_DIR=" + c.data_dir};
  s.labels = labels_for(o, "chromadb");
  s.network_mode = "container:" + parent_name(o);
  s.mounts = {volume_mount(chroma_volume(o), c.data_dir)};
  harden(s);
  // A fresh volume at a CHROMADB_DATA_DIR the image lacks is root's (Docker
  // copies ownership only from a path the image has): the entrypoint then
  // starts as root, hands the data dir to chroma and drops to it (setpriv),
  // so it needs exactly these and keeps none after. The image's own data dir
  // is chroma's already: no root there.
  if (c.data_dir != parent_options{}.chromadb_data_dir) {
    s.user = "0";
    s.cap_add = {"CHOWN", "SETUID", "SETGID"};
  }
  return s;
}

docker::container_spec egress_spec(const parent_options& o) {
  docker::container_spec s;
  s.name = egress_name(o);
  s.image = o.egress_image;
  s.env = {"HAL9000_EGRESS_ALLOW=" + o.egress_allow,
           "HAL9000_EGRESS_PORT=" + std::to_string(o.egress_port),
           "HAL9000_EGRESS_LOG=/run/hal9000-egress/log/tinyproxy.log"};
  s.labels = labels_for(o, "egress");
  s.network_mode = "container:" + parent_name(o);
  s.user = "64991:64991";
  if (!o.egress_log_dir.empty())
    s.mounts = {docker::mount_spec{"bind",
                                   o.egress_log_source.empty() ? o.egress_log_dir
                                                               : o.egress_log_source,
                                   "/run/hal9000-egress/log",
                                   false, ""}};
  harden(s);
  return s;
}


// -- the daemon's own container ---------------------------------------------------------

docker::container_spec daemon_spec(const config& cfg, const daemon_host& h) {
  auto inside = cfg;
  inside.home = daemon_home_in_container;
  inside.host_home = h.home;
  inside.daemon_mode = daemon_mode_container;
  docker::container_spec s;
  s.name = daemon_container_name(cfg.parent_prefix);
  s.image = cfg.parent_image;
  s.cmd = {"hal9000d", "run"};
  auto env = daemon_env(inside);
  if (!h.owner.empty())
    env["HAL9000_HOME_OWNER"] = h.owner;
  s.env = to_kv(env);
  parent_options o;
  o.daemon_id = cfg.daemon_id;
  s.labels = labels_for(o, "daemon");
  s.network_mode = "host";
  // The host's pid namespace: the sandbox enters the namespace owner's
  // network namespace through /proc/<its pid>/ns/net and finds a refused
  // connection's container through /proc, with the pids Docker reports; the
  // pid file holds a host pid, as for a host process.
  s.pid_mode = "host";
  s.init = true;  // tini runs hal9000d: its exit (or kill -9) ends the container
  s.restart_policy = "on-failure";
  auto bind = [](std::string src, std::string dst, bool ro, std::string prop) {
    return docker::mount_spec{"bind", std::move(src), std::move(dst), ro, std::move(prop)};
  };
  // Roots first, then the state directory (Docker orders by target depth
  // anyway): /root/.hal9000 may lie under the root /root.
  for (auto& [root, propagates] : h.roots)
    s.mounts.push_back(bind(root, root, false, propagates ? "rslave" : ""));
  if (!h.docker_socket.empty())
    s.mounts.push_back(bind(h.docker_socket, h.docker_socket, false, ""));
  if (!cfg.docker_cert_path.empty())
    s.mounts.push_back(bind(cfg.docker_cert_path, cfg.docker_cert_path, true, ""));
  if (!cfg.proxy_ca.empty())
    s.mounts.push_back(bind(cfg.proxy_ca, cfg.proxy_ca, true, ""));
  // The host's users (files NSS): sessions act as the token's user, looked
  // up by uid or login; a TLS client maps to a login (HAL9000_TLS_USERS).
  // The host's /etc directory, read-only, at daemon_host_etc: the image's
  // /etc/passwd and /etc/group are symlinks into it (images/parent/build.sh).
  // Not the two files: a bind of a file pins its inode, and useradd, vipw
  // and passwd replace the file by rename, so a user made after the start
  // would stay invisible until the daemon's container is recreated.
  s.mounts.push_back(bind("/etc", daemon_host_etc, true, ""));
  s.mounts.push_back(bind(h.home, daemon_home_in_container, false, ""));
  s.mounts.push_back(bind(h.home + "/mounts", std::string{daemon_home_in_container} + "/mounts",
                          false, h.mounts_shared ? "rshared" : ""));
  s.cap_drop = {"ALL"};
  // mount(2) and setns(2) (and the user namespaces of id-mapped mounts) need
  // SYS_ADMIN; users' Claude homes and tokens are other uids' files (CHOWN,
  // DAC_*, FOWNER); SETUID/SETGID write a user namespace's id maps and run a
  // check as the session's user, SETFCAP maps uid 0 there (Linux >= 5.12
  // asks for it: root-owned projects and uid-0 worker images); KILL signals helpers it starts; NET_ADMIN
  // and NET_RAW load the egress filter into the namespace owner's network
  // namespace (iptables-restore); SYS_PTRACE opens another container's
  // /proc/<pid>/ns/net and reads /proc/<pid>/fd (whose socket was refused).
  // Nothing else of Docker's defaults.
  s.cap_add = {"SYS_ADMIN", "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER",
               "SETUID", "SETGID", "SETFCAP", "KILL", "NET_ADMIN", "NET_RAW", "SYS_PTRACE"};
  // Docker's seccomp profile lacks the new mount API (open_tree, move_mount,
  // mount_setattr) of id-mapped mounts on older engines, and an AppArmor
  // docker-default profile denies mount(2) outright: both off for this one
  // container, which holds the Docker socket (root on the host) anyway.
  s.security_opt = {"no-new-privileges", "seccomp=unconfined", "apparmor=unconfined"};
  return s;
}

std::string daemon_container_problem(const config& cfg,
                                     const docker::container_info& c) {
  parent_options o;
  o.daemon_id = cfg.daemon_id;
  o.name_prefix = cfg.parent_prefix;
  if (auto why = ownership_problem(o, c); !why.empty())
    return why;
  auto i = c.labels.find(names::label_role);
  auto role = i == c.labels.end() ? std::string{} : i->second;
  if (role == "daemon")
    return {};
  return "container " + c.name + " is the network namespace of a hal9000d running on the "
         "host (role " + role + "), not a daemon's container: keep that daemon with "
         "`claudy daemon start --host-process`, or end it and its sessions with "
         "`claudy daemon stop --all` first";
}

// -- what runs ------------------------------------------------------------------------

std::string ownership_problem(const parent_options& o,
                              const docker::container_info& c) {
  auto label = [&](const char* key) {
    auto i = c.labels.find(key);
    return i == c.labels.end() ? std::string{} : i->second;
  };
  if (label(names::label_managed) != "true")
    return "container " + c.name
           + " exists but was not made by hal9000 (no label hal9000.managed=true): "
             "remove or rename it";
  if (auto id = label(names::label_daemon); id != o.daemon_id)
    return "container " + c.name + " belongs to hal9000 daemon '" + id
           + "', not to this one ('" + o.daemon_id
           + "'): stop that daemon or set HAL9000_DAEMON_ID";
  return {};
}

std::vector<std::string> parent_differences(const parent_options& o,
                                            const docker::container_info& c) {
  // Only what lives in the namespace owner counts: the port it publishes for
  // ChromaDB. The rest of its environment is the configuration of the daemon
  // that made it; every daemon applies its own (limits, pool, images) to what
  // it creates, so those differing changes nothing here.
  std::vector<std::string> out;
  docker::port_binding want{o.chromadb_port, "tcp", o.host_ip, o.chromadb_port};
  auto published = std::any_of(c.ports.begin(), c.ports.end(), [&](auto& p) {
    return p.container_port == want.container_port && p.proto == want.proto
           && p.host_ip == want.host_ip && p.host_port == want.host_port;
  });
  if (published)
    return out;
  auto actual = parse_env(c.env);
  auto port = actual.find("CHROMADB_PORT");
  auto configured = std::to_string(o.chromadb_port);
  // Said as the setting that made it when its environment names another.
  if (port != actual.end() && port->second != configured) {
    out.push_back("CHROMADB_PORT=" + port->second + ", configured " + configured);
    return out;
  }
  std::string now;
  for (auto& p : c.ports)
    now += (now.empty() ? "" : ", ") + binding_text(p);
  out.push_back("publishes " + (now.empty() ? std::string{"no port"} : now)
                + ", configured " + binding_text(want));
  return out;
}

std::string apply_command(const parent_options& o) {
  return "claudy daemon stop --all; CHROMADB_PORT=" + std::to_string(o.chromadb_port)
         + " claudy daemon start";
}

std::string difference_note(const parent_options& o, const std::vector<std::string>& diffs,
                            uint32_t sessions) {
  std::string text = parent_name(o) + " runs with ";
  for (size_t i = 0; i < diffs.size(); ++i)
    text += (i ? "; " : "") + diffs[i];
  if (sessions == 0)
    return text + ": no session runs in its network namespace, so the next `claudy daemon "
                  "start` recreates it with the configured settings (or apply it now with `"
           + apply_command(o) + "`)";
  auto n = std::to_string(sessions) + (sessions == 1 ? " session runs" : " sessions run");
  return text + ": kept, " + n + " in its network namespace (recreating it would cut "
         + (sessions == 1 ? "it" : "them") + " off); to apply it now run `" + apply_command(o)
         + "`, which ends those " + std::to_string(sessions) + " (start each again after with "
           "`claudy restart NAME`); otherwise the first `claudy daemon start` with no session "
           "running applies it";
}

std::string chroma_mismatch(const parent_options& o, const chroma_settings& s,
                            const std::string& parent_id,
                            const docker::container_info& c) {
  if (c.image != o.chromadb_image)
    return "image " + c.image + ", configured " + o.chromadb_image;
  if (c.network_mode != "container:" + parent_id
      && c.network_mode != "container:" + parent_name(o))
    return "joined to " + c.network_mode + ", not to " + parent_name(o)
           + " (" + parent_id.substr(0, 12) + ")";
  auto env = parse_env(c.env);
  auto want = chroma_spec(o, s);
  for (auto& kv : parse_env(want.env))
    if (env[kv.first] != kv.second)
      return kv.first + "=" + env[kv.first] + ", configured " + kv.second;
  auto has_volume = std::any_of(c.mounts.begin(), c.mounts.end(), [&](auto& m) {
    return m.type == "volume" && m.source == chroma_volume(o)
           && m.target == s.data_dir;
  });
  if (!has_volume)
    return "volume " + chroma_volume(o) + " not mounted at " + s.data_dir;
  return {};
}

std::string egress_mismatch(const parent_options& o, const std::string& parent_id,
                            const docker::container_info& c) {
  if (c.image != o.egress_image)
    return "image " + c.image + ", configured " + o.egress_image;
  if (c.network_mode != "container:" + parent_id
      && c.network_mode != "container:" + parent_name(o))
    return "joined to " + c.network_mode + ", not to " + parent_name(o);
  auto env = parse_env(c.env);
  for (auto& kv : parse_env(egress_spec(o).env))
    if (env[kv.first] != kv.second)
      return kv.first + "=" + env[kv.first] + ", configured " + kv.second;
  return {};
}

bool is_port_in_use(const std::string& msg) {
  return msg.find("address already in use") != std::string::npos
         || msg.find("port is already allocated") != std::string::npos;
}

std::string missing_image_message(const std::string& image,
                                  const std::string& default_image,
                                  const std::string& variable,
                                  const std::string& recipe,
                                  const std::string& pull_error) {
  std::string text = "image " + image + " not found and cannot be pulled: ";
  if (image == default_image)
    text += "build it with scripts/build-images " + recipe;
  else
    text += "check " + variable + ", or unset it and build " + default_image
            + " with scripts/build-images " + recipe;
  if (!pull_error.empty())
    text += " (pull: " + pull_error + ")";
  return text;
}

} // namespace hal9000
