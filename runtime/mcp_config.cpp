#include "runtime/mcp_config.hpp"

#include <sstream>

#include <nlohmann/json.hpp>

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

std::string managed_mcp_json(const settings& s) {
  nlohmann::json servers = nlohmann::json::object();
  servers["chromadb"] = stdio("chroma/server.mjs",
                              {{"CHROMA_HOST", s.chroma_host},
                               {"CHROMA_PORT", std::to_string(s.chroma_port)}});
  servers["memory-bank"] = stdio("node_modules/@allpepper/memory-bank-mcp/dist/main/index.js",
                                 {{"MEMORY_BANK_ROOT", membank_root}});
  servers["sequential-thinking"]
    = stdio("node_modules/@modelcontextprotocol/server-sequential-thinking/dist/index.js",
            nlohmann::json::object());
  return nlohmann::json{{"mcpServers", servers}}.dump(2) + "\n";
}

std::string config_path(const std::string& home) {
  return home + "/mcp/managed-mcp.json";
}

caf::expected<std::string> write_managed_mcp(const std::string& home, const settings& s) {
  if (auto err = make_dirs(home + "/mcp", 0755))
    return err;
  auto path = config_path(home);
  if (auto err = write_file_atomic(path, managed_mcp_json(s), 0644))
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
