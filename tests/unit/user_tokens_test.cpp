// Who is who: the token registry (root, local users, TLS clients), per-user
// token files, and the per-user directories with their modes and owners.
#include <fstream>

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "messages/error.hpp"
#include "runtime/atomic_file.hpp"
#include "runtime/auth_token.hpp"
#include "runtime/user_tokens.hpp"
#include "runtime/users.hpp"
#include "support/temp_dir.hpp"

using namespace hal9000;

namespace {

mode_t mode_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return 0;
  return st.st_mode & 07777;
}

uid_t owner_of(const std::string& path) {
  struct stat st {};
  ::stat(path.c_str(), &st);
  return st.st_uid;
}

std::string token_of(char c) {
  return std::string(64, c);
}

} // namespace

TEST(user_tokens, root_token_is_root_and_unknown_is_nobody) {
  user_tokens t{token_of('a')};
  EXPECT_EQ(t.user_of(token_of('a')), "root");
  EXPECT_EQ(t.user_of(token_of('b')), "");
  EXPECT_EQ(t.user_of(""), "");
  EXPECT_EQ(t.user_of(token_of('a').substr(0, 63)), "");
}

TEST(user_tokens, load_maps_local_users_and_tls_clients) {
  test::temp_dir home;
  ASSERT_FALSE(make_dirs(home / "auth/users/1234"));
  ASSERT_FALSE(make_dirs(home / "auth/users/notanumber"));
  ASSERT_FALSE(make_dirs(home / "tls/clients/alice"));
  ASSERT_FALSE(make_dirs(home / "tls/clients/old"));
  ASSERT_FALSE(make_dirs(home / "tls/clients/broken"));
  ASSERT_FALSE(write_file_atomic(home / "auth/users/1234/token", token_of('1') + "\n"));
  ASSERT_FALSE(write_file_atomic(home / "auth/users/notanumber/token", token_of('2') + "\n"));
  ASSERT_FALSE(write_file_atomic(home / "tls/clients/alice/token", token_of('3') + "\n"));
  // A bundle from before per-client tokens carries root's token.
  ASSERT_FALSE(write_file_atomic(home / "tls/clients/old/token", token_of('a') + "\n"));
  ASSERT_FALSE(write_file_atomic(home / "tls/clients/broken/token", "short\n"));
  user_tokens t{token_of('a')};
  auto notes = t.load(home.path);
  EXPECT_EQ(t.user_of(token_of('1')), "uid-1234");
  EXPECT_EQ(t.user_of(token_of('2')), "");  // not a uid directory
  EXPECT_EQ(t.user_of(token_of('3')), "tls-alice");
  EXPECT_EQ(t.user_of(token_of('a')), "root");
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("tls-broken"), std::string::npos) << notes[0];
}

TEST(user_tokens, issued_token_is_the_users_alone) {
  if (::geteuid() != 0)
    GTEST_SKIP() << "chown needs root";
  test::temp_dir home;
  ::chmod(home.path.c_str(), 0700);
  auto token = issue_user_token(home.path, 4321);
  ASSERT_TRUE(token) << error_message(token.error());
  auto path = user_token_path(home.path, 4321);
  EXPECT_EQ(mode_of(path), 0400u);
  EXPECT_EQ(owner_of(path), 4321u);
  EXPECT_EQ(owner_of(home / "auth/users/4321"), 4321u);
  EXPECT_EQ(mode_of(home / "auth/users/4321"), 0700u);
  // Traversable, not listable, on the way there.
  EXPECT_EQ(mode_of(home.path), 0711u);
  EXPECT_EQ(mode_of(home / "auth"), 0711u);
  EXPECT_EQ(mode_of(home / "auth/users"), 0711u);
  // A second issue keeps the token.
  auto again = issue_user_token(home.path, 4321);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *token);
  user_tokens t{token_of('a')};
  t.load(home.path);
  EXPECT_EQ(t.user_of(*token), "uid-4321");
}

TEST(users, ids_are_safe_path_components) {
  EXPECT_EQ(local_user_id(0), "root");
  EXPECT_EQ(local_user_id(1000), "uid-1000");
  EXPECT_EQ(tls_user_id("alice"), "tls-alice");
  test::temp_dir home;
  for (auto bad : {"", "..", "a/b", "-x", "tls:alice"}) {
    auto err = ensure_user_dirs(user_paths_for(home.path, bad), bad, 0, 0);
    EXPECT_EQ(error_code(err), errc::invalid_argument) << bad;
  }
}

TEST(users, dirs_and_key_have_their_modes_and_owner) {
  if (::geteuid() != 0)
    GTEST_SKIP() << "chown needs root";
  test::temp_dir home;
  auto p = user_paths_for(home.path, "uid-77");
  ASSERT_FALSE(ensure_user_dirs(p, "uid-77", 1000, 1000));
  EXPECT_EQ(mode_of(home / "users"), 0700u);
  EXPECT_EQ(mode_of(p.root), 0700u);
  EXPECT_EQ(owner_of(p.root), 0u);
  EXPECT_EQ(mode_of(p.claude), 0700u);
  EXPECT_EQ(owner_of(p.claude), 1000u);
  EXPECT_EQ(mode_of(p.secrets), 0700u);
  EXPECT_EQ(owner_of(p.secrets), 1000u);
  EXPECT_EQ(error_code(store_anthropic_key(p, "", 1000, 1000)), errc::invalid_argument);
  EXPECT_EQ(error_code(store_anthropic_key(p, "sk ant", 1000, 1000)), errc::invalid_argument);
  ASSERT_FALSE(store_anthropic_key(p, "sk-ant-test-1", 1000, 1000));
  EXPECT_EQ(mode_of(p.key), 0400u);
  EXPECT_EQ(owner_of(p.key), 1000u);
  auto text = read_file(p.key);
  ASSERT_TRUE(text);
  EXPECT_EQ(*text, "sk-ant-test-1\n");
  // Replacing it works although the old one is read-only.
  ASSERT_FALSE(store_anthropic_key(p, "sk-ant-test-2", 1000, 1000));
  EXPECT_EQ(*read_file(p.key), "sk-ant-test-2\n");
}
