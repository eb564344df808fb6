#include "support/daemon_sessions.hpp"

#include <fstream>
#include <iterator>

#include <gtest/gtest.h>

#include "runtime/late_bind.hpp"

namespace hal9000::test {

nlohmann::json parse_json(const std::string& text) {
  return nlohmann::json::parse(text, nullptr, false);
}

nlohmann::json listed_session(const daemon_env& env, const std::string& name) {
  auto j = parse_json(env.claudy("--json sessions --all").out);
  if (j.is_array())
    for (auto& s : j)
      if (s.value("name", "") == name)
        return s;
  return nlohmann::json::object();
}

nlohmann::json read_session_file(const std::string& home, const std::string& name) {
  std::ifstream in{home + "/sessions/" + name + ".json"};
  return parse_json({std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}});
}

void release_late_binds(temp_dir& home_dir, temp_dir& projects) {
  auto home = home_dir.path;
  auto mounts = late_bind::mounts_dir(home);
  EXPECT_FALSE(late_bind::unmount_all_under(mounts));
  if (!late_bind::mounts_under(mounts).empty()) {
    ADD_FAILURE() << "still mounted under " << mounts << ": leaving " << home;
    home_dir.path.clear();
    projects.path.clear();
  }
}

void daemon_home_test::TearDown() {
  if (env) {
    env->claudy("daemon stop --all");
    env.reset();  // kills a daemon left running, removes its containers
  }
  release_late_binds(home_dir, projects);
}

} // namespace hal9000::test
