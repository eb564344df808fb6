#pragma once
// A real ChromaDB server for tests, run as a child process from the npm
// packages pinned by images/chromadb/package-lock.json (installed once into a
// cache dir: $HAL9000_TEST_CACHE, default ~/.cache/hal9000-test).

#include <chrono>
#include <cstdint>
#include <string>

#include <sys/types.h>

namespace hal9000::test {

/// A free TCP port on 127.0.0.1 (bound to port 0, then released).
uint16_t free_loopback_port();

class chroma_server {
public:
  /// data_dir is created if missing; it survives kill/restart.
  explicit chroma_server(std::string data_dir);
  ~chroma_server();  // kills the server

  /// Installs the pinned server when needed. "" on success, else why not.
  static std::string install();

  /// Starts on a free port (or the port of the previous run) and waits for
  /// its heartbeat. "" on success, else why not (with the server's log).
  std::string start(std::chrono::milliseconds deadline = std::chrono::seconds(20));

  /// kill -9 and reap.
  void kill9();

  bool running() const { return pid_ > 0; }
  uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  const std::string& log_path() const { return log_; }

private:
  std::string start_once(std::chrono::milliseconds deadline);

  std::string data_dir_;
  std::string log_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
};

/// GET url+path; the status (0 when no answer) and the body.
std::pair<int, std::string> http_get(const std::string& url, const std::string& path);

/// POST JSON; the status (0 when no answer) and the body.
std::pair<int, std::string> http_post(const std::string& url, const std::string& path,
                                      const std::string& json);

} // namespace hal9000::test
