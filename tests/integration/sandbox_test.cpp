// The sandbox boundary end to end: the real hal9000d and claudy, the real
// parent, egress (tinyproxy) and worker images on the real Docker engine, a
// TLS upstream with a test CA on this host's loopback standing in for the
// model API (the daemon reaches it; workers reach only the daemon's proxy),
// and a plain TCP server of the test's own on the Docker bridge's gateway
// address standing in for "a host on the internet" (allowed.test is mapped
// to it in the parent's /etc/hosts). No traffic leaves the machine.
//
// It asserts that the worker holds a placeholder and never the key (env,
// files, /proc/*/environ, docker inspect), that the upstream got the real
// key, that a placeholder of an ended session is refused, that an allowed
// host is reached through the filtering proxy while a refused host and a
// bare IP are refused with events naming the session where it can be known,
// and that HAL9000_EGRESS_ALLOW=* opens egress again. The allowlist test runs
// with hal9000d as a host process and inside its parent container (container
// mode: the namespace owner is <prefix>-netns; the daemon enters it from its
// container). HAL9000_TEST_PARENT_IMAGE names the parent image (default
// hal9000/parent:local; container mode needs one that carries hal9000d).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "runtime/late_bind.hpp"
#include "support/cli_process.hpp"
#include "support/daemon_sessions.hpp"
#include "support/temp_dir.hpp"
#include "support/test_env.hpp"
#include "support/tls_upstream.hpp"

using namespace hal9000;
using namespace hal9000::test;
using namespace std::chrono_literals;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

const std::string real_key = "sk-ant-api03-SANDBOXTEST-realkey-4f9a2c";

// A plain TCP server on addr: counts connections, answers every one with
// "HTTP/1.0 200 OK ... hello-allowed".
struct tcp_target {
  int fd = -1;
  uint16_t port = 0;
  std::atomic<int> connections{0};
  std::atomic<bool> stop{false};
  std::thread t;

  explicit tcp_target(const std::string& addr) {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    ::inet_pton(AF_INET, addr.c_str(), &a.sin_addr);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 16) != 0) {
      ::close(fd);
      fd = -1;
      return;
    }
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    t = std::thread([this] {
      while (!stop) {
        int c = ::accept(fd, nullptr, nullptr);
        if (c < 0)
          continue;
        ++connections;
        char buf[1024];
        (void)!::recv(c, buf, sizeof buf, 0);
        std::string r = "HTTP/1.0 200 OK\r\nContent-Length: 13\r\n\r\nhello-allowed";
        (void)!::send(c, r.data(), r.size(), MSG_NOSIGNAL);
        ::close(c);
      }
    });
  }
  ~tcp_target() {
    stop = true;
    if (fd >= 0)
      ::shutdown(fd, SHUT_RDWR);
    if (t.joinable())
      t.join();
    if (fd >= 0)
      ::close(fd);
  }
};

// Runs inside the worker (node is in the worker image): model calls with the
// session's placeholder, a direct TCP connection, a request through the
// filtering proxy. The session's environment is read from /tmp/session.env,
// written by the session command.
const char* probe_js = R"JS(
const http = require('http'), net = require('net'), fs = require('fs');
const [mode, a1, a2] = process.argv.slice(2);
const env = {};
for (const l of fs.readFileSync('/tmp/session.env', 'utf8').split('\n')) {
  const i = l.indexOf('='); if (i > 0) env[l.slice(0, i)] = l.slice(i + 1);
}
const out = s => process.stdout.write(s);
const collect = r => { let b = ''; r.on('data', d => b += d); r.on('end', () => out(r.statusCode + ' ' + b)); };
if (mode === 'model') {
  const u = new URL((a2 || env.ANTHROPIC_BASE_URL) + '/v1/messages');
  const req = http.request({host: u.hostname, port: u.port, path: u.pathname, method: 'POST',
    headers: {'x-api-key': a1 || env.ANTHROPIC_API_KEY, 'content-type': 'application/json'}}, collect);
  req.on('error', e => out('error ' + e.message)); req.end('{"model":"m"}');
} else if (mode === 'direct') {
  let b = '';
  const s = net.connect({host: a1, port: +a2}, () => s.write('GET / HTTP/1.0\r\n\r\n'));
  s.on('data', d => b += d); s.on('end', () => out('reply ' + b));
  s.on('error', e => out('error ' + e.message + ' ' + b));
  s.setTimeout(8000, () => { out('timeout ' + b); s.destroy(); });
} else if (mode === 'proxy') {
  const p = new URL(env.HTTP_PROXY);
  const req = http.request({host: p.hostname, port: p.port, path: a1, method: 'GET',
    headers: {Host: new URL(a1).host}}, collect);
  req.on('error', e => out('error ' + e.message)); req.end();
}
)JS";

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
    s.pop_back();
  return s;
}

