#include "cli/start_wait.hpp"

#include <cctype>
#include <cstring>

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

namespace {

// A value as a shell word: quoted when it holds anything but plain characters.
std::string shell_word(const std::string& v) {
  bool plain = !v.empty();
  for (char c : v)
    plain = plain && (std::isalnum(static_cast<unsigned char>(c)) || std::strchr("._:/,=@%+-", c));
  if (plain)
    return v;
  std::string out = "'";
  for (char c : v)
    out += c == '\'' ? std::string{"'\\''"} : std::string(1, c);
  return out + "'";
}

} // namespace

std::vector<setting_difference> given_differences(
  const daemon_status& st, const std::map<std::string, std::string>& wanted,
  const std::function<std::optional<std::string>(const std::string&)>& given) {
  std::vector<setting_difference> out;
  for (auto& [name, value] : wanted) {
    if (name == "HAL9000_HOME" || name == "HAL9000_HOST_HOME" || name == "HAL9000_DAEMON_MODE")
      continue;
    if (!given(name))
      continue;
    auto i = st.settings.find(name);
    if (i == st.settings.end() || i->second == value)
      continue;
    out.push_back({name, value, i->second});
  }
  return out;
}

std::string given_differences_text(const std::vector<setting_difference>& diffs) {
  if (diffs.empty())
    return {};
  std::string list, assign;
  for (auto& d : diffs) {
    list += (list.empty() ? "" : ", ") + d.name + "=" + d.wanted + " (it runs with "
            + (d.running.empty() ? std::string{"\"\""} : d.running) + ")";
    assign += d.name + "=" + shell_word(d.wanted) + " ";
  }
  return "the running hal9000d has other settings than given, and they were not applied: "
         + list + "; apply them with `" + assign
         + "claudy daemon restart` (sessions keep running), or `claudy daemon stop` and `"
         + assign + "claudy daemon start`";
}

} // namespace hal9000::cli
