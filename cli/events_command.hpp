#pragma once
// claudy events [--follow] [--json]: the daemon's lifecycle events, one line
// each (human text, or one JSON object per line with --json).

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

#include "messages/events.hpp"

namespace CLI {
class App;
}

namespace hal9000::cli {

class connection;
struct context;

/// Prints the recent events (follow=false) and exits, or streams every event
/// until SIGINT/SIGTERM (exit 0) or the daemon goes away (exit 3).
int run_events(connection& conn, bool follow, bool json,
               std::chrono::milliseconds timeout = std::chrono::seconds(10));

/// Adds `events` to claudy (uses ctx.json for --json).
void add_events_command(CLI::App& app, context& ctx, int& rc);

/// "2026-01-26T12:00:00.123Z worker.died w-3 session s exit 137 (OOM-killed,
/// memory limit 64m) from=busy".
std::string format_event(const lifecycle_event& e);

/// Every field under a stable key; exit_code null when unknown.
nlohmann::json event_to_json(const lifecycle_event& e);

/// Bytes as Docker writes limits: "64m", "4g", "1536k", "100b".
std::string format_memory(int64_t bytes);

} // namespace hal9000::cli