std::string parent_image() {
  auto* v = std::getenv("HAL9000_TEST_PARENT_IMAGE");
  return v && *v ? v : "hal9000/parent:local";
}

struct sandbox_test : ::testing::Test {
  /// "host" (hal9000d a host process) or "container" (in <prefix>-parent).
  std::string mode = "host";
  temp_dir home_dir;
  temp_dir project;
  temp_dir certs;
  std::string home = home_dir.path;
  test_ca ca;
  std::unique_ptr<tls_upstream> upstream;
  std::unique_ptr<daemon_env> env;
  std::string gateway;

  void SetUp() override {
    ASSERT_FALSE(home.empty());
    if (sh("docker image inspect hal9000/worker:local hal9000/egress:local "
           + parent_image() + " hal9000/chromadb:local >/dev/null 2>&1 && echo ok")
        != "ok\n")
      GTEST_SKIP() << "needs the worker, egress, parent and chromadb images: "
                      "scripts/build-images worker egress parent chromadb";
    if (mode == "container"
        && sh("docker run --rm --network none " + parent_image()
              + " hal9000d --version >/dev/null 2>&1 && echo ok") != "ok\n")
      GTEST_SKIP() << parent_image() << " does not carry hal9000d: scripts/build-images parent";
    ca = make_test_ca(certs.path);
    ASSERT_TRUE(ca.ok);
    upstream = std::make_unique<tls_upstream>(ca, [](const upstream_request&, upstream_writer& w) {
      w.respond(200, "application/json",
                R"({"type":"message","usage":{"input_tokens":11,"output_tokens":5}})");
    });
    ASSERT_TRUE(upstream->ok());
    // The bridge's gateway: this host's address on docker0, reachable from
    // the parent's namespace.
    gateway = trim(sh("ip -4 -o addr show docker0 | awk '{print $4}' | cut -d/ -f1"));
    ASSERT_FALSE(gateway.empty());
    std::ofstream{project.path + "/probe.js"} << probe_js;
    // The worker image runs as claude (1000): the project is its to enter.
    ASSERT_EQ(::chown(project.path.c_str(), 1000, 1000), 0);
    env = std::make_unique<daemon_env>(home);
    auto& v = env->vars;
    v["HAL9000_MANAGE_PARENT"] = "true";
    v["HAL9000_DAEMON_MODE"] = mode;
    v["PARENT_IMAGE"] = parent_image();
    v["CHROMADB_PORT"] = std::to_string(free_port());
    v["WORKER_IMAGE"] = "hal9000/worker:local";
    v["SKIP_IMAGE_PULL"] = "true";
    v["ENABLE_POOL_MANAGER"] = "true";
    v["MIN_WARM_WORKERS"] = "1";
    v["MAX_WARM_WORKERS"] = "2";
    v["WORKER_MEMORY"] = "512m";
    v["WORKER_COMMAND"] = "env > /tmp/session.env; exec sleep 100000";
    v["HAL9000_PROXY_UPSTREAM"] = upstream->url();
    v["HAL9000_PROXY_CA"] = ca.ca_cert;
    v["HAL9000_EGRESS_ALLOW"] = "allowed.test";
  }

