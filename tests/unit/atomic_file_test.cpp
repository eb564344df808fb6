#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "messages/error.hpp"
#include "runtime/atomic_file.hpp"
#include "support/temp_dir.hpp"

using namespace hal9000;
using hal9000::test::temp_dir;

namespace {

std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> out;
  for (auto& e : std::filesystem::directory_iterator(dir))
    out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

mode_t mode_of(const std::string& path) {
  struct stat st;
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

} // namespace

TEST(atomic_file, round_trip_with_mode_and_no_leftovers) {
  temp_dir tmp;
  auto p = tmp / "s.json";
  ASSERT_FALSE(write_file_atomic(p, "first\n", 0600));
  EXPECT_EQ(*read_file(p), "first\n");
  EXPECT_EQ(mode_of(p), 0600u);
  ASSERT_FALSE(write_file_atomic(p, "second", 0644));
  EXPECT_EQ(*read_file(p), "second");
  EXPECT_EQ(mode_of(p), 0644u);
  ASSERT_FALSE(write_file_atomic(p, ""));
  EXPECT_EQ(*read_file(p), "");
  EXPECT_EQ(files_in(tmp.path), std::vector<std::string>{"s.json"});
}

TEST(atomic_file, mode_is_applied_whatever_the_umask) {
  temp_dir tmp;
  auto old = ::umask(0);
  auto err = write_file_atomic(tmp / "x", "x", 0600);
  ::umask(old);
  ASSERT_FALSE(err);
  EXPECT_EQ(mode_of(tmp / "x"), 0600u);
}

TEST(atomic_file, errors_name_the_path) {
  temp_dir tmp;
  auto p = tmp / "missing-dir/s.json";
  auto err = write_file_atomic(p, "x");
  ASSERT_TRUE(err);
  EXPECT_EQ(error_code(err), errc::internal);
  EXPECT_NE(error_message(err).find(p), std::string::npos) << error_message(err);
  auto r = read_file(p);
  ASSERT_FALSE(r);
  EXPECT_EQ(error_code(r.error()), errc::not_found);
  EXPECT_EQ(error_message(r.error()), "no such file: " + p);
}

TEST(atomic_file, readers_never_see_a_partial_write) {
  temp_dir tmp;
  auto p = tmp / "big";
  const std::string a(256 * 1024, 'a');
  const std::string b(256 * 1024, 'b');
  ASSERT_FALSE(write_file_atomic(p, a));
  std::atomic<bool> done{false};
  std::atomic<int> write_errors{0};
  std::thread writer{[&] {
    for (int i = 0; i < 40; ++i)
      if (write_file_atomic(p, i % 2 ? a : b))
        ++write_errors;
    done = true;
  }};
  int reads = 0;
  int torn = 0;
  while (!done || reads < 10) {
    auto r = read_file(p);
    ++reads;
    if (!r || (*r != a && *r != b))
      ++torn;
  }
  writer.join();
  EXPECT_EQ(write_errors, 0);
  EXPECT_EQ(torn, 0) << "of " << reads << " reads";
  EXPECT_EQ(files_in(tmp.path), std::vector<std::string>{"big"});
}

TEST(atomic_file, make_dirs_nested_and_refuses_a_file) {
  temp_dir tmp;
  ASSERT_FALSE(make_dirs(tmp / "a/b/c", 0700));
  EXPECT_EQ(mode_of(tmp / "a/b/c"), 0700u);
  EXPECT_FALSE(make_dirs(tmp / "a/b/c"));  // existing: fine
  std::ofstream{tmp / "f"} << "x";
  auto err = make_dirs(tmp / "f/sub");
  ASSERT_TRUE(err);
  EXPECT_EQ(error_message(err), "not a directory: " + (tmp / "f"));
}

TEST(atomic_file, move_aside_keeps_every_copy) {
  temp_dir tmp;
  auto p = tmp / "bad.json";
  std::ofstream{p} << "one";
  auto first = move_aside(p, tmp / "corrupt");
  ASSERT_TRUE(first) << error_message(first.error());
  EXPECT_EQ(first->rfind(tmp / "corrupt/bad.json.", 0), 0u) << *first;
  EXPECT_FALSE(std::filesystem::exists(p));
  std::ofstream{p} << "two";
  auto second = move_aside(p, tmp / "corrupt");
  ASSERT_TRUE(second);
  EXPECT_NE(*first, *second);
  EXPECT_EQ(*read_file(*first), "one");
  EXPECT_EQ(*read_file(*second), "two");
  EXPECT_EQ(files_in(tmp / "corrupt").size(), 2u);
  EXPECT_EQ(mode_of(tmp / "corrupt"), 0700u);
  auto missing = move_aside(tmp / "nope.json", tmp / "corrupt");
  EXPECT_FALSE(missing);
}

TEST(atomic_file, remove_file_tolerates_missing) {
  temp_dir tmp;
  std::ofstream{tmp / "x"} << "x";
  EXPECT_FALSE(remove_file(tmp / "x"));
  EXPECT_FALSE(std::filesystem::exists(tmp / "x"));
  EXPECT_FALSE(remove_file(tmp / "x"));
}

// HAL9000_HOME_OWNER's hand-over: what is written or created below the
// directory belongs to that uid:gid; elsewhere, and once switched off, the
// writer's own. Needs root (chown to another uid).
TEST(atomic_file, new_files_under_a_directory_go_to_its_owner) {
  if (::geteuid() != 0)
    GTEST_SKIP() << "handing a file to another uid needs root";
  temp_dir home;
  temp_dir elsewhere;
  auto owner_of = [](const std::string& p) {
    struct stat st {};
    return ::lstat(p.c_str(), &st) == 0 ? st.st_uid : static_cast<uid_t>(-1);
  };
  own_new_files_under(home.path, 65534, 65534);
  EXPECT_FALSE(write_file_atomic(home / "a.json", "{}"));
  EXPECT_FALSE(make_dirs(home / "sessions/x"));
  EXPECT_FALSE(write_file_atomic(elsewhere / "b.json", "{}"));
  own_new_files_under("", 0, 0);
  EXPECT_FALSE(write_file_atomic(home / "c.json", "{}"));
  EXPECT_EQ(owner_of(home / "a.json"), 65534u);
  EXPECT_EQ(owner_of(home / "sessions"), 65534u);
  EXPECT_EQ(owner_of(home / "sessions/x"), 65534u);
  EXPECT_EQ(owner_of(elsewhere / "b.json"), 0u);
  EXPECT_EQ(owner_of(home / "c.json"), 0u);
}
