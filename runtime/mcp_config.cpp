#include "runtime/mcp_config.hpp"

#include <sstream>

#include <nlohmann/json.hpp>

#include "messages/error.hpp"
#include "runtime/atomic_file.hpp"

namespace hal9000::mcp {

namespace {

constexpr const char* node = "/usr/bin/node";
constexpr const char* root = "/opt/hal9000-mcp";

nlohmann::json stdio(std::string script, nlohmann::json env) {
  return {{"type", "stdio"},
          {"command", node},
          {"args", {std::string{root} + "/" + script}},
          {"env", std::move(env)}};
}

} // namespace

const std::vector<std::string>& server_names() {
  static const std::vector<std::string> names{"chromadb", "memory-bank", "sequential-thinking"};
  return names;
}

std::string worker_chroma_host(const std::string& bind_host) {
  if (bind_host.empty() || bind_host == "0.0.0.0" || bind_host == "::" || bind_host == "[::]")
    return "127.0.0.1";
  return bind_host;
}

nlohmann::json our_servers(const settings& s) {
  nlohmann::json servers = nlohmann::json::object();
  servers["chromadb"] = stdio("chroma/server.mjs",
                              {{"CHROMA_HOST", s.chroma_host},
                               {"CHROMA_PORT", std::to_string(s.chroma_port)}});
  servers["memory-bank"] = stdio("node_modules/@allpepper/memory-bank-mcp/dist/main/index.js",
                                 {{"MEMORY_BANK_ROOT", membank_root}});
  servers["sequential-thinking"]
    = stdio("node_modules/@modelcontextprotocol/server-sequential-thinking/dist/index.js",
            nlohmann::json::object());
  return servers;
}

std::string managed_mcp_json(const settings& s) {
  return nlohmann::json{{"mcpServers", our_servers(s)}}.dump(2) + "\n";
}

caf::expected<std::string> managed_mcp_json(const settings& s, const std::string& extra,
                                            std::vector<std::string>& notes) {
  auto servers = our_servers(s);
  if (!extra.empty()) {
    auto j = nlohmann::json::parse(extra, nullptr, false);
    if (!j.is_object() || !j.contains("mcpServers") || !j["mcpServers"].is_object())
      return make_error(errc::invalid_argument,
                        "not a JSON object with an \"mcpServers\" object");
    for (auto& [name, srv] : j["mcpServers"].items()) {
      if (servers.contains(name)) {
        notes.push_back("MCP servers: servers.json's '" + name
                        + "' left out: the name is hal9000's own");
        continue;
      }
      if (!srv.is_object()) {
        notes.push_back("MCP servers: servers.json's '" + name + "' left out: not an object");
        continue;
      }
      servers[name] = srv;
    }
  }
  return nlohmann::json{{"mcpServers", servers}}.dump(2) + "\n";
}

std::string config_path(const std::string& home) {
  return home + "/mcp/managed-mcp.json";
}

std::string extra_servers_path(const std::string& home) {
  return home + "/mcp/servers.json";
}

caf::expected<std::string> write_managed_mcp(const std::string& home, const settings& s,
                                             std::vector<std::string>& notes) {
  if (auto err = make_dirs(home + "/mcp", 0755))
    return err;
  std::string extra;
  auto extra_path = extra_servers_path(home);
  if (auto text = read_file(extra_path))
    extra = std::move(*text);
  else if (error_code(text.error()) != errc::not_found)
    notes.push_back("MCP servers: cannot read " + extra_path + ": " + error_message(text.error()));
  auto json = managed_mcp_json(s, extra, notes);
  if (!json) {
    auto why = error_message(json.error());
    auto moved = move_aside(extra_path, home + "/mcp/corrupt");
    notes.push_back("MCP servers: " + extra_path + " left out (" + why + ")"
                    + (moved ? "; moved to " + *moved : ""));
    json = managed_mcp_json(s);
  }
  auto path = config_path(home);
  if (auto err = write_file_atomic(path, *json, 0644))
    return err;
  return path;
}

std::vector<mcp_server_state> parse_check_output(const std::string& out) {
  std::vector<mcp_server_state> res;
  std::istringstream in{out};
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_object() || !j.contains("name") || !j["name"].is_string())
      continue;
    mcp_server_state c;
    c.name = j["name"].get<std::string>();
    c.ok = j.value("ok", false);
    c.ms = j.value("ms", int64_t{0});
    c.tools = j.value("tools", int64_t{0});
    c.detail = j.value("detail", std::string{});
    res.push_back(std::move(c));
  }
  return res;
}

} // namespace hal9000::mcp