  void TearDown() override {
    if (env) {
      env->claudy("daemon stop --all");
      env.reset();
    }
    release_late_binds(home_dir, project);
  }

  /// The network-namespace owner workers join.
  std::string parent() const {
    return env->daemon_id + (mode == "container" ? "-netns" : "-parent");
  }
  std::string egress() const { return env->daemon_id + "-egress"; }

  void start_daemon() {
    auto r = env->claudy("daemon start --timeout 180");
    ASSERT_EQ(r.rc, 0) << r.out << sh("tail -30 " + home + "/logs/hal9000d.log")
                       << sh("docker logs --tail 30 " + env->daemon_id + "-parent 2>&1");
  }

  std::string start_session(const std::string& name) {
    auto r = env->claudy("--json " + project.path + " --detach --name " + name);
    EXPECT_EQ(r.rc, 0) << r.out;
    EXPECT_TRUE(wait_for(
      [&] { return exec(name, "test -s /tmp/session.env && echo ok") == "ok\n"; }, 20s));
    return name;
  }

  std::string exec(const std::string& name, const std::string& cmd) {
    return sh("docker exec " + name + " sh -c '" + cmd + "' 2>&1");
  }

  std::string probe(const std::string& name, const std::string& args) {
    return sh("docker exec " + name + " node /workspace/probe.js " + args + " 2>&1");
  }

  // `claudy --json events`: one JSON object per line.
  json events() {
    auto r = env->claudy("--json events");
    auto out = json::array();
    std::istringstream in{r.out};
    for (std::string line; std::getline(in, line);)
      if (auto j = json::parse(line, nullptr, false); j.is_object())
        out.push_back(j);
    return out;
  }

  json find_event(const std::string& kind, const std::function<bool(const json&)>& pred) {
    json found;
    wait_for(
      [&] {
        for (auto& e : events())
          if (e.value("kind", "") == kind && pred(e)) {
            found = e;
            return true;
          }
        return false;
      },
      10s);
    return found;
  }

  json status() {
    auto r = env->claudy("--json daemon status");
    auto j = json::parse(r.out, nullptr, false);
    return j.is_discarded() ? json::object() : j;
  }
};

// The same in both of hal9000d's modes.
struct sandbox_modes_test : sandbox_test, ::testing::WithParamInterface<std::string> {
  void SetUp() override {
    mode = GetParam();
    sandbox_test::SetUp();
  }
};

} // namespace

