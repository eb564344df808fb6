#pragma once
// A process on a real pseudo-terminal (forkpty): what a user's terminal is to
// claudy attach. The test writes keystrokes to the master, reads what the
// process prints, resizes the window (the kernel sends SIGWINCH) and reads
// the terminal's modes back to check they were restored.

#include <chrono>
#include <mutex>
#include <string>
#include <thread>

#include <sys/types.h>
#include <termios.h>

namespace hal9000::test {

class pty_process {
public:
  /// Runs `sh -c "exec <cmdline>"` on a new pty of rows x cols with TERM.
  pty_process(const std::string& cmdline, unsigned short rows, unsigned short cols,
              const std::string& term = "xterm-256color");
  ~pty_process();  // SIGKILL if still running
  pty_process(const pty_process&) = delete;
  pty_process& operator=(const pty_process&) = delete;

  pid_t pid() const { return pid_; }
  bool write(const std::string& bytes);
  void resize(unsigned short rows, unsigned short cols);
  /// Everything printed so far.
  std::string output();
  bool wait_output(const std::string& needle, std::chrono::milliseconds deadline);
  /// The exit status (WEXITSTATUS, or 128 + signal), -1 at the deadline.
  int wait_exit(std::chrono::milliseconds deadline);
  /// The terminal's modes as the process left them (the slave's, read via
  /// the master).
  termios modes() const;
  /// The modes the terminal started with.
  const termios& initial_modes() const { return initial_; }

private:
  pid_t pid_ = -1;
  int fd_ = -1;
  int status_ = -1;
  termios initial_{};
  std::mutex mtx_;
  std::string out_;
  std::thread reader_;
};

} // namespace hal9000::test
