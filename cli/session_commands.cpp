// claudy [--via-parent] PATH [--detach] [--name N] [--memory M] [--cpus C]
//        [--pids-limit P] [--no-limits];  claudy sessions;  claudy attach NAME;
// claudy stop NAME
#include <cerrno>
#include <cstring>
#include <iostream>

#include <CLI/CLI.hpp>
#include <unistd.h>

#include "cli/commands.hpp"
#include "cli/context.hpp"
#include "cli/exit_codes.hpp"
#include "cli/output.hpp"
#include "runtime/records_json.hpp"

namespace hal9000::cli {

namespace {

using namespace std::chrono_literals;

std::string shell_words(const std::vector<std::string>& argv) {
  std::string out;
  for (auto& a : argv) {
    bool plain = !a.empty() && a.find_first_of(" '\"|&;<>()$`\\*?") == std::string::npos;
    out += (out.empty() ? "" : " ") + (plain ? a : "'" + a + "'");
  }
  return out;
}

// Replaces claudy with the attach command when it can reach the worker's
// terminal (a local daemon and a terminal here); says how otherwise.
int attach_or_explain(const context& ctx, const session_reply& r, bool detach) {
  auto cmd = shell_words(r.attach);
  if (ctx.json) {
    auto j = to_json(r.session);
    j["existing"] = r.existing;
    j["attach"] = r.attach;
    j["warnings"] = r.warnings;
    std::cout << j.dump(2) << "\n";
    return exit_ok;
  }
  for (auto& w : r.warnings)
    std::cerr << "warning: " << w << "\n";
  if (detach || !ctx.host.empty() || !::isatty(0) || !::isatty(1)) {
    std::cout << "session " << r.session.name << (r.existing ? " (already running)" : "")
              << ": " << r.session.project_dir << " at /workspace, served "
              << r.session.served << "\n";
    std::cout << "attach with: claudy attach " << r.session.name;
    if (!ctx.host.empty())
      std::cout << "  (on the daemon's host: " << cmd << ")";
    std::cout << "\n";
    return exit_ok;
  }
  std::vector<char*> argv;
  auto args = r.attach;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  ::execvp(argv[0], argv.data());
  std::cerr << "claudy: cannot run " << cmd << ": " << std::strerror(errno) << "\n";
  return exit_failure;
}

template <class Request>
caf::expected<session_reply> ask(const context& ctx, Request req,
                                 std::chrono::milliseconds timeout) {
  auto conn = ctx.connect(2s);
  if (!conn)
    return conn.error();
  auto who = (*conn)->who();
  if (!who)
    return who.error();
  req.who = *who;
  return (*conn)->template call<session_reply>(std::move(req), timeout);
}

// Absolute on the client side; the daemon resolves symlinks and checks it.
std::string absolute(const std::string& path) {
  if (!path.empty() && path[0] == '/')
    return path;
  char buf[4096];
  if (!::getcwd(buf, sizeof(buf)))
    return path;
  return std::string{buf} + "/" + (path.empty() ? "." : path);
}

} // namespace

session_flags::session_flags() = default;

int start_session(const context& ctx, const session_flags& f) {
  if (::getenv("ANTHROPIC_API_KEY")) {
    std::cerr << "claudy: ANTHROPIC_API_KEY is set in this environment; hal9000 never passes "
                 "secrets through a container's environment. Store the key once with\n"
                 "  printenv ANTHROPIC_API_KEY | claudy setup\n"
                 "then unset ANTHROPIC_API_KEY: every session reads it from "
                 "/run/secrets/anthropic_key.\n";
    return exit_usage;
  }
  session_start_req req;
  req.path = ctx.host.empty() ? absolute(f.path) : f.path;
  req.name = f.name;
  req.no_limits = f.no_limits;
  req.memory = f.memory;
  req.cpus = f.cpus;
  req.pids_limit = f.pids_limit;
  auto timeout = std::chrono::seconds(ctx.cfg.claim_timeout_s) + 20s;
  auto r = ask(ctx, std::move(req), timeout);
  if (!r)
    return fail(r.error());
  return attach_or_explain(ctx, *r, f.detach);
}

void add_session_commands(CLI::App& app, context& ctx, int& rc) {
  static bool all = false;
  auto* sessions = app.add_subcommand("sessions", "List sessions: what runs, where, since when");
  sessions->add_flag("--all", all, "Include ended sessions");
  sessions->callback([&ctx, &rc] {
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
    auto list = (*conn)->call<std::vector<session_record>>(sessions_req{*who, all}, 10s);
    if (!list) {
      rc = fail(list.error());
      return;
    }
    if (ctx.json) {
      auto j = nlohmann::json::array();
      for (auto& s : *list)
        j.push_back(to_json(s));
      std::cout << j.dump(2) << "\n";
    } else {
      print_sessions(std::cout, *list);
    }
    rc = exit_ok;
  });

  static std::string attach_name;
  auto* attach = app.add_subcommand("attach", "Attach this terminal to a running session");
  attach->add_option("NAME", attach_name, "Session name")->required();
  attach->callback([&ctx, &rc] {
    auto r = ask(ctx, session_req{{}, attach_name, false}, 10s);
    rc = r ? attach_or_explain(ctx, *r, false) : fail(r.error());
  });

  static std::string stop_name;
  auto* stop = app.add_subcommand("stop", "End a session: container removed, record kept");
  stop->add_option("NAME", stop_name, "Session name")->required();
  stop->callback([&ctx, &rc] {
    auto r = ask(ctx, session_req{{}, stop_name, true}, 90s);
    if (!r) {
      rc = fail(r.error());
      return;
    }
    if (ctx.json)
      std::cout << to_json(r->session).dump(2) << "\n";
    else
      std::cout << "session " << r->session.name << " stopped ("
                << to_string(r->session.end) << ")\n";
    rc = exit_ok;
  });

  static std::string restart_name;
  static bool restart_detach = false;
  auto* restart = app.add_subcommand(
    "restart", "A new container for a session (same name, project, user home and limits): "
               "restores one cut off from its network, or one that ended");
  restart->add_option("NAME", restart_name, "Session name")->required();
  restart->add_flag("--detach", restart_detach, "Do not attach");
  restart->callback([&ctx, &rc] {
    auto timeout = std::chrono::seconds(ctx.cfg.claim_timeout_s) + 80s;
    auto r = ask(ctx, session_restart_req{{}, restart_name}, timeout);
    rc = r ? attach_or_explain(ctx, *r, restart_detach) : fail(r.error());
  });
}

} // namespace hal9000::cli
