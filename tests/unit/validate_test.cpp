#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "messages/error.hpp"
#include "runtime/validate.hpp"
#include "support/temp_dir.hpp"

using namespace hal9000;
using hal9000::test::temp_dir;

namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The error message of a path that must be refused.
std::string refused(const caf::expected<std::string>& r) {
  if (r) {
    ADD_FAILURE() << "accepted: " << *r;
    return {};
  }
  EXPECT_EQ(error_code(r.error()), errc::invalid_argument);
  return error_message(r.error());
}

struct project_paths : ::testing::Test {
  temp_dir tmp;
  std::string home;   // a HAL9000_HOME inside tmp
  std::string proj;   // a good project dir
  std::vector<std::string> roots{"/tmp"};

  void SetUp() override {
    ASSERT_FALSE(tmp.path.empty());
    home = tmp / "hal9000-home";
    proj = tmp / "proj";
    ASSERT_EQ(::mkdir(home.c_str(), 0700), 0);
    ASSERT_EQ(::mkdir(proj.c_str(), 0755), 0);
  }

  caf::expected<std::string> check(const std::string& p) {
    return validate_project_path(p, roots, home);
  }
};

} // namespace

// -- names ----------------------------------------------------------------------

TEST(names, docker_rule_accepts) {
  for (auto good : {"a", "Z", "0", "my-proj_1.x", "a..b", "x-", "a.json"})
    EXPECT_FALSE(valid_name(good)) << good;
  EXPECT_FALSE(valid_name(std::string(63, 'n')));
}

TEST(names, refused_with_a_message_naming_the_name) {
  struct bad_case { std::string name; std::string why; };
  std::vector<bad_case> cases{
    {"", "empty"},
    {"a/b", "contains '/'"},
    {"../evil", "must start with a letter or a digit"},
    {"..", "must start with a letter or a digit"},
    {".", "must start with a letter or a digit"},
    {".hidden", "must start with a letter or a digit"},
    {"-x", "must start with a letter or a digit"},
    {"a b", "contains ' '"},
    {"a\nb", "contains '\\x0a'"},
    {"caf\xc3\xa9", "contains"},
    {std::string(64, 'n'), "64 characters, at most 63"},
    {std::string(200, 'n'), "200 characters, at most 63"},
  };
  for (auto& c : cases) {
    auto err = valid_name(c.name);
    ASSERT_TRUE(err) << c.name;
    EXPECT_EQ(error_code(err), errc::invalid_argument);
    auto msg = error_message(err);
    EXPECT_TRUE(contains(msg, c.why)) << msg;
    EXPECT_TRUE(contains(msg, "invalid name '" + c.name.substr(0, 20))
                || c.name.find('\n') != std::string::npos)
      << msg;
    EXPECT_FALSE(is_valid_name(c.name));
  }
}

// -- project paths ----------------------------------------------------------------

TEST_F(project_paths, good_directory_under_tmp_gives_its_realpath) {
  auto r = check(proj);
  ASSERT_TRUE(r) << error_message(r.error());
  char buf[4096];
  ASSERT_NE(::realpath(proj.c_str(), buf), nullptr);
  EXPECT_EQ(*r, buf);
  // Trailing slash and "." are the same directory.
  EXPECT_EQ(*check(proj + "/"), *r);
  EXPECT_EQ(*check(proj + "/./"), *r);
}

TEST_F(project_paths, symlink_to_a_good_directory_gives_the_target) {
  auto link = tmp / "link";
  ASSERT_EQ(::symlink(proj.c_str(), link.c_str()), 0);
  auto r = check(link);
  ASSERT_TRUE(r) << error_message(r.error());
  EXPECT_EQ(*r, *check(proj));
}

TEST_F(project_paths, nonexistent) {
  auto p = tmp / "missing";
  EXPECT_EQ(refused(check(p)), "project path does not exist: " + p);
  EXPECT_EQ(refused(check("")), "project path is empty");
}

TEST_F(project_paths, a_file_instead_of_a_directory) {
  auto f = tmp / "file.txt";
  std::ofstream{f} << "x";
  EXPECT_EQ(refused(check(f)), "not a directory: " + f);
}

TEST_F(project_paths, etc_and_other_sensitive_trees) {
  EXPECT_EQ(refused(check("/etc")), "/etc resolves to /etc, a sensitive path");
  EXPECT_TRUE(contains(refused(check("/etc/ssl")), "a sensitive path (inside /etc)"));
  EXPECT_TRUE(contains(refused(check("/")), "/ resolves to /, a sensitive path"));
  EXPECT_TRUE(contains(refused(check("/proc/self")), "a sensitive path"));
  EXPECT_TRUE(contains(refused(check("/sys")), "a sensitive path"));
  EXPECT_TRUE(contains(refused(check("/dev")), "a sensitive path"));
}

