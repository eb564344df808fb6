#pragma once
// One ChromaDB heartbeat over a kept-alive HTTP connection (cpp-httplib).
// Blocking: call it from a detached actor or a plain thread, never from the
// scheduler. Not thread-safe: one caller at a time.

#include <chrono>
#include <memory>
#include <string>

#include <caf/meta/type_name.hpp>

namespace hal9000::chroma {

/// The v2 heartbeat, and the v1 one a server that answers 404/410 to v2 has.
constexpr const char* heartbeat_v2 = "/api/v2/heartbeat";
constexpr const char* heartbeat_v1 = "/api/v1/heartbeat";

struct probe_result {
  bool ok = false;
  double latency_ms = 0;  // of the last request made, failed or not
  std::string endpoint;   // the path asked last
  std::string error;      // why it failed; "" when ok
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, probe_result& x) {
  return f(caf::meta::type_name("hal9000::chroma::probe_result"), x.ok,
           x.latency_ms, x.endpoint, x.error);
}

/// Only a 200 whose body is a JSON object with a number under "nanosecond
/// heartbeat" is a heartbeat. Returns "" if it is, otherwise why not.
std::string check_heartbeat(int http_status, const std::string& body);

class heartbeat_probe {
public:
  /// base_url: "http://host:port". Timeouts bound each request's connect and
  /// each read.
  heartbeat_probe(std::string base_url, std::chrono::milliseconds connect_timeout,
                  std::chrono::milliseconds read_timeout);
  ~heartbeat_probe();
  heartbeat_probe(const heartbeat_probe&) = delete;
  heartbeat_probe& operator=(const heartbeat_probe&) = delete;

  /// GET the heartbeat; on 404/410 once more on the other version's path,
  /// which is then kept for later probes.
  probe_result run();

  const std::string& base_url() const { return base_url_; }

private:
  struct impl;
  std::string base_url_;
  std::unique_ptr<impl> impl_;
};

} // namespace hal9000::chroma
