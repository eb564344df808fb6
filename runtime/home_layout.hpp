#pragma once
// Paths under HAL9000_HOME that more than one component names, so nobody
// spells them by hand. The tree and its version: messages/session_store.hpp.

#include <string>

namespace hal9000::home_layout {

inline std::string daemon_pid(const std::string& home) { return home + "/hal9000d.pid"; }
inline std::string pool_pid(const std::string& home) { return home + "/pool/pool-manager.pid"; }
inline std::string sessions_dir(const std::string& home) { return home + "/sessions"; }
inline std::string workers_dir(const std::string& home) { return home + "/pool/workers"; }

} // namespace hal9000::home_layout
