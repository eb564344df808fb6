#pragma once
// The MCP servers Claude Code sees in every worker (issue 16): the daemon
// writes Claude Code's managed MCP configuration into its state directory,
//   HAL9000_HOME/mcp/managed-mcp.json  (0644, atomic; rewritten at each start)
// and binds it read-only into every worker, warm or cold, at
//   /etc/claude-code/managed-mcp.json
// so every Claude Code there (the session's, or one started by hand) starts
// the servers the worker image carries in /opt/hal9000-mcp (images/worker/mcp):
//   chromadb             ours, on the shared ChromaDB at localhost:<port>
//   memory-bank          @allpepper/memory-bank-mcp on /data/membank
//   sequential-thinking  @modelcontextprotocol/server-sequential-thinking
// plus the operator's own servers from HAL9000_HOME/mcp/servers.json.
// ChromaDB's address comes from the daemon's configuration (the port the
// parent actually publishes), never from the image. Claude Code gives a
// managed-mcp.json exclusive control: `claude mcp add` is refused while it is
// present (HAL9000_MANAGED_MCP=false leaves it out), so it is bound only when
// the worker image carries the servers (label hal9000.mcp).

#include <cstdint>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "messages/mcp.hpp"

namespace hal9000::mcp {

/// Where the file appears in a worker, and the image's check script.
constexpr const char* container_config = "/etc/claude-code/managed-mcp.json";
constexpr const char* check_script = "/opt/hal9000-mcp/check.mjs";
constexpr const char* membank_root = "/data/membank";
/// The worker image's label that says it carries the servers (its value:
/// where). The daemon binds the file only into workers of such an image.
constexpr const char* image_label = "hal9000.mcp";

/// The servers' names, in the order the file lists them.
const std::vector<std::string>& server_names();

struct settings {
  std::string chroma_host = "127.0.0.1";  // as a worker reaches it
  uint16_t chroma_port = 8000;
};

/// A worker's address for a ChromaDB bound at bind_host (CHROMADB_HOST): a
/// wildcard (0.0.0.0, ::, empty) is reached at 127.0.0.1 in the parent's
/// namespace; anything else as given.
std::string worker_chroma_host(const std::string& bind_host);

/// The file's JSON text: {"mcpServers": {name: {type, command, args, env}}}.
/// extra: the operator's own servers (servers.json's text, same shape; ""
/// for none), merged in; ours keep their names. What was left out of extra,
/// and why, goes to notes. invalid_argument when extra is not such JSON.
caf::expected<std::string> managed_mcp_json(const settings& s, const std::string& extra,
                                            std::vector<std::string>& notes);
std::string managed_mcp_json(const settings& s);

/// HAL9000_HOME/mcp/managed-mcp.json
std::string config_path(const std::string& home);

/// HAL9000_HOME/mcp/servers.json: MCP servers of the operator's own for
/// every worker (Claude Code refuses `claude mcp add` beside a managed file).
std::string extra_servers_path(const std::string& home);

/// Writes the file (directory 0755, file 0644, atomic) with servers.json
/// merged in; returns its path. A servers.json that cannot be used is moved
/// to mcp/corrupt/ and named in notes; ours are written regardless.
/// Blocks (fsync): call it at start, off the scheduler.
caf::expected<std::string> write_managed_mcp(const std::string& home, const settings& s,
                                             std::vector<std::string>& notes);

/// Parses the image's check script's output (one JSON object per line:
/// {"name","ok","ms","tools","detail"}); other lines are skipped.
std::vector<mcp_server_state> parse_check_output(const std::string& out);

} // namespace hal9000::mcp
