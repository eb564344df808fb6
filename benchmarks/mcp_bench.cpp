// The MCP servers' cost to a session (issue 16), with the real worker image,
// the real ChromaDB and a parent of this benchmark's own:
//   mcp_connected.warm_claim   from `claudy PATH --detach` (warm pool) until
//                              `claude mcp list` in the session first reports
//                              every server connected (target: 2 s)
//   claude_mcp_list            one `claude mcp list` in a running session
//                              (starts every server and checks it)
//   mcp_servers_only           the image's check script in the session: the
//                              three servers started side by side, handshake
//                              and tools/list each (no Claude Code)
//   claude_version             `claude --version` in the session: Claude
//                              Code's own start, the floor under claude_mcp_list
//   mcp_server_start_cpu.<name>  CPU time (user+sys) of one server from
//                              spawn to its initialize answer and exit: what
//                              the start-up costs whatever the machine's load
//   chroma_mcp_query           one chroma_query_documents round trip through
//                              the SDK's client, in the worker, to our Chroma
//                              server and the shared ChromaDB
//   mcp_bench [--sessions N] [--queries N] [--client tests/integration/mcp_client.mjs]
// Runs its own daemon (bench_daemon.hpp: temporary HAL9000_HOME, free ports,
// own daemon id and parent prefix) and removes everything it made, also when
// interrupted.

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <thread>

#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "bench_daemon.hpp"
#include "bench_util.hpp"
#include "runtime/mcp_config.hpp"

using namespace hal9000::bench;
namespace fs = std::filesystem;

