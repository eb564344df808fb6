#pragma once
// What `claudy daemon start` still waits for once hal9000d answers: a healthy
// ChromaDB when the daemon keeps a parent, and the pool's first warm workers
// when the pool runs. Plain logic on a daemon_status, so it is unit-tested.

#include <string>

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

} // namespace hal9000::cli
