#include "support/pty_process.hpp"

#include <cerrno>
#include <csignal>
#include <cstdlib>

#include <poll.h>
#include <pty.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/test_env.hpp"

namespace hal9000::test {

pty_process::pty_process(const std::string& cmdline, unsigned short rows,
                         unsigned short cols, const std::string& term) {
  winsize ws{};
  ws.ws_row = rows;
  ws.ws_col = cols;
  int fd = -1;
  auto pid = ::forkpty(&fd, nullptr, nullptr, &ws);
  if (pid == 0) {
    ::setenv("TERM", term.c_str(), 1);
    ::execl("/bin/sh", "sh", "-c", ("exec " + cmdline).c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  pid_ = pid;
  fd_ = fd;
  if (fd_ >= 0)
    ::tcgetattr(fd_, &initial_);
  reader_ = std::thread{[this] {
    char buf[65536];
    for (;;) {
      auto n = ::read(fd_, buf, sizeof(buf));
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return;  // EIO once the last process on the slave side is gone
      std::lock_guard<std::mutex> guard{mtx_};
      out_.append(buf, static_cast<size_t>(n));
    }
  }};
}

pty_process::~pty_process() {
  if (pid_ > 0 && status_ < 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  if (fd_ >= 0)
    ::close(fd_);
  if (reader_.joinable())
    reader_.join();
}

bool pty_process::write(const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    auto n = ::write(fd_, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

void pty_process::resize(unsigned short rows, unsigned short cols) {
  winsize ws{};
  ws.ws_row = rows;
  ws.ws_col = cols;
  ::ioctl(fd_, TIOCSWINSZ, &ws);  // the kernel signals SIGWINCH to the foreground
}

std::string pty_process::output() {
  std::lock_guard<std::mutex> guard{mtx_};
  return out_;
}

bool pty_process::wait_output(const std::string& needle, std::chrono::milliseconds deadline) {
  return wait_for([&] { return output().find(needle) != std::string::npos; }, deadline);
}

int pty_process::wait_exit(std::chrono::milliseconds deadline) {
  if (status_ >= 0)
    return status_;
  int st = 0;
  bool done = wait_for(
    [&] {
      auto r = ::waitpid(pid_, &st, WNOHANG);
      return r == pid_;
    },
    deadline);
  if (!done)
    return -1;
  status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return status_;
}

termios pty_process::modes() const {
  termios t{};
  ::tcgetattr(fd_, &t);
  return t;
}

} // namespace hal9000::test