namespace {

bench_daemon* d = nullptr;

// Whether `claude mcp list` in the session reports every server connected.
bool all_connected(const std::string& session) {
  auto out = capture("docker exec -w /workspace " + session + " claude mcp list 2>&1");
  size_t n = 0;
  for (auto p = out.find("Connected"); p != std::string::npos; p = out.find("Connected", p + 1))
    ++n;
  return n == hal9000::mcp::server_names().size();
}

int project_counter = 0;

std::string new_project() {
  auto p = d->project("p" + std::to_string(++project_counter));
  // The worker's user (claude, 1000) must enter it.
  if (::chown(p.c_str(), 1000, 1000) != 0 || ::chmod(p.c_str(), 0755) != 0)
    std::fprintf(stderr, "mcp_bench: cannot hand %s to uid 1000\n", p.c_str());
  return p;
}

int run(int argc, char** argv) {
  int sessions = 5, queries = 200;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--sessions") == 0)
      sessions = std::atoi(argv[i + 1]);
    else if (std::strcmp(argv[i], "--queries") == 0)
      queries = std::atoi(argv[i + 1]);
  }
  // The build tree is <checkout>/build; --client names the script otherwise.
  auto client = (fs::path{build_claudy()}.parent_path().parent_path()
                 / "tests/integration/mcp_client.mjs").string();
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--client") == 0)
      client = argv[i + 1];
  if (!fs::exists(client)) {
    std::fprintf(stderr, "mcp_bench: no %s (give --client PATH)\n", client.c_str());
    return 2;
  }
  // Its own daemon and parent (bench_daemon.hpp), removed however we end.
  bench_daemon mine{"mcp-bench", "mcpbench-" + std::to_string(::getpid())};
  d = &mine;
  auto& prefix = mine.id();
  auto& home = mine.home();
  ::chmod(mine.projects().c_str(), 0755);
  mine.set("HAL9000_MANAGE_PARENT", "true");
  mine.set("CHROMADB_PORT", std::to_string(free_port()));
  mine.set("HAL9000_ALLOWED_ROOTS", "/tmp");
  mine.workers("hal9000/worker:local", "sleep 100000");
  mine.pool(1, 1);
  mine.limits("1g");
  if (mine.start(180) != 0)
    return 1;
  int failures = 0;
  std::vector<double> connected, list_ms, servers_ms, version_ms;
  std::string last_session;
  for (int i = 0; i < sessions; ++i) {
    if (!wait_until([] { return d->warm() >= 1; }, std::chrono::seconds(60),
                    std::chrono::milliseconds(5)))
      std::fprintf(stderr, "mcp_bench: no warm worker within 60 s\n");
    auto t0 = clock::now();
    auto j = mine.json(new_project() + " --detach");
    if (!j.is_object() || j.value("served", "") != "warm") {
      std::fprintf(stderr, "mcp_bench: session %d was not served warm: %s\n", i,
                   j.dump().c_str());
      ++failures;
      continue;
    }
    last_session = j.value("name", "");
    if (wait_until([&] { return all_connected(last_session); }, std::chrono::seconds(30),
                   std::chrono::milliseconds(5)))
      connected.push_back(ms_since(t0));
    else
      ++failures;
    auto t1 = clock::now();
    failures += all_connected(last_session) ? 0 : 1;
    list_ms.push_back(ms_since(t1));
    auto t2 = clock::now();
    int rc = -1;
    capture("docker exec " + last_session + " node " + hal9000::mcp::check_script + " --builtin",
            &rc);
    servers_ms.push_back(ms_since(t2));
    failures += rc != 0;
    auto t3 = clock::now();
    capture("docker exec " + last_session + " claude --version", &rc);
    version_ms.push_back(ms_since(t3));
  }
  // Each server's start-up CPU: initialize on stdin, EOF, exit; the shell's
  // children's times (/proc/$$/stat fields 16, 17: cutime, cstime; ticks).
  std::vector<std::pair<std::string, std::vector<double>>> cpu;
  if (!last_session.empty()) {
    std::ifstream in{hal9000::mcp::config_path(home)};
    auto cfg = nlohmann::json::parse(in, nullptr, false);
    const char* init = R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":)"
                       R"({"protocolVersion":"2025-06-18","capabilities":{},)"
                       R"("clientInfo":{"name":"bench","version":"1"}}})";
    long hz = ::sysconf(_SC_CLK_TCK);
    for (auto& name : hal9000::mcp::server_names()) {
      if (!cfg.is_object() || !cfg["mcpServers"].contains(name))
        continue;
      auto& srv = cfg["mcpServers"][name];
      std::string cmd = srv.value("command", "");
      for (auto& a : srv["args"])
        cmd += " " + a.get<std::string>();
      std::string env;
      for (auto& [k, v] : srv["env"].items())
        env += " -e " + k + "=" + v.get<std::string>();
      std::vector<double> samples;
      for (int i = 0; i < 5; ++i) {
        auto out = capture("docker exec -i" + env + " " + last_session
                           + " sh -c 'echo \"$0\" | " + cmd
                           + " >/dev/null 2>&1; cat /proc/$$/stat' '" + init + "'");
        // Fields after the command name "(...)": state is field 3.
        auto close = out.rfind(')');
        if (close == std::string::npos)
          continue;
        std::istringstream fields{out.substr(close + 2)};
        std::vector<std::string> f{std::istream_iterator<std::string>{fields}, {}};
        if (f.size() > 14)  // f[0] is field 3: cutime is field 16 -> f[13]
          samples.push_back((std::stod(f[13]) + std::stod(f[14])) * 1000.0 / static_cast<double>(hz));
      }
      cpu.emplace_back(name, samples);
    }
  }
  // Query round trips, timed inside the worker by the client itself.
  std::vector<double> query_ms;
  if (!last_session.empty()) {
    int rc = -1;
    auto out = capture("docker exec -i -w /opt/hal9000-mcp " + last_session
                       + " node --input-type=module - chroma-bench " + prefix + "-bench "
                       + std::to_string(queries) + " <" + client + " 2>&1", &rc);
    auto j = nlohmann::json::parse(out.substr(out.rfind('{') == std::string::npos ? 0 : out.rfind('{')),
                                   nullptr, false);
    if (rc == 0 && j.is_object() && j.contains("ms"))
      for (auto& v : j["ms"])
        query_ms.push_back(v.get<double>());
    else {
      std::fprintf(stderr, "mcp_bench: chroma-bench failed: %s\n", out.c_str());
      ++failures;
    }
  }
  print(summarize("mcp_connected.warm_claim", connected));
  print(summarize("claude_mcp_list", list_ms));
  print(summarize("mcp_servers_only", servers_ms));
  print(summarize("claude_version", version_ms));
  // Load while measuring: these figures are CPU-bound start-ups.
  double load[1] = {0};
  if (::getloadavg(load, 1) == 1)
    std::printf("{\"name\":\"loadavg_1min\",\"p50\":%.2f,\"p99\":%.2f,\"unit\":\"load\",\"n\":1}\n",
                load[0], load[0]);
  for (auto& [name, samples] : cpu)
    print(summarize("mcp_server_start_cpu." + name, samples));
  print(summarize("chroma_mcp_query", query_ms));
  if (failures > 0)
    std::fprintf(stderr, "mcp_bench: %d failures\n", failures);
  return failures > 0 ? 1 : 0;
}

} // namespace

int main(int argc, char** argv) {
  return guarded_main("mcp_bench", run, argc, argv);
}
