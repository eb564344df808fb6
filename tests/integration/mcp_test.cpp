// The MCP servers Claude Code sees in every session (issue 16), end to end:
// the real claudy and hal9000d, the real worker image (hal9000/worker:local,
// with its MCP servers), the real ChromaDB image, sessions in the parent's
// network namespace (nothing else reachable is used). Each test has its own
// HAL9000_HOME, daemon id, parent prefix and a free CHROMADB_PORT (never
// 8000: the Chroma server must follow the daemon's port), and removes what it
// made, passed or not.
//   - warm: `claude mcp list` in a session shows every server connected,
//     with one of the operator's own from HAL9000_HOME/mcp/servers.json;
//     `claudy doctor` says each answers; the managed file names the port.
//   - cold: the SDK's client, run in the worker, drives our Chroma server
//     (create, add three, nearest one back) and the data is in the shared
//     ChromaDB as the host sees it; a Memory Bank entry written in one
//     session is read in another session of another project.
#include <chrono>
#include <fstream>
#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/mcp_config.hpp"
#include "support/chroma_server.hpp"
#include "support/cli_process.hpp"
#include "support/container_daemon.hpp"
#include "support/temp_dir.hpp"
#include "support/test_env.hpp"

using namespace hal9000;
using namespace hal9000::test;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

constexpr const char* collections
  = "/api/v2/tenants/default_tenant/databases/default_database/collections";

std::string client_script() {
  return std::string{HAL9000_SOURCE_DIR} + "/tests/integration/mcp_client.mjs";
}

json parse(const std::string& text) {
  return json::parse(text, nullptr, false);
}

// The last line of out that parses as a JSON object.
json last_json(const std::string& out) {
  json found = json::object();
  size_t pos = 0;
  while (pos < out.size()) {
    auto nl = out.find('\n', pos);
    auto line = out.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    auto j = parse(line);
    if (j.is_object())
      found = j;
    if (nl == std::string::npos)
      break;
    pos = nl + 1;
  }
  return found;
}

class mcp_test : public ::testing::Test {
protected:
  void SetUp() override {
    for (auto image : {"hal9000/parent:local", "hal9000/chromadb:local", "hal9000/worker:local"})
      if (!image_present(image))
        GTEST_SKIP() << "image " << image << " is missing: run scripts/build-images";
    int rc = -1;
    sh("docker run --rm --network none --entrypoint test hal9000/worker:local -f "
       + std::string{mcp::check_script},
       &rc);
    if (rc != 0)
      GTEST_SKIP() << "hal9000/worker:local has no MCP servers (" << mcp::check_script
                   << "): rebuild it with scripts/build-images worker";
    static int counter = 0;
    prefix_ = "h9t-" + run_id() + "-m" + std::to_string(++counter);
    chroma_port_ = free_loopback_port();
    env_ = std::make_unique<daemon_env>(home_.path);
    auto& v = env_->vars;
    set_managed_parent_vars(v, prefix_, chroma_port_);
    v["SKIP_IMAGE_PULL"] = "true";
    v["WORKER_MEMORY"] = "1g";
  }

  void TearDown() override {
    if (!env_)
      return;
    env_->claudy("daemon stop --all");
    env_.reset();  // kills a daemon left running, removes its labelled containers
    remove_by_prefix(prefix_);
  }

  // A project the worker's user (claude, 1000) can enter: mkdtemp made it 0700.
  static void open_to_worker(const temp_dir& d) {
    ASSERT_TRUE(open_project_to_worker(d.path));
  }

  void start_daemon() {
    auto r = env_->run(bin("claudy") + " daemon start --timeout 120");
    ASSERT_EQ(r.rc, 0) << r.out << sh("tail -30 " + home_.path + "/logs/hal9000d.out");
  }

  // A detached session on project; its record.
  json start_session(const temp_dir& project, const std::string& suffix) {
    auto name = prefix_ + "-" + suffix;
    auto r = env_->claudy("--json " + project.path + " --detach --name " + name);
    EXPECT_EQ(r.rc, 0) << r.out;
    // The container takes the session's name just after the reply.
    if (r.rc == 0)
      EXPECT_TRUE(wait_for([&] {
        return sh("docker inspect --format '{{.Name}}' " + name + " 2>/dev/null")
               == "/" + name + "\n";
      }, 10s)) << name;
    auto j = parse(r.out);
    return j.is_object() ? j : json::object();
  }

