// runtime/idmap.hpp against the real kernel (root only, no Docker): an
// id-mapped recursive mount shows the on-disk owner as the mapped one and
// writes through it land as the on-disk owner, a tmpfs inside comes along;
// run_as and check_access answer as the user would.
#include <fstream>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "messages/error.hpp"
#include "runtime/acting_user.hpp"
#include "runtime/idmap.hpp"
#include "runtime/late_bind.hpp"
#include "support/temp_dir.hpp"
#include "support/test_env.hpp"

using namespace hal9000;
using namespace hal9000::test;

namespace {

uid_t owner_of(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_uid : static_cast<uid_t>(-1);
}

struct idmap_fixture : ::testing::Test {
  temp_dir dir;
  void SetUp() override {
    if (::geteuid() != 0)
      GTEST_SKIP() << "mount(2) and user namespaces for other ids need root";
    if (auto why = idmap::probe(dir.path); !why.empty())
      GTEST_SKIP() << "id-mapped mounts unavailable here: " << why;
    ::chmod(dir.path.c_str(), 0755);
  }
  void TearDown() override {
    if (!dir.path.empty()) {
      EXPECT_FALSE(late_bind::unmount_all_under(dir.path));
    }
  }
};

} // namespace

TEST_F(idmap_fixture, mapped_tree_shows_and_writes_the_other_side) {
  auto src = dir / "src";
  auto dst = dir / "dst";
  ASSERT_EQ(::mkdir(src.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(dst.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((src + "/data").c_str(), 0755), 0);
  // A tmpfs inside the source: the mapped clone must carry it.
  ASSERT_EQ(::mount("idmaptest", (src + "/data").c_str(), "tmpfs", 0, "size=1m,mode=0755"), 0);
  std::ofstream{src + "/data/inner"} << "nested\n";
  std::ofstream{src + "/top"} << "top\n";
  ASSERT_EQ(::chown((src + "/top").c_str(), 4001, 4001), 0);
  ASSERT_EQ(::chown((src + "/data/inner").c_str(), 4001, 4001), 0);

  ASSERT_FALSE(idmap::mount_mapped(AT_FDCWD, src, dst, idmap::mapping{4001, 4001, 1000, 1000}));
  EXPECT_EQ(owner_of(dst + "/top"), 1000u);
  EXPECT_EQ(owner_of(dst + "/data/inner"), 1000u) << "the tmpfs inside is mapped too";
  // Root through the mount is unmapped: it shows as the overflow uid.
  EXPECT_EQ(owner_of(dst), 65534u);
  // Written as the mapped uid through the mount, owned by the disk uid.
  idmap::identity worker;
  worker.uid = 1000;
  worker.gid = 1000;
  worker.groups = {1000};
  bool wrote = false;
  ASSERT_FALSE(idmap::run_as(worker, [&] {
    int fd = ::open((dst + "/data/from-worker").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    wrote = fd >= 0;
    if (fd >= 0)
      ::close(fd);
  }));
  // The tmpfs root is root's (unmapped): the worker may not create there.
  EXPECT_FALSE(wrote);
  ASSERT_EQ(::chown((src + "/data").c_str(), 4001, 4001), 0);
  ASSERT_FALSE(idmap::run_as(worker, [&] {
    int fd = ::open((dst + "/data/from-worker").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    wrote = fd >= 0;
    if (fd >= 0)
      ::close(fd);
  }));
  EXPECT_TRUE(wrote);
  EXPECT_EQ(owner_of(src + "/data/from-worker"), 4001u);
  // One detach takes the whole mapped tree.
  EXPECT_EQ(::umount2(dst.c_str(), MNT_DETACH), 0);
  EXPECT_TRUE(late_bind::mounts_under(dst).empty());
}

TEST_F(idmap_fixture, check_access_names_the_first_door_that_stays_shut) {
  auto locked = dir / "locked";
  auto proj = locked + "/proj";
  ASSERT_EQ(::mkdir(locked.c_str(), 0700), 0);
  ASSERT_EQ(::mkdir(proj.c_str(), 0755), 0);
  idmap::identity u;
  u.uid = 4002;
  u.gid = 4002;
  u.groups = {4002};
  auto err = idmap::check_access(u, proj);
  ASSERT_TRUE(err);
  EXPECT_EQ(error_code(err), errc::invalid_argument);
  auto msg = error_message(err);
  EXPECT_NE(msg.find("cannot enter " + locked), std::string::npos) << msg;
  EXPECT_NE(msg.find("mode 0700"), std::string::npos) << msg;
  EXPECT_NE(msg.find(proj), std::string::npos) << msg;
  // Opened to the user: fine.
  ::chmod(locked.c_str(), 0711);
  EXPECT_FALSE(idmap::check_access(u, proj));
  auto fd = idmap::open_dir_as(u, proj);
  ASSERT_TRUE(fd);
  ::close(*fd);
  // The project itself unreadable: named as such.
  ::chmod(proj.c_str(), 0700);
  err = idmap::check_access(u, proj);
  ASSERT_TRUE(err);
  EXPECT_NE(error_message(err).find("cannot read and enter " + proj), std::string::npos)
    << error_message(err);
  EXPECT_FALSE(idmap::open_dir_as(u, proj));
}

TEST_F(idmap_fixture, run_as_changes_one_thread_only) {
  idmap::identity u;
  u.uid = 4003;
  u.gid = 4003;
  u.groups = {4003};
  uid_t inside = 0;
  ASSERT_FALSE(idmap::run_as(u, [&] { inside = ::geteuid(); }));
  EXPECT_EQ(inside, 4003u);
  EXPECT_EQ(::geteuid(), 0u);
  EXPECT_EQ(::getegid(), 0u);
}

// Who a session acts as, from the token's user (runtime/acting_user.hpp).
TEST_F(idmap_fixture, acting_user_follows_the_token_never_the_client) {
  auto proj = dir / "proj";
  ASSERT_EQ(::mkdir(proj.c_str(), 0755), 0);
  acting_user_rules rules{{dir.path}, "/nonexistent-hal9000-home", {{"laptop", "4005"}}};
  claim_request req;
  req.project_dir = proj + "/.";  // resolved to the realpath
  req.user_id = "root";
  auto r = resolve_acting_user(req, rules);
  ASSERT_TRUE(r) << error_message(r.error());
  EXPECT_EQ(r->project_dir, proj);
  EXPECT_EQ(r->uid, -1) << "root acts as the directory's owner";
  req.user_id = "uid-4006";
  r = resolve_acting_user(req, rules);
  ASSERT_TRUE(r) << error_message(r.error());
  EXPECT_EQ(r->uid, 4006);
  EXPECT_EQ(r->gid, 4006);
  req.user_id = "tls-laptop";
  r = resolve_acting_user(req, rules);
  ASSERT_TRUE(r) << error_message(r.error());
  EXPECT_EQ(r->uid, 4005);
  req.user_id = "tls-stranger";
  r = resolve_acting_user(req, rules);
  ASSERT_FALSE(r);
  EXPECT_EQ(error_code(r.error()), errc::unauthenticated);
  EXPECT_NE(error_message(r.error()).find("HAL9000_TLS_USERS"), std::string::npos);
  // A project the user cannot enter: refused, naming it.
  ::chmod(proj.c_str(), 0700);
  req.user_id = "uid-4006";
  r = resolve_acting_user(req, rules);
  ASSERT_FALSE(r);
  EXPECT_EQ(error_code(r.error()), errc::invalid_argument);
  EXPECT_NE(error_message(r.error()).find(proj), std::string::npos) << error_message(r.error());
}
