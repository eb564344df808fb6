#pragma once
// What `claudy daemon start` still waits for once hal9000d answers: a healthy
// ChromaDB when the daemon keeps a parent, and the pool's first warm workers
// when the pool runs. Plain logic on a daemon_status, so it is unit-tested.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "messages/cli_bridge.hpp"

namespace hal9000::cli {

struct readiness {
  /// Nothing left to wait for.
  bool ready = false;
  /// What is awaited, for the live line:
  /// "ChromaDB (degraded) and warm workers 1/3".
  std::string waiting;
  /// Set when waiting cannot help (the parent could not be made); says why.
  std::string problem;
};

readiness readiness_of(const daemon_status& st);

/// The settings given to a `claudy daemon start` that found a daemon running
/// with others: for each NAME set in the environment (given(NAME) has a value)
/// whose value in wanted (daemon_env of claudy's configuration) differs from
/// the running daemon's (st.settings): "NAME=WANTED (it runs with RUNNING)".
/// HAL9000_HOME, HAL9000_HOST_HOME and HAL9000_DAEMON_MODE differ by design
/// between claudy and a daemon in its container and are left out.
struct setting_difference {
  std::string name;
  std::string wanted;
  std::string running;
};
std::vector<setting_difference> given_differences(
  const daemon_status& st, const std::map<std::string, std::string>& wanted,
  const std::function<std::optional<std::string>(const std::string&)>& given);

/// What claudy says about them: which differ, that they were not applied,
/// and the command that applies them (`NAME=V ... claudy daemon restart`:
/// sessions keep running). "" when none differ.
std::string given_differences_text(const std::vector<setting_difference>& diffs);

} // namespace hal9000::cli
