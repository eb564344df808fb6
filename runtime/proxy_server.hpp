#pragma once
// The credential proxy's HTTP side (no CAF here; actors/credential_proxy.cpp
// owns it). Plain HTTP on a listening socket made inside the parent's network
// namespace, so only workers (and ChromaDB, the parent) can reach it, at
// http://localhost:<port>:
//
//   worker --x-api-key: <placeholder>--> proxy --x-api-key: <user's key>--> upstream (TLS,
//                                                                   verified)
// Each request: the placeholder (x-api-key, or Authorization: Bearer) is
// looked up (by its SHA-256, so a lookup's timing says nothing of the
// placeholder); unknown or revoked: 401 naming the proxy. The user's key is
// read from HAL9000_HOME/users/<id>/secrets/anthropic_key at each request
// (a few microseconds; a new key applies at once); missing: 401 saying
// `claudy setup`. The request goes to upstream + target with libcurl (TLS
// verified against ca_file or the system's CAs; connections kept alive per
// server thread); the response is passed on as it arrives: status, headers
// (hop-by-hop ones dropped) and body chunk by chunk, so server-sent events
// reach the worker unbuffered. Usage (input/output tokens) is read from the
// JSON body's "usage" or from the SSE events message_start/message_delta.
//
// Also here: the egress reporter, a listener in the same namespace that the
// packet filter redirects refused TCP connections to (runtime/egress.hpp). It
// learns the original destination (SO_ORIGINAL_DST), finds which container's
// process opened the connection (/proc: socket inode -> pid -> cgroup), says
// so through a callback, answers with an HTTP 403 naming the policy, closes.

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>

#include <caf/expected.hpp>

#include "runtime/netns.hpp"  // in_netns

namespace hal9000::proxy {

/// "sk-ant-hal9000-" + 64 hex digits from the kernel's CSPRNG.
std::string make_placeholder();

/// SHA-256 of s as 64 lowercase hex digits.
std::string sha256_hex(const std::string& s);

/// Who a placeholder stands for.
struct grant {
  std::string session;
  std::string user_id;
};

/// The placeholders that work right now, keyed by their SHA-256. The actor
/// writes, server threads read; a mutex is enough (held for one map lookup).
class grant_table {
public:
  void put(const std::string& placeholder, grant g);
  /// Drops every placeholder of session.
  void revoke_session(const std::string& session);
  std::optional<grant> find(const std::string& placeholder) const;
  size_t size() const;

private:
  mutable std::mutex mtx_;
  std::unordered_map<std::string, grant> by_hash_;
};

/// What one request did, reported when it starts (in_flight +1) and when it
/// ends (in_flight -1 with the counts). Called on a server thread.
struct usage_delta {
  std::string session;
  int in_flight = 0;         // +1 at start, -1 at the end
  uint64_t requests = 0;     // 1 at the end
  uint64_t errors = 0;       // 1 at the end when status >= 400 or transport failure
  uint64_t input_tokens = 0;
  uint64_t output_tokens = 0;
  int status = 0;            // the upstream's status; 0: none (transport failure)
  std::string error;         // what failed, "" when nothing did
};

/// Finds the tokens in a response body, fed as it arrives. Knows JSON bodies
/// ("usage": {"input_tokens", "output_tokens"}) and server-sent events
/// (message_start's message.usage; message_delta's usage.output_tokens, which
/// is cumulative: the last one counts).
class usage_parser {
public:
  explicit usage_parser(bool event_stream) : sse_(event_stream) {}
  void feed(const char* data, size_t len);
  /// Call at the end; fills input/output of out.
  void finish(usage_delta& out);

private:
  void on_event_data(const std::string& json);
  bool sse_;
  std::string buf_;          // JSON: the body (up to 8 MiB); SSE: a partial line
  bool overflow_ = false;
  uint64_t input_ = 0;
  uint64_t output_ = 0;
};

struct server_options {
  std::string upstream = "https://api.anthropic.com";  // scheme://host[:port], no path
  std::string ca_file;         // PEM bundle; "" = the system's
  std::string home;            // HAL9000_HOME: keys at users/<id>/secrets/anthropic_key
  std::string host = "127.0.0.1";
  uint16_t port = 0;           // 0: any free one (tests)
  /// A network namespace to listen in ("/proc/<pid>/ns/net"); "": this one.
  std::string netns;
  size_t threads = 8;          // requests served at once (streams hold one each)
  std::shared_ptr<grant_table> grants;
  std::function<void(const usage_delta&)> report;  // may be empty
};

/// One running proxy listener. stop() (or the destructor) closes it and joins
/// its threads; requests in flight are cut.
class server {
public:
  ~server();
  /// Binds (inside opts.netns when set) and starts serving; the port bound.
  static caf::expected<std::unique_ptr<server>> start(server_options opts);
  uint16_t port() const { return port_; }
  void stop();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
  uint16_t port_ = 0;
};

// -- egress reporter -------------------------------------------------------------

/// A refused connection.
struct refusal {
  std::string destination;   // "203.0.113.7:443"
  std::string container_id;  // the process's container (64 hex); "" if unknown
  int64_t pid = 0;           // host pid of the process; 0 if unknown
};

struct reporter_options {
  std::string netns;        // "/proc/<pid>/ns/net"
  int64_t netns_pid = 0;    // whose /proc/<pid>/net/tcp lists the sockets
  std::string host = "127.0.0.1";
  uint16_t port = 0;        // 0: any free one
  std::string policy_note;  // the 403's text: the policy and the setting
  std::function<void(const refusal&)> report;
};

class reporter {
public:
  ~reporter();
  static caf::expected<std::unique_ptr<reporter>> start(reporter_options opts);
  uint16_t port() const { return port_; }
  void stop();

private:
  reporter() = default;
  void loop();
  reporter_options opts_;
  int fd_ = -1;
  int stop_pipe_[2] = {-1, -1};
  uint16_t port_ = 0;
  std::thread thread_;
};

/// The container (64 hex digits) whose process holds the TCP socket from
/// local ip:port (as seen in netns_pid's namespace, dotted IPv4) to
/// peer ip:port; "" when none is found. Scans /proc: call off the scheduler.
std::string container_of_socket(int64_t netns_pid, const std::string& local_ip,
                                uint16_t local_port, int64_t* pid_out = nullptr);

} // namespace hal9000::proxy
