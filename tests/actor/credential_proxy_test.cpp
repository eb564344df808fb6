// The credential proxy with real TCP and TLS on loopback: a TLS upstream with
// a test CA (tests/support/tls_upstream) stands in for the model API. The
// proxy must hand the upstream the user's real key (never the placeholder),
// refuse unknown and revoked placeholders, pass server-sent events on as they
// are sent, and count requests and tokens. The sandbox actor is driven the
// way the daemon drives it (grant, attach, session.ended), attached to this
// process's own namespace (no parent here; the Docker test covers that).
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>
#include <gtest/gtest.h>
#include <httplib.h>

#include "actors/sandbox.hpp"
#include "messages/sandbox.hpp"
#include "runtime/proxy_server.hpp"
#include "runtime/users.hpp"
#include "support/temp_dir.hpp"
#include "support/test_env.hpp"
#include "support/tls_upstream.hpp"

using namespace hal9000;
using namespace hal9000::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

const std::string real_key = "sk-ant-api03-REALKEY-never-in-a-worker-0123456789";

std::string message_json() {
  return R"({"id":"msg_1","type":"message","content":[{"type":"text","text":"hi"}],)"
         R"("usage":{"input_tokens":12,"output_tokens":7}})";
}

struct proxy_fixture : ::testing::Test {
  temp_dir dir;
  test_ca ca;
  std::string home;

  void SetUp() override {
    ASSERT_FALSE(dir.path.empty());
    ca = make_test_ca(dir.path);
    ASSERT_TRUE(ca.ok) << "openssl could not make the test CA";
    home = dir.path + "/home";
    auto p = user_paths_for(home, "uid-4242");
    fs::create_directories(p.secrets);
    std::ofstream{p.key} << real_key << "\n";
  }
};

// Collects usage deltas from server threads.
struct reports {
  std::mutex mtx;
  std::vector<proxy::usage_delta> xs;
  void add(const proxy::usage_delta& d) {
    std::lock_guard<std::mutex> g{mtx};
    xs.push_back(d);
  }
  std::vector<proxy::usage_delta> ends() {
    std::lock_guard<std::mutex> g{mtx};
    std::vector<proxy::usage_delta> out;
    for (auto& d : xs)
      if (d.in_flight < 0)
        out.push_back(d);
    return out;
  }
};

} // namespace

TEST_F(proxy_fixture, the_upstream_gets_the_users_key_and_a_revoked_placeholder_is_refused) {
  tls_upstream up{ca, [](const upstream_request&, upstream_writer& w) {
                    w.respond(200, "application/json", message_json());
                  }};
  ASSERT_TRUE(up.ok());
  auto grants = std::make_shared<proxy::grant_table>();
  auto ph = proxy::make_placeholder();
  grants->put(ph, {"s1", "uid-4242"});
  reports rep;
  proxy::server_options o;
  o.upstream = up.url();
  o.ca_file = ca.ca_cert;
  o.home = home;
  o.grants = grants;
  o.report = [&](const proxy::usage_delta& d) { rep.add(d); };
  auto srv = proxy::server::start(o);
  ASSERT_TRUE(srv) << to_string(srv.error());
  httplib::Client cli{"127.0.0.1", (*srv)->port()};
  auto res = cli.Post("/v1/messages?beta=true",
                      {{"x-api-key", ph}, {"anthropic-version", "2023-06-01"}},
                      R"({"model":"m","max_tokens":5})", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, message_json());
  auto got = up.received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].headers["x-api-key"], real_key);
  EXPECT_EQ(got[0].target, "/v1/messages?beta=true");
  EXPECT_EQ(got[0].headers["anthropic-version"], "2023-06-01");
  EXPECT_EQ(got[0].body, R"({"model":"m","max_tokens":5})");
  for (auto& [k, v] : got[0].headers)
    EXPECT_EQ(v.find(ph), std::string::npos) << "the placeholder reached the upstream in " << k;
  ASSERT_TRUE(wait_for([&] { return rep.ends().size() == 1; }, 5s));
  auto end = rep.ends()[0];
  EXPECT_EQ(end.session, "s1");
  EXPECT_EQ(end.input_tokens, 12u);
  EXPECT_EQ(end.output_tokens, 7u);
  EXPECT_EQ(end.errors, 0u);

  // Authorization: Bearer works the same way.
  auto bearer = cli.Get("/v1/models", {{"Authorization", "Bearer " + ph}});
  ASSERT_TRUE(bearer);
  EXPECT_EQ(bearer->status, 200);
  EXPECT_EQ(up.received().back().headers["x-api-key"], real_key);
  EXPECT_EQ(up.received().back().headers.count("authorization"), 0u);

  // Revoked (the session ended), unknown, or none at all: 401, nothing sent on.
  grants->revoke_session("s1");
  auto before = up.received().size();
  for (auto& hdrs : {httplib::Headers{{"x-api-key", ph}},
                     httplib::Headers{{"x-api-key", proxy::make_placeholder()}},
                     httplib::Headers{}}) {
    auto r = cli.Post("/v1/messages", hdrs, "{}", "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 401);
    EXPECT_NE(r->body.find("hal9000 credential proxy"), std::string::npos) << r->body;
  }
  EXPECT_EQ(up.received().size(), before);
}

