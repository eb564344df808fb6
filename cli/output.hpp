#pragma once
// How claudy prints replies: a human table by default, JSON with --json.

#include <iosfwd>

#include <nlohmann/json.hpp>

#include "messages/cli_bridge.hpp"

namespace hal9000::cli {

nlohmann::json to_json(const daemon_status& st);
void print_status(std::ostream& out, const daemon_status& st);

nlohmann::json to_json(const pool_status& st);
nlohmann::json to_json(const pool_op_reply& r);
void print_pool(std::ostream& out, const pool_op_reply& r);

/// NAME STATE PROJECT AGE SERVED LIMITS
void print_sessions(std::ostream& out, const std::vector<session_record>& xs);

/// "4g/2cpu/100pids" or "none".
std::string limits_text(const resource_limits& l);

} // namespace hal9000::cli
