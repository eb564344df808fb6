#include "actors/session_rules.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>
#include <unistd.h>

#include "messages/error.hpp"
#include "runtime/acting_user.hpp"
#include "runtime/names.hpp"
#include "runtime/validate.hpp"

namespace hal9000 {

namespace {

std::string gib_text(int64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f GiB", static_cast<double>(bytes) / (1024.0 * 1024 * 1024));
  return buf;
}

std::string cpus_text(int64_t nano) {
  char buf[32];
  if (nano % 1000000000 == 0)
    std::snprintf(buf, sizeof(buf), "%lld", static_cast<long long>(nano / 1000000000));
  else
    std::snprintf(buf, sizeof(buf), "%.2f", static_cast<double>(nano) / 1e9);
  return buf;
}

} // namespace

host_capacity local_host_capacity() {
  host_capacity h;
  auto cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
  auto pages = ::sysconf(_SC_PHYS_PAGES);
  auto page = ::sysconf(_SC_PAGESIZE);
  if (cpus > 0)
    h.nano_cpus = static_cast<int64_t>(cpus) * 1000000000;
  if (pages > 0 && page > 0)
    h.memory_bytes = static_cast<int64_t>(pages) * page;
  return h;
}

host_capacity capacity_from_docker_info(const std::string& info_json, host_capacity fallback) {
  auto j = nlohmann::json::parse(info_json, nullptr, false);
  if (!j.is_object())
    return fallback;
  if (auto n = j.find("NCPU"); n != j.end() && n->is_number_integer() && n->get<int64_t>() > 0)
    fallback.nano_cpus = n->get<int64_t>() * 1000000000;
  if (auto m = j.find("MemTotal"); m != j.end() && m->is_number_integer()
                                   && m->get<int64_t>() > 0)
    fallback.memory_bytes = m->get<int64_t>();
  return fallback;
}

caf::expected<start_plan> plan_start(const session_settings& s, const session_start& req) {
  start_plan p;
  auto project = validate_project_path(req.path, s.allowed_roots, s.home);
  if (!project)
    return project.error();
  if (!s.host_home.empty())
    if (auto again = validate_project_path(req.path, s.allowed_roots, s.host_home); !again)
      return again.error();
  p.project_dir = std::move(*project);
  p.named = !req.name.empty();
  p.name = p.named ? req.name : default_session_name(p.project_dir);
  if (auto err = valid_name(p.name))
    return err;
  if (names::is_reserved(p.name, s.parent_prefix))
    return make_error(errc::invalid_argument,
                      "invalid name '" + p.name + "': the daemon uses it for its own containers");
  p.memory_given = !req.memory.empty();
  p.cpus_given = !req.cpus.empty();
  p.pids_given = !req.pids_limit.empty();
  p.has_limits = req.no_limits || p.memory_given || p.cpus_given || p.pids_given;
  if (req.no_limits) {
    if (p.memory_given || p.cpus_given || p.pids_given)
      return make_error(errc::invalid_argument,
                        "--no-limits cannot be combined with --memory, --cpus or --pids-limit");
    p.limits = no_limits();
    return p;
  }
  // The flags' text enters here: parsed once, each over its default (typed,
  // parsed with the config). The first bad flag is named, memory first.
  p.limits = s.defaults;
  p.limits.enabled = true;
  if (p.memory_given) {
    auto x = parse_memory(req.memory);
    if (!x)
      return x.error();
    p.limits.memory_bytes = *x;
    p.limits.memory_text = req.memory;
  }
  if (p.cpus_given) {
    auto x = parse_cpus(req.cpus);
    if (!x)
      return x.error();
    p.limits.nano_cpus = *x;
    p.limits.cpus_text = req.cpus;
  }
  if (p.pids_given) {
    auto x = parse_pids_limit(req.pids_limit);
    if (!x)
      return x.error();
    p.limits.pids_limit = *x;
    p.limits.pids_limit_text = req.pids_limit;
  }
  if (auto err = validate_limits(p.limits))  // a default that never parsed
    return err;
  // What the host cannot give is refused here, before a worker is claimed
  // (the engine would refuse --cpus only after the claim, and accept any
  // memory). Only the flags given: the defaults (WORKER_CPUS, WORKER_MEMORY)
  // were checked at the daemon's start, the same way.
  if (auto err = check_host_capacity(p.limits, s.host,
                                     {"--cpus ", "--memory ", p.cpus_given, p.memory_given, ""}))
    return err;
  return p;
}

caf::error check_host_capacity(const resource_limits& values, const host_capacity& host,
                               const capacity_check& how) {
  if (!values.enabled)
    return caf::none;
  if (how.cpus && host.nano_cpus > 0 && values.nano_cpus > host.nano_cpus)
    return make_error(errc::invalid_argument,
                      how.cpus_label + values.cpus_text + " is more than the host has ("
                        + cpus_text(host.nano_cpus) + " CPUs)" + how.advice);
  if (how.memory && host.memory_bytes > 0 && values.memory_bytes > host.memory_bytes)
    return make_error(errc::invalid_argument,
                      how.memory_label + values.memory_text + " is more than the host's memory ("
                        + gib_text(host.memory_bytes) + ")" + how.advice);
  return caf::none;
}

start_decision decide(const start_plan& plan, const std::vector<session_record>& live) {
  start_decision d;
  const session_record* same = nullptr;
  for (auto& s : live) {
    if (!is_live(s.state))
      continue;
    if (s.name == plan.name) {
      if (s.project_dir != plan.project_dir) {
        d.action = start_action::conflict;
        d.message = "session name '" + plan.name + "' is used by a running session of "
                    + s.project_dir + "; choose another with --name";
        return d;
      }
      same = &s;
      break;
    }
    // Another name on this project: `claudy PATH` attaches to it; a name
    // of the user's own choosing starts a second session.
    if (!plan.named && s.project_dir == plan.project_dir && !same)
      same = &s;
  }
  if (!same)
    return d;
  d.existing = *same;
  d.action = start_action::attach;
  if (!plan.has_limits)
    return d;
  auto want = same->limits;
  if (!plan.limits.enabled) {
    if (!same->limits.enabled)
      return d;
    d.action = start_action::conflict;
    d.message = "session " + same->name
                + " runs with limits and a running container cannot drop them; "
                  "stop it first (claudy stop " + same->name + ")";
    return d;
  }
  if (!want.enabled)  // no limits so far: every one is set now
    want = plan.limits;
  // Each flag given replaces one limit, its number with its spelling.
  if (plan.memory_given) {
    want.memory_bytes = plan.limits.memory_bytes;
    want.memory_text = plan.limits.memory_text;
  }
  if (plan.cpus_given) {
    want.nano_cpus = plan.limits.nano_cpus;
    want.cpus_text = plan.limits.cpus_text;
  }
  if (plan.pids_given) {
    want.pids_limit = plan.limits.pids_limit;
    want.pids_limit_text = plan.limits.pids_limit_text;
  }
  want.enabled = true;
  if (want == same->limits)
    return d;
  d.action = start_action::update_limits;
  d.limits = want;
  auto& was = same->limits;
  d.message = "applied limits memory " + want.memory_text + ", cpus " + want.cpus_text
              + ", pids " + want.pids_limit_text + " to the running session " + same->name
              + " (were "
              + (was.enabled ? was.memory_text + ", " + was.cpus_text + ", "
                                 + was.pids_limit_text
                             : std::string{"none"})
              + ")";
  return d;
}

bool converges(const start_plan& a, const start_plan& b) {
  return a.name == b.name || (!b.named && a.project_dir == b.project_dir)
         || (!a.named && a.project_dir == b.project_dir);
}

caf::expected<start_plan> plan_start_as_user(const session_settings& s,
                                             const session_start& req) {
  auto plan = plan_start(s, req);
  if (!plan)
    return plan;
  claim_request cr;
  cr.project_dir = plan->project_dir;
  cr.user_id = req.user_id;
  auto resolved = resolve_acting_user(std::move(cr), {s.allowed_roots, s.home, s.tls_users});
  if (!resolved)
    return resolved.error();
  plan->uid = resolved->uid;
  plan->gid = resolved->gid;
  return plan;
}

// -- what happened to a session ------------------------------------------------

end_reason end_from_exit(int64_t exit_code, bool oom_at_end,
                         const std::string& memory_limit, int kill_signal) {
  end_reason r;
  if (kill_signal > 0 && exit_code > 128) {
    r.kind = end_kind::signaled;
    r.code = exit_code < 128 + 65 ? static_cast<int32_t>(exit_code - 128) : kill_signal;
  } else if (exit_code == 137 && oom_at_end) {
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

end_reason end_of_worker(const session_ended& e) {
  auto end = e.end;
  if (end.kind == end_kind::none) {
    end.kind = end_kind::other;
    end.detail = e.words.empty() ? std::string{e.failed ? "worker failed" : "worker gone"}
                                 : e.words;
  }
  return end;
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

oom_count next_oom_count(uint32_t counted, int64_t kernel, bool readable,
                         uint32_t engine_events) {
  oom_count r;
  r.count = counted;
  r.readable = readable || kernel >= 0;
  if (kernel >= 0) {
    if (kernel > static_cast<int64_t>(counted))
      r.count = static_cast<uint32_t>(kernel);
  } else if (!readable) {
    r.count = counted + engine_events;  // no counter on this host: the engine's word
  } else if (engine_events > 0) {
    r.count = counted + 1;  // the cgroup went with the container
  }
  r.rose = r.count > counted;
  return r;
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

caf::error owner_refusal(const session_record& rec, const std::string& user,
                         const std::string& what) {
  if (user == "root" || (!user.empty() && rec.user_id == user))
    return caf::none;
  return make_error(errc::unauthenticated, "session '" + rec.name
                                             + "' belongs to another user (only its owner "
                                               "or root may " + what + " it)");
}

bool visible_to(const session_record& rec, const std::string& user) {
  return user == "root" || (!user.empty() && rec.user_id == user);
}

} // namespace hal9000
