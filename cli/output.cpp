#include "cli/output.hpp"

#include <chrono>
#include <iomanip>
#include <ostream>
#include <sstream>

#include "runtime/records_json.hpp"
#include "runtime/time_format.hpp"

namespace hal9000::cli {

namespace {

nlohmann::json volumes_json(const std::vector<volume_report>& vs) {
  auto out = nlohmann::json::array();
  for (auto& v : vs)
    out.push_back({{"name", v.name}, {"state", to_string(v.state)}, {"error", v.error}});
  return out;
}

nlohmann::json sandbox_json(const sandbox_status& sb) {
  auto sessions = nlohmann::json::array();
  for (auto& x : sb.sessions)
    sessions.push_back({{"session", x.session}, {"user", x.user_id},
                        {"requests", x.usage.requests}, {"errors", x.usage.errors},
                        {"input_tokens", x.usage.input_tokens},
                        {"output_tokens", x.usage.output_tokens},
                        {"in_flight", x.in_flight}, {"last_call", x.last_call}});
  return {{"attached", sb.attached}, {"parent_pid", sb.parent_pid},
          {"proxy_url", sb.proxy_url}, {"upstream", sb.upstream},
          {"egress", sb.egress}, {"allow", sb.allow}, {"filter_proxy", sb.filter_proxy},
          {"refusals", sb.refusals}, {"error", sb.error}, {"sessions", sessions}};
}

} // namespace

nlohmann::json to_json(const daemon_status& st) {
  return {
    {"pid", st.pid},
    {"version", st.version},
    {"wire_version", st.wire_version},
    {"uptime_s", st.uptime_s},
    {"home", st.home},
    {"docker", {{"reachable", st.docker_reachable},
                {"version", st.docker_version},
                {"host", st.docker_host},
                {"error", st.docker_error}}},
    {"parent", {{"state", st.parent_state}}},
    {"chromadb", {{"state", st.chroma_state}, {"latency_ms", st.chroma_latency_ms}}},
    {"pool", {{"running", st.pool_running},
              {"warm", st.warm},
              {"creating", st.creating},
              {"busy", st.busy},
              {"min", st.min_warm},
              {"max", st.max_warm}}},
    {"sessions", st.sessions},
    {"late_bind", st.late_bind},
    {"mode", st.mode},
    {"container", st.container},
    {"control", {{"listen", st.listen}, {"tls", st.tls}}},
    {"notes", st.notes},
    {"user", st.user},
    {"volumes", volumes_json(st.volumes)},
    {"sandbox", sandbox_json(st.sandbox)},
  };
}

namespace {

std::string duration(int64_t s) {
  if (s < 60)
    return std::to_string(s) + "s";
  if (s < 3600)
    return std::to_string(s / 60) + "m" + std::to_string(s % 60) + "s";
  return std::to_string(s / 3600) + "h" + std::to_string((s % 3600) / 60) + "m";
}

} // namespace

void print_status(std::ostream& out, const daemon_status& st) {
  auto row = [&](const char* key, const std::string& value) {
    out << "  " << std::left << std::setw(10) << key << value << "\n";
  };
  out << "hal9000d " << st.version << " running (pid " << st.pid << ", up "
      << duration(st.uptime_s) << ")\n";
  if (!st.mode.empty())
    row("mode", st.mode);
  row("home", st.home);
  row("control", st.listen + (st.tls ? " (mutual TLS)" : " (plain TCP, loopback)"));
  row("docker", st.docker_reachable
                  ? st.docker_version + " at " + st.docker_host + " (reachable)"
                  : "unreachable at " + st.docker_host + ": " + st.docker_error);
  row("parent", st.parent_state);
  std::ostringstream chroma;
  chroma << st.chroma_state;
  if (st.chroma_state == "healthy" || st.chroma_state == "degraded")
    chroma << " (" << std::fixed << std::setprecision(1) << st.chroma_latency_ms << " ms)";
  row("chromadb", chroma.str());
  row("pool", (st.pool_running ? std::string{"running: "} : std::string{"stopped: "})
                + std::to_string(st.warm) + " warm, " + std::to_string(st.creating)
                + " creating, " + std::to_string(st.busy) + " busy (min "
                + std::to_string(st.min_warm) + ", max " + std::to_string(st.max_warm)
                + ")");
  row("sessions", std::to_string(st.sessions));
  for (auto& v : st.volumes)
    row("volume", v.name + ": " + to_string(v.state) + (v.error.empty() ? "" : " (" + v.error + ")"));
  if (!st.user.empty())
    row("you", st.user);
  if (!st.late_bind.empty())
    row("claims", st.late_bind);
  auto& sb = st.sandbox;
  row("proxy", sb.attached ? "credential proxy at " + sb.proxy_url + " in the parent's namespace -> "
                               + sb.upstream
                           : std::string{"not attached (sessions get no placeholder)"});
  std::string allow;
  for (auto& a : sb.allow)
    allow += (allow.empty() ? "" : ",") + a;
  row("egress", sb.egress
                  + (sb.egress == "allowlist" ? ": " + allow + " via " + sb.filter_proxy : "")
                  + " (HAL9000_EGRESS_ALLOW); " + std::to_string(sb.refusals) + " refused");
  for (auto& x : sb.sessions)
    if (x.in_flight > 0 || x.usage.requests > 0)
      row("model", x.session + ": " + std::to_string(x.usage.requests) + " calls, "
                     + std::to_string(x.usage.errors) + " errors, "
                     + std::to_string(x.usage.input_tokens) + " in / "
                     + std::to_string(x.usage.output_tokens) + " out tokens"
                     + (x.in_flight > 0 ? ", " + std::to_string(x.in_flight) + " in flight"
                                        : std::string{}));
  if (!sb.error.empty())
    row("note", "sandbox: " + sb.error);
  for (auto& note : st.notes)
    row("note", note);
}

} // namespace hal9000::cli

