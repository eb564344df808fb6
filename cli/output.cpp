#include "cli/output.hpp"

#include <iomanip>
#include <ostream>
#include <sstream>

namespace hal9000::cli {

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
    {"control", {{"listen", st.listen}, {"tls", st.tls}}},
    {"notes", st.notes},
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
  if (!st.late_bind.empty())
    row("claims", st.late_bind);
  for (auto& note : st.notes)
    row("note", note);
}

} // namespace hal9000::cli