TEST_F(proxy_fixture, an_upstream_with_a_certificate_from_another_ca_is_refused) {
  temp_dir other;
  auto other_ca = make_test_ca(other.path);
  ASSERT_TRUE(other_ca.ok);
  tls_upstream up{ca, [](const upstream_request&, upstream_writer& w) {
                    w.respond(200, "application/json", "{}");
                  }};
  ASSERT_TRUE(up.ok());
  auto grants = std::make_shared<proxy::grant_table>();
  auto ph = proxy::make_placeholder();
  grants->put(ph, {"s1", "uid-4242"});
  proxy::server_options o;
  o.upstream = up.url();
  o.ca_file = other_ca.ca_cert;  // not the one that signed the upstream
  o.home = home;
  o.grants = grants;
  auto srv = proxy::server::start(o);
  ASSERT_TRUE(srv);
  httplib::Client cli{"127.0.0.1", (*srv)->port()};
  auto r = cli.Post("/v1/messages", {{"x-api-key", ph}}, "{}", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 502);
  EXPECT_TRUE(up.received().empty()) << "the key went to an unverified upstream";
}

TEST_F(proxy_fixture, server_sent_events_arrive_in_pieces_as_sent_and_their_usage_counts) {
  // The upstream sends message_start, then waits until the worker side has
  // it before sending the rest: a proxy that buffers would never deliver it.
  std::mutex mtx;
  std::condition_variable cv;
  bool first_seen = false;
  const std::string ev1 = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":"
                          "{\"usage\":{\"input_tokens\":25,\"output_tokens\":1}}}\n\n";
  const std::string ev2 = "event: content_block_delta\ndata: {\"type\":\"content_block_delta\","
                          "\"delta\":{\"text\":\"hello\"}}\n\n";
  const std::string ev3 = "event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":"
                          "{\"output_tokens\":15}}\n\nevent: message_stop\ndata: "
                          "{\"type\":\"message_stop\"}\n\n";
  tls_upstream up{ca, [&](const upstream_request&, upstream_writer& w) {
                    w.begin_chunked(200, "text/event-stream");
                    w.chunk(ev1);
                    {
                      std::unique_lock<std::mutex> g{mtx};
                      cv.wait_for(g, 10s, [&] { return first_seen; });
                    }
                    w.chunk(ev2);
                    w.chunk(ev3);
                    w.end();
                  }};
  ASSERT_TRUE(up.ok());
  auto grants = std::make_shared<proxy::grant_table>();
  auto ph = proxy::make_placeholder();
  grants->put(ph, {"s2", "uid-4242"});
  reports rep;
  proxy::server_options o;
  o.upstream = up.url();
  o.ca_file = ca.ca_cert;
  o.home = home;
  o.grants = grants;
  o.report = [&](const proxy::usage_delta& d) { rep.add(d); };
  auto srv = proxy::server::start(o);
  ASSERT_TRUE(srv);
  httplib::Client cli{"127.0.0.1", (*srv)->port()};
  std::vector<std::string> pieces;
  std::string all;
  bool first_alone = false;
  auto t0 = std::chrono::steady_clock::now();
  // A receiver sees the pieces as they come.
  httplib::Request req;
  req.method = "POST";
  req.path = "/v1/messages";
  req.headers = {{"x-api-key", ph}, {"Content-Type", "application/json"}};
  req.body = R"({"stream":true})";
  req.content_receiver = [&](const char* data, size_t len, uint64_t, uint64_t) {
    pieces.emplace_back(data, len);
    all.append(data, len);
    if (all.find("message_start") != std::string::npos && !first_seen) {
      first_alone = all.find("content_block_delta") == std::string::npos;
      std::lock_guard<std::mutex> g{mtx};
      first_seen = true;
      cv.notify_all();
    }
    return true;
  };
  httplib::Response resp;
  httplib::Error err = httplib::Error::Success;
  ASSERT_TRUE(cli.send(req, resp, err)) << httplib::to_string(err);
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(resp.status, 200);
  EXPECT_TRUE(first_alone) << "message_start arrived together with what was sent after it";
  EXPECT_GE(pieces.size(), 2u);
  EXPECT_EQ(all, ev1 + ev2 + ev3);
  EXPECT_LT(took, 10s) << "the first event only came when the upstream gave up waiting";
  ASSERT_TRUE(wait_for([&] { return rep.ends().size() == 1; }, 5s));
  auto end = rep.ends()[0];
  EXPECT_EQ(end.input_tokens, 25u);
  EXPECT_EQ(end.output_tokens, 15u);
}

