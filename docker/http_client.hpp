#pragma once
// A blocking HTTP/1.1 client for the Docker Engine API over one kept-alive
// libcurl connection (unix socket, plain TCP or TCP with client TLS). Plain
// C++ with no actors: the docker actor's I/O workers each own one, so calls
// never run on a CAF scheduler thread. Not thread-safe: one caller at a time.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include <caf/expected.hpp>

namespace hal9000::docker {

/// Where the engine is: "unix:///path" or "tcp://host:port"; with tls_verify,
/// cert_path holds ca.pem, cert.pem and key.pem (Docker's convention).
struct endpoint {
  std::string host = "unix:///var/run/docker.sock";
  bool tls_verify = false;
  std::string cert_path;
};

struct http_response {
  long status = 0;
  std::string body;
  std::string content_type;
};

/// Called with each piece of the body as it arrives; returning false aborts
/// the transfer (the call then fails as internal with `abort_reason`).
using chunk_fn = std::function<bool(const char* data, size_t size)>;

/// An HTTP request. A call fails only for transport problems; an HTTP error
/// status is a successful call whose status the caller maps (see
/// error_from_status).
struct http_request {
  std::string method = "GET";
  std::string path;  // with query, e.g. "/v1.41/containers/json?all=1"
  std::string body;  // sent as application/json when not empty
  std::string upload_file;  // sent as application/x-tar instead of body
  std::chrono::milliseconds timeout{30000};
  chunk_fn on_chunk;  // when set, the body is streamed here, not stored
};

class http_client {
public:
  explicit http_client(endpoint ep);
  ~http_client();

  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  /// Errors: unavailable (cannot connect, connection lost), deadline_exceeded
  /// (timeout), internal (malformed reply, local I/O), each naming the engine.
  caf::expected<http_response> call(const http_request& req);

  const endpoint& where() const { return ep_; }

  /// Set by a chunk_fn before it returns false, to explain the abort.
  std::string abort_reason;

private:
  endpoint ep_;
  std::string base_url_;  // "http://docker" or "https://host:port"
  void* handle_ = nullptr;  // CURL*
};

/// Sets up a curl easy handle to talk to ep (socket path, TLS files) and
/// returns the URL prefix to put before a path. Shared with the event stream.
std::string configure_endpoint(void* curl_handle, const endpoint& ep);

/// Turns a failed curl transfer into a project error naming the engine.
caf::error error_from_curl(int curl_code, long os_errno, const endpoint& ep,
                           const std::string& what,
                           std::chrono::milliseconds timeout);

/// Maps an engine error reply (status >= 400) to a project error:
/// 404 not_found ("no such image: x"), 409 already_exists ("name already in
/// use: x") or conflict, 400 invalid_argument, others internal with the
/// status. `subject` names the object the call was about.
caf::error error_from_status(long status, const std::string& body,
                             const std::string& what,
                             const std::string& subject);

/// Docker's {"message": ...} from an error body, or the body itself.
std::string docker_message(const std::string& body);

/// Initialises libcurl once per process (thread-safe).
void init_curl_once();

} // namespace hal9000::docker