namespace hal9000::cli {

std::string limits_text(const resource_limits& l) {
  if (!l.enabled)
    return "none";
  return l.memory_text + "/" + l.cpus_text + "cpu/" + l.pids_limit_text + "pids";
}

nlohmann::json to_json(const pool_status& st) {
  nlohmann::json workers = nlohmann::json::array();
  for (auto& w : st.workers)
    workers.push_back({{"id", w.id}, {"state", to_string(w.state)}, {"container_id", w.container_id},
                       {"container_name", w.container_name}, {"session", w.session_name},
                       {"served", to_string(w.served)}, {"age_s", w.age_s},
                       {"state_age_s", w.state_age_s}, {"reason", w.reason}});
  return {
    {"running", st.running}, {"warm", st.warm}, {"creating", st.creating},
    {"claimed", st.claimed}, {"busy", st.busy}, {"failed", st.failed},
    {"queued", st.queued}, {"min", st.min}, {"max", st.max},
    {"max_creating", st.max_creating}, {"idle_timeout_s", st.idle_timeout_s},
    {"check_interval_s", st.check_interval_s}, {"claim_timeout_s", st.claim_timeout_s},
    {"limits", {{"enabled", st.limits.enabled}, {"memory", st.limits.memory_text},
                {"cpus", st.limits.cpus_text}, {"pids_limit", st.limits.pids_limit_text}}},
    {"image", st.image}, {"network_mode", st.network_mode},
    {"late_bind", st.late_bind}, {"late_bind_reason", st.late_bind_reason},
    {"workers", workers}, {"warnings", st.warnings},
  };
}

nlohmann::json to_json(const pool_op_reply& r) {
  auto j = to_json(r.status);
  j["op"] = r.op;
  j["done"] = r.done;
  for (auto& w : r.warnings)
    j["warnings"].push_back(w);
  return j;
}

namespace {

std::string age_text(double s) {
  return duration(static_cast<int64_t>(s));
}

std::string age_since(const std::string& iso) {
  auto t = parse_iso8601_utc(iso);
  if (!t)
    return "-";
  auto s = std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now() - *t).count();
  return duration(s < 0 ? 0 : s);
}

} // namespace

void print_pool(std::ostream& out, const pool_op_reply& r) {
  for (auto& line : r.done)
    out << line << "\n";
  for (auto& w : r.warnings)
    out << "warning: " << w << "\n";
  auto& st = r.status;
  out << "pool " << (st.running ? "running" : "stopped") << ": " << st.warm << " warm, "
      << st.creating << " creating, " << st.claimed + st.busy << " busy, " << st.failed
      << " failed";
  if (st.queued > 0)
    out << ", " << st.queued << " claims queued";
  out << "\n  min " << st.min << ", max " << st.max << ", idle timeout "
      << st.idle_timeout_s << "s, check interval " << st.check_interval_s << "s\n"
      << "  image " << st.image << ", limits " << limits_text(st.limits) << ", network "
      << st.network_mode << "\n"
      << "  claims " << (st.late_bind ? "warm (late binding: " + st.late_bind_reason + ")"
                                    : "cold: " + st.late_bind_reason)
      << "\n";
  for (auto& w : st.warnings)
    out << "  warning: " << w << "\n";
  if (st.workers.empty())
    return;
  out << "\n  " << std::left << std::setw(14) << "WORKER" << std::setw(10) << "STATE"
      << std::setw(14) << "CONTAINER" << std::setw(8) << "AGE" << std::setw(10) << "IN STATE"
      << "SESSION / REASON\n";
  for (auto& w : st.workers)
    out << "  " << std::setw(14) << w.id << std::setw(10) << to_string(w.state) << std::setw(14)
        << (w.container_id.empty() ? "-" : w.container_id.substr(0, 12)) << std::setw(8)
        << age_text(w.age_s) << std::setw(10) << age_text(w.state_age_s)
        << (w.session_name.empty() ? (w.reason.empty() ? "" : w.reason) : w.session_name)
        << "\n";
}

void print_sessions(std::ostream& out, const std::vector<session_record>& xs) {
  if (xs.empty()) {
    out << "no sessions\n";
    return;
  }
  out << std::left << std::setw(28) << "NAME" << std::setw(14) << "STATE" << std::setw(8)
      << "AGE" << std::setw(7) << "SERVED" << std::setw(22) << "LIMITS" << std::setw(18)
      << "CALLS/ERR/TOKENS" << "PROJECT\n";
  for (auto& s : xs) {
    auto state = to_string(s.state);
    auto& u = s.usage;
    auto calls = std::to_string(u.requests) + "/" + std::to_string(u.errors) + "/"
                 + std::to_string(u.input_tokens + u.output_tokens);
    out << std::setw(28) << s.name << std::setw(14) << state << std::setw(8)
        << age_since(s.created_at) << std::setw(7) << (s.served == served_kind::none ? "-" : to_string(s.served))
        << std::setw(22) << limits_text(s.limits) << std::setw(18) << calls << s.project_dir;
    if (s.state == session_state::ended && s.end.kind != end_kind::none)
      out << "  (" << to_string(s.end) << ")";
    else if (s.state != session_state::ended && !s.state_reason.empty())
      out << "  (" << s.state_reason << ")";
    if (s.oom_kills > 0)
      out << "  [" << s.oom_kills << " OOM kill" << (s.oom_kills == 1 ? "" : "s")
          << " inside" << (s.last_oom_at.empty() ? "" : ", last " + s.last_oom_at) << "]";
    out << "\n";
  }
}

} // namespace hal9000::cli
