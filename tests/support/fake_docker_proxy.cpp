#include "fake_docker_proxy.hpp"

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "test_env.hpp"

namespace hal9000::test {

namespace {

sockaddr_un address_of(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  return addr;
}

bool write_all(int fd, const char* data, size_t n) {
  while (n > 0) {
    auto w = ::send(fd, data, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return false;
    data += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

} // namespace

fake_docker_proxy::fake_docker_proxy(std::string upstream) : upstream_(std::move(upstream)) {
  static std::atomic<int> n{0};
  dir_ = "/tmp/h9t-proxy-" + run_id() + "-" + std::to_string(++n);
  sh("mkdir -p " + dir_);
  path_ = dir_ + "/docker.sock";
  listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  auto addr = address_of(path_);
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0
      || ::listen(listen_fd_, 64) != 0)
    throw std::runtime_error("fake_docker_proxy: cannot listen on " + path_ + ": "
                             + std::strerror(errno));
  acceptor_ = std::thread{[this] { accept_loop(); }};
}

fake_docker_proxy::~fake_docker_proxy() {
  stop_ = true;
  cv_.notify_all();
  drop_all();
  if (acceptor_.joinable())
    acceptor_.join();
  for (auto& t : threads_)
    t.join();
  ::close(listen_fd_);
  sh("rm -rf " + dir_);
}

void fake_docker_proxy::set_mode(mode m, std::chrono::milliseconds delay) {
  delay_ms_ = delay.count();
  mode_ = m;
  cv_.notify_all();
}

void fake_docker_proxy::drop_all() {
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto fd : open_)
    ::shutdown(fd, SHUT_RDWR);  // wakes the serving thread, which closes it
}

bool fake_docker_proxy::pause(std::chrono::milliseconds d) {
  std::unique_lock<std::mutex> lock{mtx_};
  return !cv_.wait_for(lock, d, [this] { return stop_.load(); });
}

void fake_docker_proxy::accept_loop() {
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0)
      continue;
    auto client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0)
      continue;
    ++accepted_;
    std::lock_guard<std::mutex> guard{mtx_};
    open_.insert(client);
    threads_.emplace_back([this, client] { serve(client); });
  }
}

void fake_docker_proxy::serve(int client) {
  int up = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  auto addr = address_of(upstream_);
  if (up >= 0 && ::connect(up, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    std::lock_guard<std::mutex> guard{mtx_};
    open_.insert(up);
  } else if (up >= 0) {
    ::close(up);
    up = -1;
  }
  char buf[65536];
  while (!stop_ && up >= 0) {
    pollfd p[2] = {{client, POLLIN, 0}, {up, POLLIN, 0}};
    if (::poll(p, 2, 50) <= 0)
      continue;
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      auto n = ::recv(client, buf, sizeof buf, 0);
      if (n <= 0)
        break;
      auto m = mode_.load();
      if (m == mode::drop)
        break;
      if (m == mode::garbage) {
        static const char junk[] = "this is not HTTP\r\n\r\n\x01\x02\xff garbage";
        write_all(client, junk, sizeof junk - 1);
        break;
      }
      if (m == mode::hang)
        continue;  // swallow the request
      if (!write_all(up, buf, static_cast<size_t>(n)))
        break;
    }
    if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      auto n = ::recv(up, buf, sizeof buf, 0);
      if (n <= 0)
        break;
      auto m = mode_.load();
      if (m == mode::delay && !pause(std::chrono::milliseconds{delay_ms_.load()}))
        break;
      if (m == mode::drop || m == mode::garbage)
        break;
      if (m == mode::hang)
        continue;
      if (!write_all(client, buf, static_cast<size_t>(n)))
        break;
    }
  }
  std::lock_guard<std::mutex> guard{mtx_};
  open_.erase(client);
  ::close(client);
  if (up >= 0) {
    open_.erase(up);
    ::close(up);
  }
}

} // namespace hal9000::test
