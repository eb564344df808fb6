#pragma once
// A FAKE, for fault injection only: a unix-socket proxy in front of the real
// Docker socket that passes traffic through until told to misbehave (delay
// replies, drop connections, answer garbage, never answer). The real engine
// cannot produce these faults on demand.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace hal9000::test {

class fake_docker_proxy {
public:
  enum class mode {
    pass,     // forward both ways
    delay,    // forward, but hold each reply chunk for `delay` first
    drop,     // close the connection as soon as a request arrives
    garbage,  // answer any request with bytes that are not HTTP, then close
    hang,     // read requests, never answer
  };

  explicit fake_docker_proxy(std::string upstream = "/var/run/docker.sock");
  ~fake_docker_proxy();

  fake_docker_proxy(const fake_docker_proxy&) = delete;
  fake_docker_proxy& operator=(const fake_docker_proxy&) = delete;

  /// "unix:///tmp/.../docker.sock", for options::host.
  std::string host() const { return "unix://" + path_; }

  void set_mode(mode m, std::chrono::milliseconds delay = std::chrono::milliseconds{0});

  /// Closes every open connection now (kept-alive calls, event streams).
  void drop_all();

  /// Connections accepted so far.
  size_t accepted() const { return accepted_; }

private:
  void accept_loop();
  void serve(int client);
  bool pause(std::chrono::milliseconds d);  // false when stopping

  std::string upstream_;
  std::string dir_;
  std::string path_;
  int listen_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<mode> mode_{mode::pass};
  std::atomic<int64_t> delay_ms_{0};
  std::atomic<size_t> accepted_{0};
  std::mutex mtx_;
  std::condition_variable cv_;
  std::set<int> open_;  // client and upstream fds of live connections
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

} // namespace hal9000::test
