#pragma once
// How claudy prints replies: a human table by default, JSON with --json.

#include <iosfwd>

#include <nlohmann/json.hpp>

#include "messages/cli_bridge.hpp"

namespace hal9000::cli {

nlohmann::json to_json(const daemon_status& st);
void print_status(std::ostream& out, const daemon_status& st);

} // namespace hal9000::cli
