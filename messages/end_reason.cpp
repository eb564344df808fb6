#include "messages/end_reason.hpp"

#include <utility>

namespace hal9000 {

namespace {

constexpr std::pair<end_kind, const char*> names[] = {
  {end_kind::none, "none"},
  {end_kind::exited, "exited"},
  {end_kind::signaled, "signaled"},
  {end_kind::oom_killed, "oom-killed"},
  {end_kind::removed_outside, "removed-outside"},
  {end_kind::stopped_by_user, "stopped-by-user"},
  {end_kind::stopped_with_daemon, "stopped-with-daemon"},
  {end_kind::image_missing, "image-missing"},
  {end_kind::create_failed, "create-failed"},
  {end_kind::start_failed, "start-failed"},
  {end_kind::disappeared_while_down, "disappeared-while-down"},
  {end_kind::replaced, "replaced"},
  {end_kind::other, "other"},
};

} // namespace

std::string to_string(end_kind x) {
  for (auto& [k, n] : names)
    if (k == x)
      return n;
  return "invalid";
}

bool from_string(const std::string& name, end_kind& out) {
  for (auto& [k, n] : names)
    if (name == n) {
      out = k;
      return true;
    }
  return false;
}

std::string to_string(const end_reason& x) {
  auto with = [&](std::string base) {
    return x.detail.empty() ? base : base + " (" + x.detail + ")";
  };
  auto colon = [&](std::string base) {
    return x.detail.empty() ? base : base + ": " + x.detail;
  };
  switch (x.kind) {
    case end_kind::none:
      return "";
    case end_kind::exited:
      return with(x.code < 0 ? std::string{"exited (exit code unknown)"}
                             : "exited with code " + std::to_string(x.code));
    case end_kind::signaled:
      return with("killed by signal " + std::to_string(x.code));
    case end_kind::oom_killed:
      return with(x.memory_limit.empty() ? std::string{"OOM-killed"}
                                         : "OOM-killed (memory limit " + x.memory_limit + ")");
    case end_kind::removed_outside:
      return with("removed from outside");
    case end_kind::stopped_by_user:
      return with("stopped by user");
    case end_kind::stopped_with_daemon:
      return with("stopped with the daemon (stop --all)");
    case end_kind::image_missing:
      return colon("image missing");
    case end_kind::create_failed:
      return colon("create failed");
    case end_kind::start_failed:
      return colon("start failed");
    case end_kind::disappeared_while_down:
      return with("container disappeared while the daemon was down");
    case end_kind::replaced:
      return with("replaced by claudy restart");
    case end_kind::other:
      return x.detail.empty() ? std::string{"ended"} : x.detail;
  }
  return "invalid end reason";
}

} // namespace hal9000