TEST_F(proxy_fixture, the_sandbox_actor_grants_counts_and_revokes_when_the_session_ends) {
  tls_upstream up{ca, [](const upstream_request&, upstream_writer& w) {
                    w.respond(200, "application/json", message_json());
                  }};
  ASSERT_TRUE(up.ok());
  test_config cfg;
  caf::actor_system sys{cfg};
  sandbox_options so;
  so.home = home;
  so.proxy_port = 0;
  so.upstream = up.url();
  so.ca_file = ca.ca_cert;
  so.enforce_egress = false;
  so.tick = 50ms;
  auto sb = spawn_sandbox(sys, so, session_store_actor{}, sessions_actor{}, event_hub_actor{});
  caf::scoped_actor self{sys};
  sandbox_grant g;
  // Not attached yet: no placeholder, never an error.
  self->request(sb, 5s, sandbox_grant_req{"early", "uid-4242"})
    .receive([&](sandbox_grant& x) { g = x; }, [&](caf::error& e) { FAIL() << to_string(e); });
  EXPECT_TRUE(g.env.empty());
  sandbox_status st;
  self->request(sb, 10s, attach_atom::value, static_cast<int64_t>(::getpid()))
    .receive([&](sandbox_status& x) { st = x; }, [&](caf::error& e) { FAIL() << to_string(e); });
  ASSERT_TRUE(st.attached);
  self->request(sb, 5s, sandbox_grant_req{"s3", "uid-4242"})
    .receive([&](sandbox_grant& x) { g = x; }, [&](caf::error& e) { FAIL() << to_string(e); });
  ASSERT_TRUE(g.placeholder);
  std::string base, key;
  for (auto& kv : g.env) {
    if (kv.rfind("ANTHROPIC_BASE_URL=", 0) == 0)
      base = kv.substr(19);
    if (kv.rfind("ANTHROPIC_API_KEY=", 0) == 0)
      key = kv.substr(18);
    EXPECT_EQ(kv.find(real_key), std::string::npos);
  }
  EXPECT_EQ(base, st.proxy_url);
  ASSERT_EQ(key.rfind("sk-ant-hal9000-", 0), 0u);
  // A user without a key gets no placeholder.
  self->request(sb, 5s, sandbox_grant_req{"s4", "uid-99999"})
    .receive([&](sandbox_grant& x) { EXPECT_FALSE(x.placeholder); },
             [&](caf::error& e) { FAIL() << to_string(e); });
  auto port = static_cast<int>(std::stoi(base.substr(base.rfind(':') + 1)));
  httplib::Client cli{"127.0.0.1", port};
  auto r = cli.Post("/v1/messages", {{"x-api-key", key}}, "{}", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  auto usage_of = [&] {
    sandbox_session out;
    self->request(sb, 5s, status_atom::value)
      .receive(
        [&](sandbox_status& x) {
          for (auto& s : x.sessions)
            if (s.session == "s3")
              out = s;
        },
        [](caf::error&) {});
    return out;
  };
  ASSERT_TRUE(wait_for([&] { return usage_of().usage.requests == 1; }, 5s));
  auto u = usage_of();
  EXPECT_EQ(u.usage.input_tokens, 12u);
  EXPECT_EQ(u.usage.output_tokens, 7u);
  EXPECT_EQ(u.in_flight, 0);
  // The session ends: its placeholder stops working at once.
  lifecycle_event ended;
  ended.kind = event_kinds::session_ended;
  ended.session = "s3";
  self->send(sb, ended);
  ASSERT_TRUE(wait_for(
    [&] {
      auto x = cli.Post("/v1/messages", {{"x-api-key", key}}, "{}", "application/json");
      return x && x->status == 401;
    },
    5s));
  EXPECT_EQ(up.received().size(), 1u);
  self->send_exit(sb, caf::exit_reason::user_shutdown);
}

TEST(proxy_usage, json_and_event_stream_usage_fields) {
  proxy::usage_parser j{false};
  auto body = std::string{R"({"usage":{"input_tokens":3,"output_tokens":4}})"};
  j.feed(body.data(), 5);
  j.feed(body.data() + 5, body.size() - 5);
  proxy::usage_delta d;
  j.finish(d);
  EXPECT_EQ(d.input_tokens, 3u);
  EXPECT_EQ(d.output_tokens, 4u);
  proxy::usage_parser s{true};
  std::string sse = "data: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":9,"
                    "\"output_tokens\":1}}}\r\n\r\ndata: {\"type\":\"message_delta\",\"usage\":"
                    "{\"output_tokens\":30}}\n\n";
  for (auto c : sse)
    s.feed(&c, 1);  // byte by byte: lines split anywhere
  proxy::usage_delta e;
  s.finish(e);
  EXPECT_EQ(e.input_tokens, 9u);
  EXPECT_EQ(e.output_tokens, 30u);
}
