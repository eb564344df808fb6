#pragma once
// The daemon's logs: a rotating log in HAL9000_HOME/logs/hal9000d.log (and
// the console in the foreground), and the audit log
// HAL9000_HOME/logs/audit.log as JSON lines. Both are asynchronous spdlog
// loggers: writing never blocks an actor on disk I/O.

#include <memory>
#include <string>

#include <nlohmann/json_fwd.hpp>
#include <spdlog/spdlog.h>


namespace hal9000 {

/// Sets up both loggers; safe to call once per process. Without a home
/// (embedding, tests) logs go to the console only and audit lines are dropped.
void init_logging(const std::string& home, bool console);

/// The daemon's logger (never null).
std::shared_ptr<spdlog::logger> log();

/// Appends one audit line: {"time", "event", ...fields}.
void audit(const std::string& event, nlohmann::json fields);

/// Flushes and drops the loggers (at shutdown).
void shutdown_logging();

} // namespace hal9000