  // The test client inside a session's worker (see mcp_client.mjs).
  run_result client(const std::string& session, const std::string& args) {
    run_result r;
    r.out = sh("docker exec -i -w /opt/hal9000-mcp " + session
               + " node --input-type=module - " + args + " <" + client_script() + " 2>&1",
               &r.rc);
    return r;
  }

  temp_dir home_;
  temp_dir project_a_;
  temp_dir project_b_;
  std::string prefix_;
  uint16_t chroma_port_ = 0;
  std::unique_ptr<daemon_env> env_;
};

TEST_F(mcp_test, a_warm_session_sees_every_server_connected_on_the_daemons_chromadb_port) {
  ASSERT_NE(chroma_port_, 8000);
  env_->vars["ENABLE_POOL_MANAGER"] = "true";
  env_->vars["MIN_WARM_WORKERS"] = "1";
  env_->vars["MAX_WARM_WORKERS"] = "1";
  open_to_worker(project_a_);
  // A server of the operator's own (Claude Code refuses `claude mcp add`
  // beside a managed file): the image's Memory Bank server under another name.
  ASSERT_EQ(::mkdir((home_.path + "/mcp").c_str(), 0755), 0);
  std::ofstream{mcp::extra_servers_path(home_.path)} << R"({"mcpServers": {"my-notes": {
    "type": "stdio", "command": "/usr/bin/node",
    "args": ["/opt/hal9000-mcp/node_modules/@allpepper/memory-bank-mcp/dist/main/index.js"],
    "env": {"MEMORY_BANK_ROOT": "/tmp"}}}})";
  start_daemon();

  // The daemon's file names the port it was given, and the operator's server.
  std::ifstream in{mcp::config_path(home_.path)};
  auto cfg = json::parse(in, nullptr, false);
  ASSERT_TRUE(cfg.is_object()) << mcp::config_path(home_.path);
  EXPECT_EQ(cfg["mcpServers"]["chromadb"]["env"]["CHROMA_PORT"], std::to_string(chroma_port_));
  EXPECT_EQ(cfg["mcpServers"]["memory-bank"]["env"]["MEMORY_BANK_ROOT"], "/data/membank");
  EXPECT_TRUE(cfg["mcpServers"].contains("my-notes")) << cfg.dump(2);

  auto s = start_session(project_a_, "warm");
  ASSERT_EQ(s.value("served", ""), "warm") << s.dump(2);
  auto name = s.value("name", "");

  // Bound read-only at Claude Code's managed path.
  int rc = -1;
  sh("docker exec " + name + " sh -c 'echo x >> " + mcp::container_config + "' 2>/dev/null", &rc);
  EXPECT_NE(rc, 0) << "managed-mcp.json must be read-only in the worker";

  // Claude Code itself, as the worker's user, in /workspace.
  auto list = sh("docker exec -w /workspace " + name + " claude mcp list 2>&1", &rc);
  EXPECT_EQ(rc, 0) << list;
  for (auto& server : mcp::server_names())
    EXPECT_NE(list.find(server + ": /usr/bin/node"), std::string::npos) << server << "\n" << list;
  EXPECT_NE(list.find("my-notes: /usr/bin/node"), std::string::npos) << list;
  size_t connected = 0;
  for (auto p = list.find("Connected"); p != std::string::npos; p = list.find("Connected", p + 1))
    ++connected;
  EXPECT_EQ(connected, mcp::server_names().size() + 1) << list;

  // claudy doctor: each server answers, ChromaDB behind ours too.
  auto doc = env_->claudy("--json doctor " + name);
  EXPECT_EQ(doc.rc, 0) << doc.out;
  auto rep = parse(doc.out);
  ASSERT_TRUE(rep.is_object()) << doc.out;
  ASSERT_EQ(rep["servers"].size(), mcp::server_names().size() + 1) << doc.out;
  for (auto& srv : rep["servers"]) {
    EXPECT_TRUE(srv.value("ok", false)) << srv.dump();
    if (srv.value("name", "") == "chromadb") {
      EXPECT_NE(srv.value("detail", "").find("ChromaDB answers"), std::string::npos) << srv.dump();
    }
  }
  auto human = env_->claudy("doctor " + name);
  EXPECT_EQ(human.rc, 0) << human.out;
  EXPECT_NE(human.out.find("memory-bank"), std::string::npos) << human.out;
  auto unknown = env_->claudy("doctor " + prefix_ + "-nosuch");
  EXPECT_EQ(unknown.rc, 5) << unknown.out;
}

