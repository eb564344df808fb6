#include "test_env.hpp"

#include <array>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <thread>

#include <gtest/gtest.h>
#include <unistd.h>

#include "messages/wire.hpp"

namespace hal9000::test {

const std::string& run_id() {
  static const std::string id = [] {
    std::random_device rd;
    return std::to_string(::getpid()) + "-" + std::to_string(rd() % 1000000);
  }();
  return id;
}

std::map<std::string, std::string>
test_labels(std::map<std::string, std::string> extra) {
  extra[test_label] = run_id();
  return extra;
}

std::string sh(const std::string& cmd, int* rc) {
  std::string out;
  auto* p = ::popen(cmd.c_str(), "r");
  if (!p) {
    if (rc)
      *rc = -1;
    return out;
  }
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0)
    out.append(buf.data(), n);
  auto status = ::pclose(p);
  if (rc)
    *rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

void remove_test_containers() {
  auto filter = std::string{"label="} + test_label + "=" + run_id();
  sh("ids=$(docker ps -aq --filter " + filter + " 2>/dev/null); "
     "[ -z \"$ids\" ] || docker rm -f $ids >/dev/null 2>&1; "
     "vols=$(docker volume ls -q --filter " + filter + " 2>/dev/null); "
     "[ -z \"$vols\" ] || docker volume rm -f $vols >/dev/null 2>&1");
}

bool wait_for(const std::function<bool()>& cond,
              std::chrono::milliseconds deadline) {
  auto until = std::chrono::steady_clock::now() + deadline;
  for (;;) {
    if (cond())
      return true;
    if (std::chrono::steady_clock::now() >= until)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

test_config::test_config() {
  register_types(*this);
  set("scheduler.max-threads", 2);
  set("scheduler.policy", caf::atom("sharing"));
  set("logger.verbosity", caf::atom("quiet"));
}

namespace {

// Cleans up after every suite and at exit, whether tests passed or not.
struct cleanup_env : ::testing::Environment {
  void SetUp() override { std::atexit(remove_test_containers); }
  void TearDown() override { remove_test_containers(); }
};

const auto* registered
  = ::testing::AddGlobalTestEnvironment(new cleanup_env);

} // namespace

} // namespace hal9000::test
