#pragma once
// One Engine API exec with its stream: POST /containers/{id}/exec, then
// POST /exec/{id}/start on a connection of its own that the engine hijacks
// (HTTP/1.1 "Upgrade: tcp", answered 101) into a raw byte stream both ways.
// libcurl connects (CONNECT_ONLY: unix socket, TCP or TCP with client TLS,
// as every other engine call) and then only moves bytes (curl_easy_send /
// curl_easy_recv). Plain C++, no actors; every call may block on the engine:
// use it on a thread of its own (actors/terminal_relay.cpp does). Not
// thread-safe.
//
// The stream: with a TTY, the process's terminal as is; without one, frames
// of an 8-byte header {stream (1 stdout, 2 stderr), 0, 0, 0, size (uint32 big
// endian)} and size bytes (exec_demuxer).

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "docker/engine_client.hpp"
#include "docker/http_client.hpp"

namespace hal9000::docker {

struct exec_spec {
  std::string container;  // id or name
  std::vector<std::string> cmd;
  std::vector<std::string> env;  // "KEY=value"
  std::string working_dir;       // empty: the image's
  bool tty = true;
  bool attach_stdin = true;
};

/// The exec's create body (Engine API JSON).
std::string exec_create_json(const exec_spec& spec);

class exec_stream {
public:
  explicit exec_stream(endpoint ep);
  ~exec_stream();
  exec_stream(const exec_stream&) = delete;
  exec_stream& operator=(const exec_stream&) = delete;

  /// Creates and starts the exec; on success its stream is open. Errors:
  /// not_found (no such container), conflict (container not running),
  /// unavailable (engine unreachable), internal (unexpected reply).
  caf::error open(const exec_spec& spec, std::chrono::milliseconds timeout);

  const std::string& id() const { return id_; }
  /// The socket to poll(2) on (-1 before open).
  int fd() const { return fd_; }
  /// Bytes the engine sent right after its 101 reply (already read): hand
  /// them on before reading more.
  std::string take_early_bytes() { return std::move(early_); }

  /// Non-blocking. >0 bytes read; 0 nothing now (poll for POLLIN); eof set
  /// when the engine closed the stream (the process exited).
  caf::expected<size_t> read_some(char* buf, size_t n, bool& eof);
  /// Non-blocking; 0 means try again after POLLOUT.
  caf::expected<size_t> write_some(const char* buf, size_t n);
  /// Closes the exec's stdin (shutdown(SHUT_WR)) so a command reading it
  /// sees EOF. Over TLS the engine's connection cannot be half-closed:
  /// unsupported (then nothing happens and false is returned).
  bool close_write();

  /// Side calls on a second connection (the stream's is hijacked).
  caf::expected<std::optional<int64_t>> exit_code();
  /// Another exec in the same container, to its end (no TTY, no stdin).
  caf::expected<exec_result> run(const std::string& container, std::vector<std::string> cmd);

private:
  endpoint ep_;
  engine_client api_;
  void* conn_ = nullptr;  // CURL*, CONNECT_ONLY
  int fd_ = -1;
  std::string id_;
  std::string early_;
};

/// Splits a multiplexed (no TTY) exec stream into stdout and stderr pieces
/// as bytes arrive, across reads of any size.
class exec_demuxer {
public:
  /// Appends data; calls out(stream, bytes, size) for every complete or
  /// partial frame payload available (payloads may arrive in pieces).
  template <class F>
  void feed(const char* data, size_t n, F&& out) {
    while (n > 0) {
      if (left_ == 0) {
        auto take = std::min(n, sizeof(head_) - have_);
        std::copy(data, data + take, head_ + have_);
        have_ += take;
        data += take;
        n -= take;
        if (have_ < sizeof(head_))
          return;
        have_ = 0;
        stream_ = static_cast<uint8_t>(head_[0]);
        left_ = (uint32_t(uint8_t(head_[4])) << 24) | (uint32_t(uint8_t(head_[5])) << 16)
                | (uint32_t(uint8_t(head_[6])) << 8) | uint32_t(uint8_t(head_[7]));
        continue;
      }
      auto take = std::min<size_t>(n, left_);
      out(stream_, data, take);
      data += take;
      n -= take;
      left_ -= static_cast<uint32_t>(take);
    }
  }

private:
  char head_[8] = {};
  size_t have_ = 0;
  uint32_t left_ = 0;
  uint8_t stream_ = 1;
};

} // namespace hal9000::docker
