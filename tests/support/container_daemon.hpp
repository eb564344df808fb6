// A daemon that manages its parent (<prefix>-parent, <prefix>-chromadb or
// <prefix>-netns), as the integration tests drive it with the real claudy,
// hal9000d and images: the shared helpers, and a fixture base for the
// container mode (hal9000d inside <prefix>-parent).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/cli_process.hpp"
#include "support/temp_dir.hpp"

namespace hal9000::test {

/// s without trailing newlines, carriage returns and spaces.
std::string trim(std::string s);

/// The whole file at path; "" when it cannot be read.
std::string read_all(const std::string& path);

/// HAL9000_TEST_PARENT_IMAGE, or hal9000/parent:local.
std::string parent_image();

/// Whether the engine has image (by name:tag or id).
bool image_present(const std::string& image);

/// `docker inspect --format <format> <name>`, trimmed; Docker's error text
/// when name does not exist.
std::string inspect(const std::string& name, const std::string& format);

/// Sets the variables every managed-parent daemon in the tests shares:
/// HAL9000_MANAGE_PARENT, HAL9000_PARENT_PREFIX=prefix,
/// CHROMADB_PORT=chroma_port, WORKER_IMAGE=hal9000/worker:local,
/// WORKER_COMMAND=sleep, HAL9000_ALLOWED_ROOTS=/tmp.
void set_managed_parent_vars(std::map<std::string, std::string>& vars,
                             const std::string& prefix, uint16_t chroma_port);

/// Makes a project directory enterable by the worker's user (claude, uid
/// 1000): mkdtemp made it root's and 0700. False when chown/chmod fail.
bool open_project_to_worker(const std::string& path);

/// Removes every container and volume whose name starts with "<prefix>-".
void remove_by_prefix(const std::string& prefix);

/// A fixture base for the container mode: skips (saying why) when an image
/// is missing or the parent image does not carry hal9000d; otherwise sets a
/// unique prefix "<tag>-<run id>-<n>", a free CHROMADB_PORT, a daemon_env
/// with HAL9000_DAEMON_MODE=container, a warm pool (1..2, 512m, 1 cpu) and a
/// project the worker can enter. TearDown stops every daemon of the env,
/// detaches submounts_, removes the env's and the prefix's containers and
/// volumes, and unmounts what the daemon late-bound under its home.
class container_daemon_test : public ::testing::Test {
protected:
  /// tag: the prefix's first part, one per test file (e.g. "h9c").
  explicit container_daemon_test(std::string tag) : tag_(std::move(tag)) {}

  void SetUp() override;
  void TearDown() override;

  std::string parent() const { return prefix_ + "-parent"; }
  std::string netns() const { return prefix_ + "-netns"; }

  run_result claudy(const std::string& args) { return env_->claudy(args); }

  /// `claudy --json daemon status`, {} (and a failure) when not JSON.
  nlohmann::json status();

  temp_dir home_;
  temp_dir project_;
  std::vector<std::string> submounts_;  // detached in TearDown
  std::string prefix_;
  uint16_t chroma_port_ = 0;
  std::unique_ptr<daemon_env> env_;

private:
  std::string tag_;
};

} // namespace hal9000::test