TEST_F(project_paths, sensitive_wins_over_allowed_roots) {
  roots = {"/"};  // even when everything is allowed
  EXPECT_TRUE(contains(refused(check("/etc")), "a sensitive path"));
  EXPECT_TRUE(contains(refused(check("/")), "a sensitive path"));
}

TEST_F(project_paths, dot_dot_traversal_is_resolved_first) {
  ASSERT_EQ(::mkdir((tmp / "a").c_str(), 0755), 0);
  auto p = tmp / "a/../../../../../../../../../../etc";
  EXPECT_EQ(refused(check(p)), p + " resolves to /etc, a sensitive path");
}

TEST_F(project_paths, symlink_to_etc) {
  auto link = tmp / "innocent";
  ASSERT_EQ(::symlink("/etc", link.c_str()), 0);
  EXPECT_EQ(refused(check(link)), link + " resolves to /etc, a sensitive path");
  // A chain of links too.
  auto link2 = tmp / "innocent2";
  ASSERT_EQ(::symlink(link.c_str(), link2.c_str()), 0);
  EXPECT_TRUE(contains(refused(check(link2)), "resolves to /etc, a sensitive path"));
}

TEST_F(project_paths, hal9000_home_inside_it_and_its_parents) {
  EXPECT_TRUE(contains(refused(check(home)), "a sensitive path (HAL9000_HOME"));
  ASSERT_EQ(::mkdir((home + "/sessions").c_str(), 0700), 0);
  EXPECT_TRUE(contains(refused(check(home + "/sessions")), "a sensitive path (HAL9000_HOME"));
  EXPECT_TRUE(contains(refused(check(tmp.path)), "(it contains HAL9000_HOME"));
  // Through a symlink to it as well.
  auto link = tmp / "proj/to-home";
  ASSERT_EQ(::symlink(home.c_str(), link.c_str()), 0);
  EXPECT_TRUE(contains(refused(check(link)), "a sensitive path (HAL9000_HOME"));
}

TEST_F(project_paths, the_docker_socket_and_its_parents) {
  auto sockdir = tmp / "proj/run";
  ASSERT_EQ(::mkdir(sockdir.c_str(), 0755), 0);
  std::ofstream{sockdir + "/docker.sock"} << "";
  auto r = validate_project_path(sockdir, roots, home, sockdir + "/docker.sock");
  EXPECT_TRUE(contains(refused(r), "it contains the Docker socket"));
  roots = {"/"};
  EXPECT_TRUE(contains(refused(check("/var")), "a sensitive path"));
}

TEST_F(project_paths, outside_the_allowed_roots) {
  roots = {"/workspace-none", "/srv/none"};
  EXPECT_EQ(refused(check(proj)),
            proj + " is outside the allowed roots (/workspace-none, /srv/none)");
  // A root is a directory, not a string prefix: ".../pro" does not hold ".../proj".
  ASSERT_EQ(::mkdir((tmp / "pro").c_str(), 0755), 0);
  roots = {tmp / "pro"};
  EXPECT_TRUE(contains(refused(check(proj)), "is outside the allowed roots"));
}

TEST_F(project_paths, default_roots_include_tmp) {
  roots.clear();
  EXPECT_TRUE(check(proj));
}

// -- default session names --------------------------------------------------------

TEST(default_name, basename_plus_hash_of_the_full_path) {
  auto a = default_session_name("/home/u/myproj");
  auto b = default_session_name("/tmp/myproj");
  EXPECT_EQ(a.substr(0, 7), "myproj-");
  EXPECT_EQ(a.size(), 7u + 8u);
  EXPECT_NE(a, b);
  EXPECT_EQ(a, default_session_name("/home/u/myproj"));  // stable
  EXPECT_EQ(a, default_session_name("/home/u/myproj/"));
  EXPECT_FALSE(valid_name(a));
  EXPECT_EQ(fnv1a_32(""), 0x811c9dc5u);
  EXPECT_EQ(fnv1a_32("a"), 0xe40c292cu);
}

TEST(default_name, odd_basenames_still_give_valid_names) {
  for (std::string p : {"/", "", "/tmp/...", "/tmp/---", "/tmp/.hidden",
                        "/tmp/caf\xc3\xa9 proj", "/tmp/a:b;c", "/tmp/_x"})
    EXPECT_FALSE(valid_name(default_session_name(p))) << p << " -> "
                                                      << default_session_name(p);
  EXPECT_EQ(default_session_name("/tmp/...").substr(0, 8), "session-");
  EXPECT_EQ(default_session_name("/tmp/.hidden").substr(0, 7), "hidden-");
  auto longest = default_session_name("/tmp/" + std::string(200, 'x'));
  EXPECT_EQ(longest.size(), 63u);
  EXPECT_FALSE(valid_name(longest));
}
