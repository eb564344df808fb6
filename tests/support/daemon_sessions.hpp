// Small helpers for tests that read a real daemon's sessions: its JSON
// answers, its listing, its session records on disk, and the late-bind
// mounts left under its HAL9000_HOME.
#pragma once

#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/cli_process.hpp"
#include "support/temp_dir.hpp"

namespace hal9000::test {

/// text as JSON; a discarded value (is_discarded()) when it is not JSON.
nlohmann::json parse_json(const std::string& text);

/// The session named name in `claudy --json sessions --all`; {} when the
/// listing does not have it (or is not JSON).
nlohmann::json listed_session(const daemon_env& env, const std::string& name);

/// home/sessions/<name>.json as JSON; discarded when missing or not JSON.
nlohmann::json read_session_file(const std::string& home, const std::string& name);

/// Unmounts every late-bind mount under home's mounts directory (a failure
/// when one fails); if anything stays mounted, adds a failure and clears
/// home_dir's and projects' paths so that their removal does not follow a
/// live bind mount into a project (the files are left).
void release_late_binds(temp_dir& home_dir, temp_dir& projects);

/// A fixture base for a daemon of the test's own: a HAL9000_HOME, a folder
/// for projects, and env (set by the test's SetUp). TearDown stops every
/// daemon of env, removes its labelled containers, then release_late_binds.
struct daemon_home_test : ::testing::Test {
  temp_dir home_dir;
  temp_dir projects;
  std::string home = home_dir.path;
  std::unique_ptr<daemon_env> env;

  void TearDown() override;
};

} // namespace hal9000::test
