// What a claim mounts is what was validated: the project path is opened and
// the opened directory must still be the validated realpath, so a path
// swapped for a symlink after the pool's check (which runs off the scheduler,
// a moment before the mount) is never mounted (issue #11). Real directories
// and a real symlink; the refusal comes before any mount(2).

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "messages/error.hpp"
#include "runtime/late_bind.hpp"
#include "runtime/session_mounts.hpp"
#include "support/temp_dir.hpp"

using namespace hal9000;
namespace fs = std::filesystem;

TEST(session_mounts, a_project_swapped_for_a_symlink_after_its_check_is_not_mounted) {
  hal9000::test::temp_dir tmp;
  ASSERT_FALSE(tmp.path.empty());
  auto real_root = fs::canonical(tmp.path).string();
  auto project = real_root + "/project";
  auto elsewhere = real_root + "/elsewhere";
  fs::create_directories(project);
  fs::create_directories(elsewhere);
  // Validated as a realpath; then swapped for a link leading elsewhere.
  fs::remove(project);
  fs::create_directory_symlink(elsewhere, project);

  session_mount_plan plan;
  plan.home = real_root + "/home";
  plan.project_dir = project;
  plan.idmap = false;
  plan.workdir = false;
  auto slot = late_bind::slot_for(plan.home, "w-swap");
  auto r = mount_session(slot, plan);
  ASSERT_FALSE(r) << "the swapped path was mounted";
  EXPECT_EQ(error_code(r.error()), errc::invalid_argument);
  EXPECT_NE(error_message(r.error()).find("changed after it was checked"), std::string::npos)
    << error_message(r.error());
  EXPECT_NE(error_message(r.error()).find(elsewhere), std::string::npos);
}
