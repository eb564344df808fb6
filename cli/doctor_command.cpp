// claudy doctor NAME: whether each MCP server Claude Code sees in a session
// answers (messages/mcp.hpp). Exit 0 when every one does, 1 when one does not
// or the check could not run, 5 for an unknown session.
#include <cstdio>
#include <iostream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/context.hpp"
#include "cli/exit_codes.hpp"
#include "messages/cli_bridge.hpp"

namespace hal9000::cli {

namespace {

using namespace std::chrono_literals;

nlohmann::json to_json(const mcp_report& r) {
  auto servers = nlohmann::json::array();
  for (auto& s : r.servers)
    servers.push_back({{"name", s.name}, {"ok", s.ok}, {"ms", s.ms},
                       {"tools", s.tools}, {"detail", s.detail}});
  return {{"session", r.session}, {"container", r.container}, {"config", r.config},
          {"servers", servers}, {"error", r.error}};
}

void print(std::ostream& out, const mcp_report& r) {
  out << "session " << r.session << ": MCP servers of " << r.config << "\n";
  if (!r.error.empty()) {
    out << "  " << r.error << "\n";
    return;
  }
  for (auto& s : r.servers) {
    char line[96];
    std::snprintf(line, sizeof line, "  %-22s %-9s %6lld ms  ", s.name.c_str(),
                  s.ok ? "answers" : "FAILS", static_cast<long long>(s.ms));
    out << line << s.detail << "\n";
  }
}

} // namespace

void add_doctor_command(CLI::App& app, context& ctx, int& rc) {
  static std::string name;
  auto* doctor = app.add_subcommand(
    "doctor", "Check a session's MCP servers (ChromaDB, Memory Bank, sequential thinking)");
  doctor->add_option("NAME", name, "Session name")->required();
  doctor->callback([&ctx, &rc] {
    auto conn = ctx.connect(2s);
    if (!conn) {
      rc = fail(conn.error());
      return;
    }
    auto who = (*conn)->who();
    if (!who) {
      rc = fail(who.error());
      return;
    }
    auto r = (*conn)->call<mcp_report>(mcp_check_req{*who, name}, 45s);
    if (!r) {
      rc = fail(r.error());
      return;
    }
    if (ctx.json)
      std::cout << to_json(*r).dump(2) << "\n";
    else
      print(std::cout, *r);
    bool all_ok = r->error.empty() && !r->servers.empty();
    for (auto& s : r->servers)
      all_ok = all_ok && s.ok;
    rc = all_ok ? exit_ok : exit_failure;
  });
}

} // namespace hal9000::cli
