#pragma once
// A fresh directory under /tmp for one test (e.g. a HAL9000_HOME), removed
// with everything in it when the test ends, whether it passed or not.

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "runtime/late_bind.hpp"

namespace hal9000::test {

struct temp_dir {
  std::string path;

  temp_dir() {
    std::string tmpl = "/tmp/hal9000-test-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (::mkdtemp(buf.data()))
      path = buf.data();
  }

  ~temp_dir() {
    std::error_code ec;
    if (path.empty())
      return;
    // A live bind mount below (a HAL9000_HOME's slots) would lead remove_all
    // into a project on the host: unmount everything first, and leave the
    // directory behind rather than risk that.
    if (hal9000::late_bind::unmount_all_under(path))
      return;
    std::filesystem::remove_all(path, ec);
  }

  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  std::string operator/(const std::string& rel) const { return path + "/" + rel; }
};

} // namespace hal9000::test
