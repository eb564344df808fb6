#include "support/container_daemon.hpp"

#include <cstdlib>
#include <fstream>
#include <iterator>

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/late_bind.hpp"
#include "support/chroma_server.hpp"
#include "support/test_env.hpp"

namespace hal9000::test {

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r'))
    s.pop_back();
  return s;
}

std::string read_all(const std::string& path) {
  std::ifstream in{path};
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

std::string parent_image() {
  auto* v = std::getenv("HAL9000_TEST_PARENT_IMAGE");
  return v && *v ? v : "hal9000/parent:local";
}

bool image_present(const std::string& image) {
  int rc = -1;
  sh("docker image inspect " + image + " >/dev/null 2>&1", &rc);
  return rc == 0;
}

std::string inspect(const std::string& name, const std::string& format) {
  return trim(sh("docker inspect --format '" + format + "' " + name + " 2>&1"));
}

void set_managed_parent_vars(std::map<std::string, std::string>& v,
                             const std::string& prefix, uint16_t chroma_port) {
  v["HAL9000_MANAGE_PARENT"] = "true";
  v["HAL9000_PARENT_PREFIX"] = prefix;
  v["CHROMADB_PORT"] = std::to_string(chroma_port);
  v["WORKER_IMAGE"] = "hal9000/worker:local";
  v["WORKER_COMMAND"] = "sleep 100000";
  v["HAL9000_ALLOWED_ROOTS"] = "/tmp";
}

bool open_project_to_worker(const std::string& path) {
  // A worker's root has no DAC_OVERRIDE: the busybox worker needs 0755 too.
  return ::chown(path.c_str(), 1000, 1000) == 0 && ::chmod(path.c_str(), 0755) == 0;
}

void remove_by_prefix(const std::string& prefix) {
  sh("ids=$(docker ps -aq --filter name=^/" + prefix
     + "- 2>/dev/null); [ -z \"$ids\" ] || docker rm -f $ids >/dev/null 2>&1");
  sh("vs=$(docker volume ls -q --filter name=^" + prefix
     + "- 2>/dev/null); [ -z \"$vs\" ] || docker volume rm -f $vs >/dev/null 2>&1");
}

void container_daemon_test::SetUp() {
  for (auto image : {parent_image(), std::string{"hal9000/chromadb:local"},
                     std::string{"hal9000/worker:local"}, std::string{"hal9000/egress:local"}})
    if (!image_present(image))
      GTEST_SKIP() << "image " << image << " is missing: run scripts/build-images";
  int rc = -1;
  sh("docker run --rm --network none " + parent_image() + " hal9000d --version >/dev/null 2>&1",
     &rc);
  if (rc != 0)
    GTEST_SKIP() << parent_image() << " does not carry hal9000d: run scripts/build-images parent";
  ASSERT_FALSE(home_.path.empty());
  static int counter = 0;
  prefix_ = tag_ + "-" + run_id() + "-" + std::to_string(++counter);
  chroma_port_ = free_loopback_port();
  env_ = std::make_unique<daemon_env>(home_.path);
  auto& v = env_->vars;
  set_managed_parent_vars(v, prefix_, chroma_port_);
  v["HAL9000_DAEMON_MODE"] = "container";
  v["PARENT_IMAGE"] = parent_image();
  v["SKIP_IMAGE_PULL"] = "true";
  v["ENABLE_POOL_MANAGER"] = "true";
  v["MIN_WARM_WORKERS"] = "1";
  v["MAX_WARM_WORKERS"] = "2";
  v["WORKER_MEMORY"] = "512m";
  v["WORKER_CPUS"] = "1";
  ASSERT_TRUE(open_project_to_worker(project_.path));
}

void container_daemon_test::TearDown() {
  if (!env_)
    return;
  env_->claudy("daemon stop --all");
  for (auto& m : submounts_)
    ::umount2(m.c_str(), MNT_DETACH);
  env_.reset();  // removes every container labelled with its daemon id
  remove_by_prefix(prefix_);
  auto mounts = late_bind::mounts_dir(home_.path);
  EXPECT_FALSE(late_bind::unmount_all_under(mounts));
}

nlohmann::json container_daemon_test::status() {
  auto r = claudy("--json daemon status");
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << r.out;
  return j.is_discarded() ? nlohmann::json::object() : j;
}

} // namespace hal9000::test
