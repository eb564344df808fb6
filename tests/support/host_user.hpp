#pragma once
// A real host user for one test: useradd with a unique login and a uid (=
// its group's gid) that nobody uses, found at run time; removed with its home
// (userdel -r) when the object goes, also when the test fails.

#include <string>

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support/test_env.hpp"

namespace hal9000::test {

struct host_user {
  std::string login;  // "" when no free uid could be taken
  uid_t uid = 0;
  std::string home;

  /// extra: more useradd options ("-G docker").
  explicit host_user(const std::string& extra = "") {
    auto base = 30000u + static_cast<uid_t>(::getpid() % 2000) * 10;
    for (uid_t u = base; u < base + 2000 && login.empty(); ++u) {
      if (::getpwuid(u) || ::getgrgid(u))
        continue;
      auto name = "h9t" + std::to_string(u) + "x" + std::to_string(::getpid() % 1000);
      int rc = 0;
      sh("useradd -m -u " + std::to_string(u) + " -U -s /bin/sh " + extra + " " + name
           + " 2>&1",
         &rc);
      if (rc != 0)
        continue;  // taken meanwhile by someone else: the next one
      login = name;
      uid = u;
      home = "/home/" + name;
      ::chmod(home.c_str(), 0700);
    }
  }
  ~host_user() {
    if (!login.empty())
      sh("userdel -r -f " + login + " >/dev/null 2>&1");
  }
  host_user(const host_user&) = delete;
  host_user& operator=(const host_user&) = delete;
};

} // namespace hal9000::test
