#include "docker/json_codec.hpp"

#include <cstdlib>

#include <nlohmann/json.hpp>

#include "messages/error.hpp"

namespace hal9000::docker::json {

namespace {

using nlohmann::json;

// -- tolerant readers: the engine writes null for empty lists and maps ---------

std::string str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

int64_t num(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<int64_t>() : 0;
}

bool flag(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}

std::vector<std::string> strings(const json& j, const char* key) {
  std::vector<std::string> out;
  auto it = j.find(key);
  if (it != j.end() && it->is_array())
    for (auto& x : *it)
      if (x.is_string())
        out.push_back(x.get<std::string>());
  return out;
}

std::map<std::string, std::string> string_map(const json& j, const char* key) {
  std::map<std::string, std::string> out;
  auto it = j.find(key);
  if (it != j.end() && it->is_object())
    for (auto& [k, v] : it->items())
      if (v.is_string())
        out.emplace(k, v.get<std::string>());
  return out;
}

const json& sub(const json& j, const char* key) {
  static const json empty = json::object();
  auto it = j.find(key);
  return it != j.end() && it->is_object() ? *it : empty;
}

caf::error malformed(const char* what, const std::string& detail) {
  return make_error(errc::internal,
                    std::string{"malformed reply from the Docker engine to "} + what
                      + ": " + detail);
}

// Parses body as a JSON object (or array when want_array).
caf::expected<json> parse(const std::string& body, const char* what,
                          bool want_array = false) {
  auto j = json::parse(body, nullptr, false);
  if (j.is_discarded())
    return malformed(what, "not JSON: " + body.substr(0, 120));
  if (want_array ? !j.is_array() : !j.is_object())
    return malformed(what, std::string{"expected a JSON "}
                             + (want_array ? "array" : "object"));
  return j;
}

std::string strip_slash(std::string name) {
  if (!name.empty() && name[0] == '/')
    name.erase(0, 1);
  return name;
}

} // namespace

std::string create_body(const container_spec& s) {
  json j = json::object();
  j["Image"] = s.image;
  if (!s.cmd.empty())
    j["Cmd"] = s.cmd;
  if (!s.entrypoint.empty())
    j["Entrypoint"] = s.entrypoint;
  if (!s.env.empty())
    j["Env"] = s.env;
  j["Labels"] = s.labels;
  if (!s.working_dir.empty())
    j["WorkingDir"] = s.working_dir;
  if (!s.user.empty())
    j["User"] = s.user;
  j["Tty"] = s.tty;
  j["OpenStdin"] = s.open_stdin;
  json hc = json::object();
  if (s.memory > 0)
    hc["Memory"] = s.memory;
  if (s.nano_cpus > 0)
    hc["NanoCpus"] = s.nano_cpus;
  if (s.pids_limit > 0)
    hc["PidsLimit"] = s.pids_limit;
  if (!s.binds.empty())
    hc["Binds"] = s.binds;
  if (!s.mounts.empty()) {
    json mounts = json::array();
    for (auto& m : s.mounts) {
      json x = {{"Type", m.type}, {"Target", m.target}, {"ReadOnly", m.read_only}};
      if (!m.source.empty())
        x["Source"] = m.source;
      if (m.type == "bind" && !m.propagation.empty())
        x["BindOptions"] = {{"Propagation", m.propagation}};
      mounts.push_back(std::move(x));
    }
    hc["Mounts"] = std::move(mounts);
  }
  if (!s.network_mode.empty())
    hc["NetworkMode"] = s.network_mode;
  if (!s.restart_policy.empty())
    hc["RestartPolicy"] = {{"Name", s.restart_policy}};
  if (!s.pid_mode.empty())
    hc["PidMode"] = s.pid_mode;
  if (!s.ports.empty()) {
    json exposed = json::object();
    json bindings = json::object();
    for (auto& p : s.ports) {
      auto key = std::to_string(p.container_port) + "/" + p.proto;
      exposed[key] = json::object();
      // An empty HostPort lets the engine pick a free port.
      bindings[key].push_back(
        {{"HostIp", p.host_ip},
         {"HostPort", p.host_port ? std::to_string(p.host_port) : std::string{}}});
    }
    j["ExposedPorts"] = std::move(exposed);
    hc["PortBindings"] = std::move(bindings);
  }
  if (!s.cap_drop.empty())
    hc["CapDrop"] = s.cap_drop;
  if (!s.cap_add.empty())
    hc["CapAdd"] = s.cap_add;
  if (!s.security_opt.empty())
    hc["SecurityOpt"] = s.security_opt;
  if (s.readonly_rootfs)
    hc["ReadonlyRootfs"] = true;
  if (!s.tmpfs.empty())
    hc["Tmpfs"] = s.tmpfs;
  if (s.init)
    hc["Init"] = true;
  if (s.auto_remove)
    hc["AutoRemove"] = true;
  j["HostConfig"] = std::move(hc);
  return j.dump();
}

std::string update_body(int64_t memory, int64_t nano_cpus, int64_t pids_limit) {
  json j = json::object();
  if (memory > 0) {
    j["Memory"] = memory;
    j["MemorySwap"] = memory * 2;
  }
  if (nano_cpus > 0)
    j["NanoCpus"] = nano_cpus;
  if (pids_limit > 0)
    j["PidsLimit"] = pids_limit;
  return j.dump();
}

std::string exec_create_body(const exec_req& r) {
  json j = {{"Cmd", r.cmd},
            {"AttachStdin", false},
            {"AttachStdout", !r.detach},
            {"AttachStderr", !r.detach},
            {"Tty", false}};
  if (!r.env.empty())
    j["Env"] = r.env;
  if (!r.user.empty())
    j["User"] = r.user;
  if (!r.working_dir.empty())
    j["WorkingDir"] = r.working_dir;
  return j.dump();
}

std::string volume_create_body(const std::string& name,
                               const std::map<std::string, std::string>& labels) {
  return json{{"Name", name}, {"Labels", labels}}.dump();
}

std::string label_filters(const std::map<std::string, std::string>& labels) {
  json list = json::array();
  for (auto& [k, v] : labels)
    list.push_back(v.empty() ? k : k + "=" + v);
  return json{{"label", list}}.dump();
}

caf::expected<version_info> parse_version(const std::string& body) {
  auto j = parse(body, "GET /version");
  if (!j)
    return j.error();
  version_info v;
  v.version = str(*j, "Version");
  v.api_version = str(*j, "ApiVersion");
  v.min_api_version = str(*j, "MinAPIVersion");
  v.os = str(*j, "Os");
  v.arch = str(*j, "Arch");
  v.kernel = str(*j, "KernelVersion");
  if (v.api_version.empty())
    return malformed("GET /version", "no ApiVersion");
  return v;
}

caf::expected<container_info> parse_container_info(const std::string& body) {
  auto j = parse(body, "container inspect");
  if (!j)
    return j.error();
  container_info c;
  c.id = str(*j, "Id");
  c.name = strip_slash(str(*j, "Name"));
  auto& cfg = sub(*j, "Config");
  c.image = str(cfg, "Image");
  c.labels = string_map(cfg, "Labels");
  c.env = strings(cfg, "Env");
  auto& st = sub(*j, "State");
  c.state = str(st, "Status");
  c.running = flag(st, "Running");
  c.exit_code = num(st, "ExitCode");
  c.oom_killed = flag(st, "OOMKilled");
  c.pid = num(st, "Pid");
  c.started_at = str(st, "StartedAt");
  c.finished_at = str(st, "FinishedAt");
  auto& hc = sub(*j, "HostConfig");
  c.memory = num(hc, "Memory");
  c.nano_cpus = num(hc, "NanoCpus");
  c.pids_limit = num(hc, "PidsLimit");
  c.network_mode = str(hc, "NetworkMode");
  c.cap_add = strings(hc, "CapAdd");
  c.cap_drop = strings(hc, "CapDrop");
  c.security_opt = strings(hc, "SecurityOpt");
  // PortBindings: {"8000/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8000"}]}
  for (auto& [key, list] : sub(hc, "PortBindings").items()) {
    auto slash = key.find('/');
    auto cport = std::strtoul(key.substr(0, slash).c_str(), nullptr, 10);
    if (cport == 0 || cport > 65535 || !list.is_array())
      continue;
    for (auto& b : list) {
      port_binding pb;
      pb.container_port = static_cast<uint16_t>(cport);
      pb.proto = slash == std::string::npos ? "tcp" : key.substr(slash + 1);
      pb.host_ip = str(b, "HostIp");
      auto hport = std::strtoul(str(b, "HostPort").c_str(), nullptr, 10);
      pb.host_port = hport <= 65535 ? static_cast<uint16_t>(hport) : 0;
      c.ports.push_back(std::move(pb));
    }
  }
  auto it = j->find("Mounts");
  if (it != j->end() && it->is_array())
    for (auto& m : *it) {
      mount_spec ms;
      ms.type = str(m, "Type");
      ms.source = m.contains("Name") && ms.type == "volume" ? str(m, "Name")
                                                            : str(m, "Source");
      ms.target = str(m, "Destination");
      ms.read_only = m.contains("RW") && !flag(m, "RW");
      ms.propagation = str(m, "Propagation");
      c.mounts.push_back(std::move(ms));
    }
  if (c.id.empty())
    return malformed("container inspect", "no Id");
  return c;
}

caf::expected<std::vector<container_summary>>
parse_container_list(const std::string& body) {
  auto j = parse(body, "container list", true);
  if (!j)
    return j.error();
  std::vector<container_summary> out;
  for (auto& x : *j) {
    if (!x.is_object())
      return malformed("container list", "an entry is not an object");
    container_summary s;
    s.id = str(x, "Id");
    auto names = strings(x, "Names");
    if (!names.empty())
      s.name = strip_slash(names.front());
    s.image = str(x, "Image");
    s.state = str(x, "State");
    s.status = str(x, "Status");
    s.created = num(x, "Created");
    s.labels = string_map(x, "Labels");
    out.push_back(std::move(s));
  }
  return out;
}

caf::expected<image_info> parse_image_info(const std::string& body) {
  auto j = parse(body, "image inspect");
  if (!j)
    return j.error();
  image_info i;
  i.id = str(*j, "Id");
  i.tags = strings(*j, "RepoTags");
  i.size = num(*j, "Size");
  i.labels = string_map(sub(*j, "Config"), "Labels");
  if (i.id.empty())
    return malformed("image inspect", "no Id");
  return i;
}

caf::expected<volume_info> parse_volume_info(const std::string& body) {
  auto j = parse(body, "volume inspect");
  if (!j)
    return j.error();
  volume_info v;
  v.name = str(*j, "Name");
  v.driver = str(*j, "Driver");
  v.mountpoint = str(*j, "Mountpoint");
  v.labels = string_map(*j, "Labels");
  if (v.name.empty())
    return malformed("volume inspect", "no Name");
  return v;
}

caf::expected<std::string> parse_id(const std::string& body, const char* what) {
  auto j = parse(body, what);
  if (!j)
    return j.error();
  auto id = str(*j, "Id");
  if (id.empty())
    return malformed(what, "no Id");
  return id;
}

caf::expected<container_created> parse_created(const std::string& body) {
  auto j = parse(body, "container create");
  if (!j)
    return j.error();
  container_created c;
  c.id = str(*j, "Id");
  c.warnings = strings(*j, "Warnings");
  if (c.id.empty())
    return malformed("container create", "no Id");
  return c;
}

caf::expected<int64_t> parse_wait(const std::string& body) {
  auto j = parse(body, "container wait");
  if (!j)
    return j.error();
  auto it = j->find("StatusCode");
  if (it == j->end() || !it->is_number())
    return malformed("container wait", "no StatusCode");
  auto& e = sub(*j, "Error");
  if (!str(e, "Message").empty())
    return make_error(errc::internal, "container wait failed: " + str(e, "Message"));
  return it->get<int64_t>();
}

caf::expected<std::optional<int64_t>> parse_exec_inspect(const std::string& body) {
  auto j = parse(body, "exec inspect");
  if (!j)
    return j.error();
  if (flag(*j, "Running"))
    return std::optional<int64_t>{};
  auto it = j->find("ExitCode");
  if (it == j->end() || !it->is_number())
    return malformed("exec inspect", "no ExitCode");
  return std::optional<int64_t>{it->get<int64_t>()};
}

std::optional<event> parse_event(const std::string& line) {
  auto j = json::parse(line, nullptr, false);
  if (!j.is_object() || str(j, "Type") != "container")
    return std::nullopt;
  event e;
  e.action = str(j, "Action");
  auto& actor = sub(j, "Actor");
  e.id = str(actor, "ID");
  e.labels = string_map(actor, "Attributes");
  auto take = [&](const char* key) {
    auto it = e.labels.find(key);
    if (it == e.labels.end())
      return std::string{};
    auto v = std::move(it->second);
    e.labels.erase(it);
    return v;
  };
  e.name = take("name");
  take("image");
  auto code = take("exitCode");
  if (e.action == "die" && !code.empty())
    e.exit_code = std::strtoll(code.c_str(), nullptr, 10);
  e.time_nano = num(j, "timeNano");
  if (e.action.empty() || e.id.empty())
    return std::nullopt;
  return e;
}

stream_line parse_stream_line(const std::string& line) {
  stream_line out;
  auto j = json::parse(line, nullptr, false);
  if (!j.is_object())
    return out;
  auto err = str(j, "error");
  if (err.empty())
    err = str(sub(j, "errorDetail"), "message");
  if (!err.empty()) {
    out.error = err;
    return out;
  }
  pull_progress p;
  p.layer = str(j, "id");
  p.status = str(j, "status");
  auto& d = sub(j, "progressDetail");
  p.current = num(d, "current");
  p.total = num(d, "total");
  out.progress = std::move(p);
  return out;
}

void demux(const std::string& raw, std::string& out, std::string& err) {
  auto framed = [&](size_t pos) {
    if (raw.size() - pos < 8)
      return false;
    auto s = static_cast<unsigned char>(raw[pos]);
    return s <= 2 && raw[pos + 1] == 0 && raw[pos + 2] == 0 && raw[pos + 3] == 0;
  };
  if (raw.empty() || !framed(0)) {
    out += raw;
    return;
  }
  size_t pos = 0;
  while (pos < raw.size()) {
    if (!framed(pos)) {
      out.append(raw, pos, std::string::npos);  // trailing garbage: keep it visible
      return;
    }
    auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(raw[pos + i])); };
    uint32_t len = (b(4) << 24) | (b(5) << 16) | (b(6) << 8) | b(7);
    auto& dst = raw[pos] == 2 ? err : out;
    dst.append(raw, pos + 8, len);
    pos += 8 + static_cast<size_t>(len);
  }
}

bool version_less(const std::string& a, const std::string& b) {
  auto parts = [](const std::string& v) {
    auto dot = v.find('.');
    long major = std::strtol(v.c_str(), nullptr, 10);
    long minor = dot == std::string::npos ? 0 : std::strtol(v.c_str() + dot + 1, nullptr, 10);
    return std::make_pair(major, minor);
  };
  return parts(a) < parts(b);
}

} // namespace hal9000::docker::json
