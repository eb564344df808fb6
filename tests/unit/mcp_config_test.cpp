// Claude Code's managed MCP configuration the daemon writes for every worker,
// and the check script's output as `claudy doctor` reads it.
#include <gtest/gtest.h>

#include <map>
#include <optional>

#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "messages/error.hpp"
#include "runtime/atomic_file.hpp"
#include "runtime/config.hpp"
#include "runtime/mcp_config.hpp"
#include "support/temp_dir.hpp"

using namespace hal9000;
using json = nlohmann::json;

TEST(mcp_config, names_the_images_servers_with_chromadb_at_the_daemons_port) {
  auto j = json::parse(mcp::managed_mcp_json({"127.0.0.1", 8123}));
  auto& s = j["mcpServers"];
  ASSERT_EQ(s.size(), 3u);
  for (auto& name : mcp::server_names()) {
    ASSERT_TRUE(s.contains(name)) << name;
    EXPECT_EQ(s[name]["type"], "stdio");
    EXPECT_EQ(s[name]["command"], "/usr/bin/node");
    EXPECT_EQ(s[name]["args"][0].get<std::string>().rfind("/opt/hal9000-mcp/", 0), 0u);
  }
  EXPECT_EQ(s["chromadb"]["env"]["CHROMA_HOST"], "127.0.0.1");
  EXPECT_EQ(s["chromadb"]["env"]["CHROMA_PORT"], "8123");
  EXPECT_EQ(s["memory-bank"]["env"]["MEMORY_BANK_ROOT"], "/data/membank");
}

TEST(mcp_config, a_wildcard_bind_address_is_reached_on_the_loopback) {
  EXPECT_EQ(mcp::worker_chroma_host("0.0.0.0"), "127.0.0.1");
  EXPECT_EQ(mcp::worker_chroma_host(""), "127.0.0.1");
  EXPECT_EQ(mcp::worker_chroma_host("::"), "127.0.0.1");
  EXPECT_EQ(mcp::worker_chroma_host("127.0.0.2"), "127.0.0.2");
}

TEST(mcp_config, written_world_readable_under_home_mcp_and_replaced_whole) {
  test::temp_dir home;
  ASSERT_FALSE(home.path.empty());
  std::vector<std::string> notes;
  auto p = mcp::write_managed_mcp(home.path, {"127.0.0.1", 9000}, notes);
  ASSERT_TRUE(p) << error_message(p.error());
  EXPECT_EQ(*p, home.path + "/mcp/managed-mcp.json");
  struct stat st{};
  ASSERT_EQ(::stat(p->c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);
  auto again = mcp::write_managed_mcp(home.path, {"127.0.0.1", 9001}, notes);
  ASSERT_TRUE(again);
  auto text = read_file(*again);
  ASSERT_TRUE(text);
  EXPECT_EQ(json::parse(*text)["mcpServers"]["chromadb"]["env"]["CHROMA_PORT"], "9001");
  EXPECT_TRUE(notes.empty());
}

TEST(mcp_config, the_operators_servers_json_is_merged_and_ours_keep_their_names) {
  test::temp_dir home;
  ASSERT_FALSE(home.path.empty());
  ASSERT_FALSE(make_dirs(home.path + "/mcp", 0755));
  ASSERT_FALSE(write_file_atomic(mcp::extra_servers_path(home.path), R"({"mcpServers": {
    "mine": {"type": "stdio", "command": "/usr/bin/node", "args": ["/opt/mine.js"]},
    "chromadb": {"command": "/bin/false"},
    "odd": 3}})", 0644));
  std::vector<std::string> notes;
  auto p = mcp::write_managed_mcp(home.path, {"127.0.0.1", 9000}, notes);
  ASSERT_TRUE(p) << error_message(p.error());
  auto j = json::parse(*read_file(*p));
  EXPECT_EQ(j["mcpServers"]["mine"]["args"][0], "/opt/mine.js");
  EXPECT_EQ(j["mcpServers"]["chromadb"]["env"]["CHROMA_PORT"], "9000");
  EXPECT_FALSE(j["mcpServers"].contains("odd"));
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_NE(notes[0].find("'chromadb' left out: the name is hal9000's own"), std::string::npos);
  EXPECT_NE(notes[1].find("'odd' left out"), std::string::npos);
}

TEST(mcp_config, a_servers_json_that_does_not_parse_is_moved_aside_and_ours_are_written) {
  test::temp_dir home;
  ASSERT_FALSE(home.path.empty());
  ASSERT_FALSE(make_dirs(home.path + "/mcp", 0755));
  ASSERT_FALSE(write_file_atomic(mcp::extra_servers_path(home.path), "{not json", 0644));
  std::vector<std::string> notes;
  auto p = mcp::write_managed_mcp(home.path, {"127.0.0.1", 9000}, notes);
  ASSERT_TRUE(p) << error_message(p.error());
  EXPECT_EQ(json::parse(*read_file(*p))["mcpServers"].size(), 3u);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("left out"), std::string::npos) << notes[0];
  EXPECT_NE(notes[0].find("moved to " + home.path + "/mcp/corrupt/servers.json."), std::string::npos)
    << notes[0];
  struct stat st{};
  EXPECT_NE(::stat(mcp::extra_servers_path(home.path).c_str(), &st), 0);
}

TEST(mcp_config, check_output_is_read_line_by_line_and_noise_is_skipped) {
  auto r = mcp::parse_check_output(
    "npm warn something\n"
    R"J({"name":"chromadb","ok":true,"ms":812,"tools":9,"detail":"9 tools; ChromaDB answers (0 collections)"})J"
    "\n"
    R"({"name":"memory-bank","ok":false,"ms":10000,"tools":0,"detail":"no answer within 10000 ms"})"
    "\n[1,2]\n{\"ok\":true}\n");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].name, "chromadb");
  EXPECT_TRUE(r[0].ok);
  EXPECT_EQ(r[0].ms, 812);
  EXPECT_EQ(r[0].tools, 9);
  EXPECT_EQ(r[1].name, "memory-bank");
  EXPECT_FALSE(r[1].ok);
  EXPECT_EQ(r[1].detail, "no answer within 10000 ms");
  EXPECT_TRUE(mcp::parse_check_output("").empty());
}

TEST(mcp_config, on_by_default_and_switched_off_by_HAL9000_MANAGED_MCP) {
  auto env = [](std::map<std::string, std::string> vars) -> env_lookup {
    vars["HAL9000_HOME"] = "/nonexistent/hal9000-test-home";
    return [vars](const std::string& k) -> std::optional<std::string> {
      auto i = vars.find(k);
      return i == vars.end() ? std::nullopt : std::optional<std::string>{i->second};
    };
  };
  auto on = load_config(env({}));
  ASSERT_TRUE(on) << error_message(on.error());
  EXPECT_TRUE(on->managed_mcp);
  auto off = load_config(env({{"HAL9000_MANAGED_MCP", "false"}}));
  ASSERT_TRUE(off) << error_message(off.error());
  EXPECT_FALSE(off->managed_mcp);
  auto bad = load_config(env({{"HAL9000_MANAGED_MCP", "sometimes"}}));
  ASSERT_FALSE(bad);
  EXPECT_EQ(error_code(bad.error()), errc::invalid_argument);
  EXPECT_NE(error_message(bad.error()).find("HAL9000_MANAGED_MCP"), std::string::npos);
}
