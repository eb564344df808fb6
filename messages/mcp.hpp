#pragma once
// `claudy doctor NAME`: whether each MCP server Claude Code sees in a session
// answers (runtime/mcp_config.hpp says which servers and how they are set up).
// The daemon runs the worker image's check script in the session's container
// (a Docker exec): each server is started as Claude Code starts it, asked for
// the MCP handshake and its tools, and the ChromaDB server also lists the
// shared ChromaDB's collections.

#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>

#include "messages/credentials.hpp"

namespace hal9000 {

struct mcp_server_state {
  std::string name;    // as in managed-mcp.json: chromadb, memory-bank, ...
  bool ok = false;     // handshake and tools (and for chromadb, ChromaDB) answered
  int64_t ms = 0;      // from spawn to the last answer
  int64_t tools = 0;   // how many tools it offers
  std::string detail;  // "9 tools; ChromaDB answers (2 collections)" or the error
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, mcp_server_state& x) {
  return f(caf::meta::type_name("hal9000::mcp_server_state"), x.name, x.ok, x.ms,
           x.tools, x.detail);
}

struct mcp_check_req {
  credentials who;
  std::string name;  // the session
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, mcp_check_req& x) {
  return f(caf::meta::type_name("hal9000::mcp_check_req"), x.who, x.name);
}

struct mcp_report {
  std::string session;
  std::string container;
  std::string config;  // where the servers were read from, in the container
  std::vector<mcp_server_state> servers;
  /// Non-empty when the check could not run or its output said nothing
  /// (e.g. an image without the check script); servers is then empty.
  std::string error;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, mcp_report& x) {
  return f(caf::meta::type_name("hal9000::mcp_report"), x.session, x.container,
           x.config, x.servers, x.error);
}

} // namespace hal9000
