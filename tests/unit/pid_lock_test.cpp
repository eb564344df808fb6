#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "messages/error.hpp"
#include "runtime/atomic_file.hpp"
#include "runtime/pid_lock.hpp"
#include "support/temp_dir.hpp"
#include "support/test_env.hpp"

using namespace hal9000;
using hal9000::test::sh;
using hal9000::test::temp_dir;

namespace {

std::string our_pid_line() {
  return std::to_string(::getpid()) + "\n";
}

// A child process that holds the lock on path until release() (or until it
// is killed). The test process has no other threads, so fork is safe here.
struct lock_holder_child {
  pid_t pid = -1;
  int release_fd = -1;

  explicit lock_holder_child(const std::string& path) {
    int ready[2], release[2];
    if (::pipe(ready) != 0 || ::pipe(release) != 0)
      return;
    pid = ::fork();
    if (pid == 0) {
      ::close(ready[0]);
      ::close(release[1]);
      auto lock = pid_lock::acquire(path);
      char ok = lock ? 'y' : 'n';
      (void) !::write(ready[1], &ok, 1);
      char c;
      (void) !::read(release[0], &c, 1);  // EOF when the parent lets go
      if (lock)
        lock->release();
      ::_exit(lock ? 0 : 1);
    }
    ::close(ready[1]);
    ::close(release[0]);
    release_fd = release[1];
    char ok = 'n';
    if (::read(ready[0], &ok, 1) != 1 || ok != 'y')
      pid = -1;
    ::close(ready[0]);
  }

  // Lets the child release and exit; returns its exit status.
  int release() {
    ::close(release_fd);
    release_fd = -1;
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  void kill9() {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    ::close(release_fd);
    release_fd = -1;
  }

  ~lock_holder_child() {
    if (release_fd >= 0)
      release();
  }
};

} // namespace

TEST(pid_lock, acquire_writes_our_pid_and_holds_a_real_flock) {
  temp_dir tmp;
  auto p = tmp / "hal9000d.pid";
  auto lock = pid_lock::acquire(p);
  ASSERT_TRUE(lock) << error_message(lock.error());
  EXPECT_EQ(*read_file(p), our_pid_line());
  // Another process sees the lock (flock(1) from util-linux).
  int rc = 0;
  sh("flock -n " + p + " true", &rc);
  EXPECT_EQ(rc, 1);
  lock->release();
  EXPECT_FALSE(std::filesystem::exists(p));
  sh("flock -n " + p + " true", &rc);
  EXPECT_EQ(rc, 0);
}

TEST(pid_lock, a_second_holder_is_refused_with_the_first_pid) {
  temp_dir tmp;
  auto p = tmp / "hal9000d.pid";
  lock_holder_child child{p};
  ASSERT_GT(child.pid, 0);
  auto second = pid_lock::acquire(p);
  ASSERT_FALSE(second);
  EXPECT_EQ(error_code(second.error()), errc::already_exists);
  EXPECT_EQ(error_message(second.error()),
            "hal9000d is already running (pid " + std::to_string(child.pid) + ")");
  // The refused attempt left the holder's file alone.
  EXPECT_EQ(*read_file(p), std::to_string(child.pid) + "\n");
  auto holder = lock_holder(p);
  ASSERT_TRUE(holder);
  EXPECT_EQ(*holder, child.pid);
  EXPECT_EQ(child.release(), 0);
  auto third = pid_lock::acquire(p);
  ASSERT_TRUE(third) << error_message(third.error());
  EXPECT_EQ(*read_file(p), our_pid_line());
}

TEST(pid_lock, a_second_open_in_the_same_process_is_refused_too) {
  temp_dir tmp;
  auto p = tmp / "hal9000d.pid";
  auto first = pid_lock::acquire(p);
  ASSERT_TRUE(first);
  auto second = pid_lock::acquire(p, "the pool");
  ASSERT_FALSE(second);
  EXPECT_EQ(error_message(second.error()),
            "the pool is already running (pid " + std::to_string(::getpid()) + ")");
}

TEST(pid_lock, a_stale_file_is_taken_over) {
  temp_dir tmp;
  auto p = tmp / "hal9000d.pid";
  {
    std::ofstream out{p};
    out << "999999999\n";
  }
  auto h = lock_holder(p);
  ASSERT_FALSE(h);
  EXPECT_EQ(error_code(h.error()), errc::not_found);
  auto lock = pid_lock::acquire(p);
  ASSERT_TRUE(lock) << error_message(lock.error());
  EXPECT_EQ(*read_file(p), our_pid_line());  // truncated, not appended
}

TEST(pid_lock, a_holder_killed_with_sigkill_leaves_a_stale_file) {
  temp_dir tmp;
  auto p = tmp / "hal9000d.pid";
  lock_holder_child child{p};
  ASSERT_GT(child.pid, 0);
  auto dead = child.pid;
  child.kill9();
  EXPECT_EQ(*read_file(p), std::to_string(dead) + "\n");  // left behind
  auto lock = pid_lock::acquire(p);
  ASSERT_TRUE(lock) << error_message(lock.error());
  EXPECT_EQ(*read_file(p), our_pid_line());
}

TEST(pid_lock, moves_keep_one_holder) {
  temp_dir tmp;
  auto p = tmp / "hal9000d.pid";
  auto lock = pid_lock::acquire(p);
  ASSERT_TRUE(lock);
  pid_lock moved = std::move(*lock);
  lock->release();  // no effect: it holds nothing
  EXPECT_TRUE(std::filesystem::exists(p));
  int rc = 0;
  sh("flock -n " + p + " true", &rc);
  EXPECT_EQ(rc, 1) << "the moved-to lock still holds the flock";
  moved = pid_lock{};
  EXPECT_FALSE(std::filesystem::exists(p));
  sh("flock -n " + p + " true", &rc);
  EXPECT_EQ(rc, 0);
}

TEST(pid_lock, creates_a_missing_home_and_names_a_path_it_cannot_use) {
  temp_dir tmp;
  auto p = tmp / "new-home/hal9000d.pid";
  auto lock = pid_lock::acquire(p);
  ASSERT_TRUE(lock) << error_message(lock.error());
  EXPECT_EQ(*read_file(p), our_pid_line());
  std::ofstream{tmp / "file"} << "x";
  auto bad = pid_lock::acquire(tmp / "file/hal9000d.pid");
  ASSERT_FALSE(bad);
  EXPECT_NE(error_message(bad.error()).find(tmp / "file"), std::string::npos)
    << error_message(bad.error());
}

TEST(pid_file, write_and_remove) {
  temp_dir tmp;
  auto p = tmp / "pool/pool-manager.pid";  // pool/ does not exist yet
  ASSERT_FALSE(write_pid_file(p));
  EXPECT_EQ(*read_file(p), our_pid_line());
  ASSERT_FALSE(remove_pid_file(p));
  EXPECT_FALSE(std::filesystem::exists(p));
  EXPECT_FALSE(remove_pid_file(p));  // missing: fine
}

TEST(pid_file, never_removes_another_process_file) {
  temp_dir tmp;
  auto p = tmp / "pool-manager.pid";
  std::ofstream{p} << "1\n";
  auto err = remove_pid_file(p);
  ASSERT_TRUE(err);
  EXPECT_EQ(error_code(err), errc::conflict);
  EXPECT_TRUE(std::filesystem::exists(p));
}
