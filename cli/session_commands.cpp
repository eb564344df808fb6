// claudy [--via-parent] PATH [--detach] [--name N] [--memory M] [--cpus C]
//        [--pids-limit P] [--no-limits];  claudy sessions;
// claudy attach [--read-only] NAME (cli/terminal_command.cpp);
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
#include "runtime/late_bind.hpp"
#include "cli/terminal_command.hpp"
#include "runtime/records_json.hpp"

namespace hal9000::cli {

namespace {

using namespace std::chrono_literals;

// Attaches this terminal to the session through the daemon (local or
// remote alike) when there is a terminal here; says how otherwise.
int attach_or_explain(const context& ctx, const session_reply& r, bool detach) {
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
  if (detach || !::isatty(0) || !::isatty(1)) {
    std::cout << "session " << r.session.name << (r.existing ? " (already running)" : "")
              << ": " << r.session.project_dir << " at "
              << late_bind::project_workdir(r.session.project_dir) << " (and /workspace), served "
              << r.session.served << "\n";
    std::cout << "attach with: claudy attach " << r.session.name << "\n";
    return exit_ok;
  }
  return run_attach(ctx, r.session.name, false);
}

// keep: when given, the connection stays open in it after the reply (the
// caller prints while it lives, then may leave at once: leave_now).
template <class Request>
caf::expected<session_reply> ask(const context& ctx, Request req,
                                 std::chrono::milliseconds timeout,
                                 std::unique_ptr<connection>* keep = nullptr) {
  auto conn = ctx.connect(2s);
  if (!conn)
    return conn.error();
  auto who = (*conn)->who();
  if (!who)
    return who.error();
  req.who = *who;
  auto r = (*conn)->template call<session_reply>(std::move(req), timeout);
  if (keep)
    *keep = std::move(*conn);
  return r;
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
                 "then unset ANTHROPIC_API_KEY: it stays on the daemon's host and every "
                 "session reaches the API through the daemon's credential proxy.\n";
    return exit_usage;
  }
  session_start_req req;
  req.path = ctx.host.empty() ? absolute(f.path) : f.path;
  req.name = f.name;
  req.no_limits = f.no_limits;
  req.memory = f.memory;
  req.cpus = f.cpus;
  req.pids_limit = f.pids_limit;
  // The daemon answers within its start budget, derived from the claim
  // timeout the daemon shares with us (messages/deadlines.hpp); a reply that
  // comes later still leaves the session recorded or undone, never running
  // without a record.
  auto timeout = ctx.start_wait();
  std::unique_ptr<connection> conn;
  auto r = ask(ctx, std::move(req), timeout, &conn);
  if (!r)
    return fail(r.error());
  if (f.detach || ctx.json || !::isatty(0) || !::isatty(1))
    leave_now(attach_or_explain(ctx, *r, true));
  conn.reset();
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
  static bool attach_read_only = false;
  auto* attach = app.add_subcommand(
    "attach", "Attach this terminal to a running session (detach: C-b d); --json prints it");
  attach->add_option("NAME", attach_name, "Session name")->required();
  attach->add_flag("--read-only", attach_read_only, "Watch without typing (leave with C-b d)");
  attach->callback([&ctx, &rc] {
    if (!ctx.json) {
      rc = run_attach(ctx, attach_name, attach_read_only);
      return;
    }
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
    // A session that had already ended: a successful no-op, as `docker stop`.
    bool had_ended = r->existing;
    if (ctx.json) {
      auto j = to_json(r->session);
      j["already_ended"] = had_ended;
      std::cout << j.dump(2) << "\n";
    } else if (had_ended) {
      std::cout << "session " << r->session.name << " had already ended ("
                << to_string(r->session.end) << ")\n";
    } else {
      std::cout << "session " << r->session.name << " stopped ("
                << to_string(r->session.end) << ")\n";
    }
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
    auto timeout = ctx.restart_wait();
    auto r = ask(ctx, session_restart_req{{}, restart_name}, timeout);
    rc = r ? attach_or_explain(ctx, *r, restart_detach) : fail(r.error());
  });
}

} // namespace hal9000::cli