TEST_P(sandbox_modes_test, the_key_stays_outside_and_egress_follows_the_allowlist) {
  tcp_target target{gateway};
  ASSERT_GT(target.port, 0) << "cannot listen on the bridge gateway " << gateway;
  start_daemon();
  auto key_in = env->run("sh -c \"printf '%s\\n' " + real_key + " | " + bin("claudy") + " setup\"");
  ASSERT_EQ(key_in.rc, 0) << key_in.out;
  // allowed.test is the test's own server on the bridge's gateway.
  sh("docker exec -u 0 " + parent() + " sh -c 'echo \"" + gateway
     + " allowed.test\" >> /etc/hosts'");
  sh("docker exec -u 0 " + egress() + " sh -c 'grep -q allowed.test /etc/hosts || echo \""
     + gateway + " allowed.test\" >> /etc/hosts'");

  auto st = status();
  ASSERT_TRUE(st["sandbox"]["attached"].get<bool>()) << st.dump(2);
  EXPECT_EQ(st["sandbox"]["egress"], "allowlist") << st.dump(2);
  EXPECT_EQ(st["sandbox"]["allow"], json::array({"allowed.test"}));

  auto s1 = start_session("sbx-one");
  // The worker: a placeholder, never the key.
  auto senv = exec(s1, "cat /tmp/session.env");
  EXPECT_NE(senv.find("ANTHROPIC_API_KEY=sk-ant-hal9000-"), std::string::npos) << senv;
  EXPECT_NE(senv.find("ANTHROPIC_BASE_URL=http://127.0.0.1:"), std::string::npos) << senv;
  EXPECT_NE(senv.find("HTTPS_PROXY=http://127.0.0.1:"), std::string::npos) << senv;
  auto ph = senv.substr(senv.find("ANTHROPIC_API_KEY=") + 18, 15 + 64);
  auto environs = exec(s1, "cat /proc/[0-9]*/environ 2>/dev/null | tr \"\\0\" \"\\n\"");
  EXPECT_NE(environs.find(ph), std::string::npos) << "the session's processes were not read";
  EXPECT_EQ(environs.find(real_key), std::string::npos);
  EXPECT_EQ(exec(s1, "grep -rsl " + real_key
                       + " /run /home /tmp /workspace /etc /hal9000 /root /var /data; true"),
            "");
  EXPECT_EQ(exec(s1, "ls /run/secrets 2>/dev/null; true"), "");
  EXPECT_EQ(sh("docker inspect " + s1).find(real_key), std::string::npos);
  EXPECT_EQ(sh("docker inspect " + s1 + " " + parent() + " " + egress()).find(ph),
            std::string::npos)
    << "the placeholder is in a container's configuration";

  // A model call: the upstream sees the real key.
  auto call = probe(s1, "model");
  EXPECT_EQ(call.rfind("200 ", 0), 0u) << call;
  auto got = upstream->received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].headers["x-api-key"], real_key);
  auto mc = find_event("model.call", [&](const json& e) { return e.value("session", "") == s1; });
  EXPECT_FALSE(mc.is_null()) << "no model.call event for " << s1;
  ASSERT_TRUE(wait_for(
    [&] {
      std::ifstream in{home + "/sessions/" + s1 + ".json"};
      auto j = json::parse(in, nullptr, false);
      return !j.is_discarded() && j["usage"]["requests"] == 1
             && j["usage"]["input_tokens"] == 11 && j["usage"]["output_tokens"] == 5;
    },
    10s))
    << "usage never reached the session file";

  // A bare IP: refused by the packet filter, told why, reported with the session.
  auto direct = probe(s1, "direct " + gateway + " " + std::to_string(target.port));
  EXPECT_NE(direct.find("403"), std::string::npos) << direct;
  EXPECT_NE(direct.find("HAL9000_EGRESS_ALLOW"), std::string::npos) << direct;
  EXPECT_EQ(target.connections.load(), 0) << "a bare IP got through";
  auto dest = gateway + ":" + std::to_string(target.port);
  auto refused = find_event("egress.refused", [&](const json& e) {
    return e.contains("details") && e["details"].value("destination", "") == dest;
  });
  ASSERT_FALSE(refused.is_null()) << "no egress.refused event for " << dest;
  EXPECT_EQ(refused.value("session", ""), s1) << refused.dump();

  // A host not on the list, through the filtering proxy: 403 naming the setting.
  auto blocked = probe(s1, "proxy http://blocked.test/");
  EXPECT_EQ(blocked.rfind("403 ", 0), 0u) << blocked;
  EXPECT_NE(blocked.find("HAL9000_EGRESS_ALLOW"), std::string::npos) << blocked;
  auto fr = find_event("egress.refused", [&](const json& e) {
    return e.contains("details") && e["details"].value("destination", "") == "blocked.test";
  });
  EXPECT_FALSE(fr.is_null()) << "no egress.refused event for blocked.test";

  // The allowed host is reached through the filtering proxy.
  auto allowed = probe(s1, "proxy http://allowed.test:" + std::to_string(target.port) + "/");
  EXPECT_EQ(allowed, "200 hello-allowed");
  EXPECT_EQ(target.connections.load(), 1);

  // An ended session's placeholder is refused (asked from another session).
  auto s2 = start_session("sbx-two");
  ASSERT_EQ(env->claudy("stop " + s1).rc, 0);
  ASSERT_TRUE(wait_for([&] { return probe(s2, "model " + ph).rfind("401 ", 0) == 0; }, 10s))
    << probe(s2, "model " + ph);
  EXPECT_EQ(upstream->received().size(), 1u);

  // HAL9000_EGRESS_ALLOW=* restores open egress; the adopted session's
  // placeholder still works after the restart.
  ASSERT_EQ(env->claudy("daemon stop").rc, 0);
  env->vars["HAL9000_EGRESS_ALLOW"] = "*";
  start_daemon();
  EXPECT_EQ(status()["sandbox"]["egress"], "open");
  auto open = probe(s2, "direct " + gateway + " " + std::to_string(target.port));
  EXPECT_NE(open.find("hello-allowed"), std::string::npos) << open;
  EXPECT_EQ(target.connections.load(), 2);
  auto again = probe(s2, "model");
  EXPECT_EQ(again.rfind("200 ", 0), 0u) << again;
}

