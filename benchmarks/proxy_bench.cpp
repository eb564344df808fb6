// The credential proxy's cost, side by side in one run: the same request to a
// TLS upstream on loopback (tests/support/tls_upstream, test CA) made
// directly (libcurl, TLS, kept alive) and through the proxy (libcurl, plain
// HTTP to the proxy, kept alive; the proxy keeps its own TLS connection
// alive). Figures (JSON lines):
//   direct_request / proxied_request           latency of a small JSON answer
//   added_latency                              proxied p50 - direct p50 (target <= 1 ms)
//   direct_first_byte / proxied_first_byte     time to the first byte of an SSE answer
//   added_first_byte                           the difference (target <= 0.5 ms)
//   proxied_requests_per_s                     4 clients for 2 s (unit req/s)
// Usage: proxy_bench [samples]   (default 500)
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <thread>

#include <curl/curl.h>

#include "bench_util.hpp"
#include "runtime/proxy_server.hpp"
#include "runtime/users.hpp"
#include "support/tls_upstream.hpp"

using namespace hal9000;
using namespace hal9000::bench;

namespace {

struct client {
  CURL* h = curl_easy_init();
  curl_slist* hdrs = nullptr;
  clock::time_point t0;
  double first_byte_ms = -1;
  size_t bytes = 0;
  ~client() {
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
  }
  static size_t on_body(char*, size_t s, size_t n, void* self) {
    auto* c = static_cast<client*>(self);
    if (c->first_byte_ms < 0)
      c->first_byte_ms = ms_since(c->t0);
    c->bytes += s * n;
    return s * n;
  }
  client(const std::string& key, const std::string& ca) {
    hdrs = curl_slist_append(hdrs, ("x-api-key: " + key).c_str());
    hdrs = curl_slist_append(hdrs, "content-type: application/json");
    hdrs = curl_slist_append(hdrs, "Expect:");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &client::on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, this);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, "{\"model\":\"m\",\"max_tokens\":5}");
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    if (!ca.empty())
      curl_easy_setopt(h, CURLOPT_CAINFO, ca.c_str());
  }
  // One request; false when it failed.
  bool run(const std::string& url) {
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    first_byte_ms = -1;
    bytes = 0;
    t0 = clock::now();
    long code = 0;
    auto rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    return rc == CURLE_OK && code == 200 && bytes > 0;
  }
};

} // namespace

int main(int argc, char** argv) {
  int n = argc > 1 ? std::atoi(argv[1]) : 500;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  char tmpl[] = "/tmp/proxy-bench-XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  auto ca = test::make_test_ca(dir);
  if (!ca.ok) {
    std::fprintf(stderr, "proxy_bench: openssl could not make a test CA\n");
    return 1;
  }
  const std::string key = "sk-ant-bench-real-key";
  auto up = user_paths_for(dir + "/home", "bench");
  std::system(("mkdir -p " + up.secrets + " && printf '%s' " + key + " > " + up.key).c_str());
  const std::string json = R"({"type":"message","usage":{"input_tokens":10,"output_tokens":3}})";
  test::tls_upstream upstream{ca, [&](const test::upstream_request& r, test::upstream_writer& w) {
                                if (r.target.find("stream") != std::string::npos) {
                                  w.begin_chunked(200, "text/event-stream");
                                  w.chunk("event: message_start\ndata: {\"type\":\"message_start\"}\n\n");
                                  w.chunk("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
                                  w.end();
                                } else {
                                  w.respond(200, "application/json", json);
                                }
                              }};
  if (!upstream.ok()) {
    std::fprintf(stderr, "proxy_bench: upstream did not start\n");
    return 1;
  }
  auto grants = std::make_shared<proxy::grant_table>();
  auto ph = proxy::make_placeholder();
  grants->put(ph, {"bench", "bench"});
  std::atomic<uint64_t> reported{0};
  proxy::server_options o;
  o.upstream = upstream.url();
  o.ca_file = ca.ca_cert;
  o.home = dir + "/home";
  o.grants = grants;
  o.report = [&](const proxy::usage_delta&) { ++reported; };  // as cheap as an anon_send
  auto srv = proxy::server::start(o);
  if (!srv) {
    std::fprintf(stderr, "proxy_bench: proxy did not start\n");
    return 1;
  }
  auto proxied = "http://127.0.0.1:" + std::to_string((*srv)->port());
  client direct_c{key, ca.ca_cert};
  client proxy_c{ph, ""};
  // Warm up both paths (TLS handshakes, thread pools).
  for (int i = 0; i < 20; ++i) {
    direct_c.run(upstream.url() + "/v1/messages");
    proxy_c.run(proxied + "/v1/messages");
  }
  std::vector<double> d_lat, p_lat, d_fb, p_fb;
  int failures = 0;
  // Interleaved so that both see the same machine load.
  for (int i = 0; i < n; ++i) {
    auto t0 = clock::now();
    failures += !direct_c.run(upstream.url() + "/v1/messages");
    d_lat.push_back(ms_since(t0));
    t0 = clock::now();
    failures += !proxy_c.run(proxied + "/v1/messages");
    p_lat.push_back(ms_since(t0));
    failures += !direct_c.run(upstream.url() + "/v1/messages?stream");
    d_fb.push_back(direct_c.first_byte_ms);
    failures += !proxy_c.run(proxied + "/v1/messages?stream");
    p_fb.push_back(proxy_c.first_byte_ms);
  }
  auto dl = summarize("direct_request", d_lat);
  auto pl = summarize("proxied_request", p_lat);
  auto df = summarize("direct_first_byte", d_fb);
  auto pf = summarize("proxied_first_byte", p_fb);
  print(dl);
  print(pl, &dl);
  std::vector<double> added, added_fb;
  for (size_t i = 0; i < p_lat.size(); ++i) {
    added.push_back(p_lat[i] - d_lat[i]);
    added_fb.push_back(p_fb[i] - d_fb[i]);
  }
  auto al = summarize("added_latency", added);
  al.p50 = pl.p50 - dl.p50;  // the issue's figure: difference of the medians
  print(al);
  print(df);
  print(pf, &df);
  auto af = summarize("added_first_byte", added_fb);
  af.p50 = pf.p50 - df.p50;
  print(af);

  // Throughput: 4 clients, 2 s.
  std::atomic<uint64_t> done{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> ts;
  auto t0 = clock::now();
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&] {
      client c{ph, ""};
      while (!stop)
        if (c.run(proxied + "/v1/messages"))
          ++done;
    });
  std::this_thread::sleep_for(std::chrono::seconds(2));  // the measuring window, not a sync
  stop = true;
  for (auto& t : ts)
    t.join();
  auto secs = ms_since(t0) / 1000.0;
  std::printf("{\"name\":\"proxied_requests_per_s\",\"p50\":%.0f,\"p99\":%.0f,\"unit\":\"req/s\","
              "\"n\":%llu}\n",
              static_cast<double>(done) / secs, static_cast<double>(done) / secs,
              static_cast<unsigned long long>(done.load()));
  if (failures)
    std::fprintf(stderr, "proxy_bench: %d requests failed\n", failures);
  srv->reset();
  std::system(("rm -rf " + dir).c_str());
  return failures ? 1 : 0;
}
