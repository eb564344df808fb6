#pragma once
// A TLS HTTP/1.1 server on loopback for tests and benchmarks: the stand-in
// for the model API behind the credential proxy. OpenSSL directly (no
// httplib, so no second build of httplib with OpenSSL in one binary). One
// thread per connection, keep-alive, requests recorded. Plus make_test_ca():
// a CA and a server certificate for localhost/127.0.0.1 made with the
// openssl command in a directory the caller owns.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace hal9000::test {

struct test_ca {
  std::string ca_cert;      // PEM: what the proxy trusts (HAL9000_PROXY_CA)
  std::string server_cert;  // PEM, SAN localhost and 127.0.0.1, signed by the CA
  std::string server_key;
  bool ok = false;
};

/// Writes ca.pem, server.pem, server.key under dir (EC P-256).
test_ca make_test_ca(const std::string& dir);

struct upstream_request {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // names lowercased
  std::string body;
};

/// What a handler writes back. Either respond() once, or begin_chunked()
/// then chunk()... and end().
class upstream_writer {
public:
  explicit upstream_writer(void* ssl) : ssl_(ssl) {}
  bool respond(int status, const std::string& content_type, const std::string& body);
  bool begin_chunked(int status, const std::string& content_type);
  bool chunk(const std::string& data);
  bool end();

private:
  bool write(const std::string& s);
  void* ssl_;
};

class tls_upstream {
public:
  using handler = std::function<void(const upstream_request&, upstream_writer&)>;
  /// Listens on 127.0.0.1, any free port. ok() says whether it does.
  tls_upstream(const test_ca& ca, handler h);
  ~tls_upstream();
  bool ok() const { return fd_ >= 0; }
  uint16_t port() const { return port_; }
  std::string url() const { return "https://localhost:" + std::to_string(port_); }
  std::vector<upstream_request> received() const;
  size_t connections() const { return connections_.load(); }

private:
  void accept_loop();
  void serve(int fd);
  handler handler_;
  void* ctx_ = nullptr;  // SSL_CTX*
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<size_t> connections_{0};
  std::thread acceptor_;
  mutable std::mutex mtx_;
  std::vector<std::thread> threads_;
  std::vector<int> open_fds_;
  std::vector<upstream_request> received_;
};

} // namespace hal9000::test