INSTANTIATE_TEST_SUITE_P(daemon_mode, sandbox_modes_test,
                         ::testing::Values(std::string{"host"}, std::string{"container"}),
                         [](const auto& info) { return info.param; });

// The issue's "done when": Claude Code itself, in the real worker image, runs
// a prompt through the credential proxy against the test upstream, which
// answers like the Messages API (streamed when asked).
TEST_F(sandbox_test, claude_code_in_a_session_works_through_the_proxy) {
  upstream = std::make_unique<tls_upstream>(ca, [](const upstream_request& r,
                                                   upstream_writer& w) {
    if (r.target.find("/v1/messages") != 0) {
      w.respond(404, "application/json",
                R"({"type":"error","error":{"type":"not_found_error","message":"no"}})");
      return;
    }
    if (r.target.find("count_tokens") != std::string::npos) {
      w.respond(200, "application/json", R"({"input_tokens":3})");
      return;
    }
    const std::string msg_start
      = R"({"type":"message_start","message":{"id":"msg_test","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":21,"output_tokens":1}}})";
    if (r.body.find("\"stream\":true") == std::string::npos) {
      w.respond(200, "application/json",
                R"({"id":"msg_test","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"pong-from-test-upstream"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":21,"output_tokens":4}})");
      return;
    }
    w.begin_chunked(200, "text/event-stream");
    auto ev = [&](const std::string& name, const std::string& data) {
      w.chunk("event: " + name + "\ndata: " + data + "\n\n");
    };
    ev("message_start", msg_start);
    ev("content_block_start", R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})");
    ev("content_block_delta", R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"pong-from-test-upstream"}})");
    ev("content_block_stop", R"({"type":"content_block_stop","index":0})");
    ev("message_delta", R"({"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":4}})");
    ev("message_stop", R"({"type":"message_stop"})");
    w.end();
  });
  ASSERT_TRUE(upstream->ok());
  env->vars["HAL9000_PROXY_UPSTREAM"] = upstream->url();
  env->vars["WORKER_COMMAND"]
    = "env > /tmp/session.env; CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 timeout 120 claude -p "
      "\"say pong\" > /workspace/claude.out 2>&1; echo $? > /workspace/claude.rc;"
      " exec sleep 100000";
  start_daemon();
  auto key_in = env->run("sh -c \"printf '%s\\n' " + real_key + " | " + bin("claudy") + " setup\"");
  ASSERT_EQ(key_in.rc, 0) << key_in.out;
  auto s = start_session("sbx-claude");
  ASSERT_TRUE(wait_for([&] { return fs::exists(project.path + "/claude.rc"); }, 150s));
  std::ifstream out_f{project.path + "/claude.out"};
  std::string out{std::istreambuf_iterator<char>{out_f}, std::istreambuf_iterator<char>{}};
  EXPECT_NE(out.find("pong-from-test-upstream"), std::string::npos) << out;
  auto got = upstream->received();
  ASSERT_FALSE(got.empty());
  for (auto& r : got)
    EXPECT_EQ(r.headers["x-api-key"], real_key) << r.target;
}
