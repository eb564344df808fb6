#include "runtime/netns.hpp"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>

#include "messages/error.hpp"

namespace hal9000::proxy {

namespace {

caf::error sys_fail(const std::string& what, int err) {
  return make_error(errc::internal, what + ": " + std::strerror(err));
}

} // namespace

caf::error in_netns(const std::string& path, const std::function<void()>& fn) {
  if (path.empty()) {
    fn();
    return caf::none;
  }
  int here = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (here < 0)
    return sys_fail("cannot open this thread's network namespace", errno);
  int there = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (there < 0) {
    auto err = sys_fail("cannot open " + path, errno);
    ::close(here);
    return err;
  }
  if (::setns(there, CLONE_NEWNET) != 0) {
    auto err = sys_fail("cannot enter " + path, errno);
    ::close(here);
    ::close(there);
    return err;
  }
  fn();
  // Back where the thread came from; failing that, this thread must not go on.
  if (::setns(here, CLONE_NEWNET) != 0)
    std::terminate();
  ::close(here);
  ::close(there);
  return caf::none;
}

} // namespace hal9000::proxy
