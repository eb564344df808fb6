#include "cli/start_wait.hpp"

namespace hal9000::cli {

namespace {

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}

// The runtime's note when ensuring the parent failed, else the keeper's error.
std::string parent_problem(const daemon_status& st) {
  for (auto* prefix : {"parent not running: ", "parent: "})
    for (auto& n : st.notes)
      if (starts_with(n, prefix))
        return n.substr(std::string{prefix}.size());
  return "the parent container is " + st.parent_state;
}

} // namespace

readiness readiness_of(const daemon_status& st) {
  readiness r;
  // "unknown": the daemon keeps no parent (HAL9000_MANAGE_PARENT=false), so
  // nobody promised a ChromaDB.
  bool parent_up = st.parent_state == "running" || st.parent_state == "different-config";
  if (!parent_up && st.parent_state != "unknown" && !st.parent_state.empty())
    r.problem = "ChromaDB is unavailable: " + parent_problem(st);
  if (parent_up && st.chroma_state != "healthy")
    r.waiting = "ChromaDB (" + st.chroma_state + ")";
  if (st.pool_running && st.warm < st.min_warm)
    r.waiting += (r.waiting.empty() ? "" : " and ") + std::string{"warm workers "}
                 + std::to_string(st.warm) + "/" + std::to_string(st.min_warm);
  r.ready = r.problem.empty() && r.waiting.empty();
  return r;
}

} // namespace hal9000::cli