TEST_F(mcp_test, cold_sessions_store_in_the_shared_chromadb_and_share_the_memory_bank) {
  env_->vars["HAL9000_FORCE_COLD"] = "true";
  open_to_worker(project_a_);
  open_to_worker(project_b_);
  start_daemon();
  auto a = start_session(project_a_, "a");
  auto b = start_session(project_b_, "b");
  ASSERT_EQ(a.value("served", ""), "cold") << a.dump(2);
  ASSERT_EQ(b.value("served", ""), "cold") << b.dump(2);
  auto sa = a.value("name", "");
  auto sb = b.value("name", "");
  ASSERT_TRUE(wait_for([&] {
    return sh("docker inspect --format '{{.State.Running}}' " + sb + " 2>&1") == "true\n";
  }, 30s));

  // Cold workers get the same managed configuration.
  int rc = -1;
  auto list = sh("docker exec -w /workspace " + sb + " claude mcp list 2>&1", &rc);
  EXPECT_EQ(rc, 0) << list;
  size_t connected = 0;
  for (auto p = list.find("Connected"); p != std::string::npos; p = list.find("Connected", p + 1))
    ++connected;
  EXPECT_EQ(connected, mcp::server_names().size()) << list;

  // ChromaDB through our MCP server, driven by the SDK's client in the worker.
  auto collection = prefix_ + "-notes";
  auto r = client(sa, "chroma " + collection);
  ASSERT_EQ(r.rc, 0) << r.out;
  auto got = last_json(r.out);
  EXPECT_EQ(got.value("nearest", ""), "warm-pool") << r.out;
  EXPECT_EQ(got.value("count", 0), 3) << r.out;
  // The same data as the host sees it, on the daemon's ChromaDB port.
  auto url = "http://127.0.0.1:" + std::to_string(chroma_port_);
  auto [code, body] = http_get(url, std::string{collections} + "/" + collection);
  ASSERT_EQ(code, 200) << body;
  auto col = parse(body);
  EXPECT_EQ(col["metadata"].value("hal9000_embedding", ""), "hal9000-hashed-bow-v1") << body;
  auto [ccode, count] = http_get(url, std::string{collections} + "/" + col.value("id", "") + "/count");
  EXPECT_EQ(ccode, 200);
  EXPECT_EQ(count, "3");

  // Memory Bank: written in session a (project a), read in session b (project b).
  auto entry = "decision " + run_id() + ": keep MCP servers in the image";
  auto w = client(sa, "mb-write shared-" + prefix_ + " decisions.md '" + entry + "'");
  ASSERT_EQ(w.rc, 0) << w.out;
  auto rd = client(sb, "mb-read shared-" + prefix_ + " decisions.md");
  ASSERT_EQ(rd.rc, 0) << rd.out;
  EXPECT_EQ(last_json(rd.out).value("content", ""), entry) << rd.out;
}

TEST_F(mcp_test, an_image_without_the_servers_gets_no_managed_file_and_the_status_says_why) {
  // A managed-mcp.json takes every other MCP server away from Claude Code:
  // never bind it into an image that lacks ours.
  env_->vars["HAL9000_MANAGE_PARENT"] = "false";
  env_->vars["WORKER_IMAGE"] = "hal9000/test:busybox";
  open_to_worker(project_a_);
  start_daemon();
  auto st = parse(env_->claudy("--json daemon status").out);
  ASSERT_TRUE(st.is_object());
  EXPECT_NE(st.dump().find("hal9000/test:busybox does not carry hal9000's MCP servers"),
            std::string::npos) << st.dump(2);
  auto s = start_session(project_a_, "plain");
  auto name = s.value("name", "");
  ASSERT_FALSE(name.empty()) << s.dump(2);
  auto mounts = sh("docker inspect --format '{{range .Mounts}}{{.Destination}} {{end}}' " + name);
  EXPECT_EQ(mounts.find(mcp::container_config), std::string::npos) << mounts;
}

} // namespace
