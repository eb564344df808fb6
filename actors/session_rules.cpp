#include "actors/session_rules.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "messages/error.hpp"

namespace hal9000 {

end_reason end_from_exit(int64_t exit_code, bool oom_at_end,
                         const std::string& memory_limit) {
  end_reason r;
  if (exit_code == 137 && oom_at_end) {
    r.kind = end_kind::oom_killed;
    r.memory_limit = memory_limit;
  } else if (exit_code > 128 && exit_code < 128 + 65) {
    r.kind = end_kind::signaled;
    r.code = static_cast<int32_t>(exit_code - 128);
  } else {
    r.kind = end_kind::exited;
    r.code = exit_code < 0 ? -1 : static_cast<int32_t>(exit_code);
  }
  return r;
}

end_reason end_from_stopped(const docker::container_info& info,
                            const std::string& memory_limit) {
  if (info.state == "created") {
    end_reason r;
    r.kind = end_kind::start_failed;
    r.detail = "the container was created but never started";
    return r;
  }
  return end_from_exit(info.exit_code, info.oom_killed, memory_limit);
}

end_reason end_from_claim_error(const caf::error& err) {
  end_reason r;
  r.detail = error_message(err);
  switch (error_code(err)) {
    case errc::not_found:
      r.kind = end_kind::image_missing;
      break;
    case errc::unavailable:
    case errc::internal:
    case errc::already_exists:
    case errc::conflict:
      r.kind = end_kind::create_failed;
      break;
    default:
      r.kind = end_kind::start_failed;
      break;
  }
  return r;
}

std::vector<std::string> oom_counter_files(const std::string& cgroup_root,
                                           const std::string& container_id) {
  const auto& r = cgroup_root;
  const auto& id = container_id;
  return {
    // cgroup v1: the memory controller's own hierarchy.
    r + "/memory/docker/" + id + "/memory.oom_control",
    r + "/memory/system.slice/docker-" + id + ".scope/memory.oom_control",
    // cgroup v2: one unified hierarchy.
    r + "/system.slice/docker-" + id + ".scope/memory.events",
    r + "/docker/" + id + "/memory.events",
  };
}

int64_t parse_oom_kill(const std::string& text) {
  std::istringstream in{text};
  std::string key;
  std::string value;
  while (in >> key >> value)
    if (key == "oom_kill") {
      char* end = nullptr;
      auto n = std::strtoll(value.c_str(), &end, 10);
      if (end != value.c_str() && *end == '\0' && n >= 0)
        return n;
      return -1;
    }
  return -1;
}

int64_t read_oom_kills(const std::string& cgroup_root, const std::string& container_id) {
  if (container_id.empty() || container_id.find('/') != std::string::npos
      || container_id.find("..") != std::string::npos)
    return -1;
  for (auto& path : oom_counter_files(cgroup_root, container_id)) {
    std::ifstream in{path};
    if (!in)
      continue;
    std::stringstream text;
    text << in.rdbuf();
    return parse_oom_kill(text.str());
  }
  return -1;
}

std::string restore_command(const std::string& session) {
  return "claudy restart " + session;
}

std::string network_lost_reason(const std::string& session, const std::string& why) {
  return "network lost: " + why + "; restore with `" + restore_command(session) + "`";
}

} // namespace hal9000
