#include "cli/claudy.hpp"

#include <iostream>

#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/completion.hpp"
#include "cli/events_command.hpp"
#include "cli/context.hpp"
#include "cli/exit_codes.hpp"
#include "cli/terminal_command.hpp"
#include "messages/error.hpp"
#include "messages/wire.hpp"

namespace hal9000::cli {

int claudy_main(int argc, char** argv) {
  CLI::App app{"claudy: Claude Code sessions in warm Docker workers\n\n"
               "  claudy PATH            a session on the project at PATH, attached\n"
               "  claudy daemon start    the daemon up (see: claudy daemon --help)"};
  app.set_version_flag("--version", std::string{"claudy "} + HAL9000_VERSION
                                      + " (" + wire_version + ")");
  app.require_subcommand(0, 1);
  // Options a command does not know go to its parents: the global ones
  // (--json, -q, --host, ...) work before or after the command's words
  // (`claudy pool status --json` as well as `claudy --json pool status`).
  app.fallthrough();
  context ctx;
  int rc = exit_ok;
  app.add_option("--host", ctx.host, "HOST:PORT of a daemon (HAL9000_HOST)")
    ->envname("HAL9000_HOST");
  app.add_option("--tls-dir", ctx.tls_dir,
                 "Client bundle from `claudy daemon certs` (HAL9000_TLS_DIR)")
    ->envname("HAL9000_TLS_DIR");
  app.add_option("--token-file", ctx.token_file,
                 "Control token file (HAL9000_TOKEN_FILE; default HAL9000_HOME/auth/token "
                 "for root, HAL9000_HOME/auth/users/<uid>/token for others)")
    ->envname("HAL9000_TOKEN_FILE");
  app.add_flag("--json", ctx.json, "Print data as JSON");
  app.add_flag("-q,--quiet", ctx.quiet, "Print less");

  // `claudy [--via-parent] PATH ...`: the session options live at the top.
  session_flags flags;
  auto* path_opt = app.add_option("PATH", flags.path,
                                  "Project directory for a new session (default: .)");
  auto* via = app.add_flag("--via-parent", flags.via_parent,
                           "Run the session through the parent (always the case; "
                           "accepted for compatibility)");
  auto* detach = app.add_flag("-d,--detach", flags.detach, "Start the session in the background");
  auto* name = app.add_option("--name", flags.name, "Session name (default: from the project)");
  auto* memory = app.add_option("--memory", flags.memory, "Memory limit, e.g. 8g");
  auto* cpus = app.add_option("--cpus", flags.cpus, "CPU limit, e.g. 4 or 1.5");
  auto* pids = app.add_option("--pids-limit", flags.pids_limit, "Process limit, e.g. 200");
  auto* no_limits = app.add_flag("--no-limits", flags.no_limits, "Run without resource limits");

  add_daemon_commands(app, ctx, rc);
  add_pool_commands(app, ctx, rc);
  add_events_command(app, ctx, rc);
  add_session_commands(app, ctx, rc);
  add_terminal_commands(app, ctx, rc);
  add_setup_command(app, ctx, rc);
  add_doctor_command(app, ctx, rc);
  add_completion_command(app, rc);

  // Configuration first: every command needs HAL9000_HOME and the port.
  auto cfg = load_config();
  if (!cfg) {
    std::cerr << "claudy: " << error_message(cfg.error()) << "\n";
    return exit_usage;
  }
  ctx.cfg = std::move(*cfg);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // `claudy pool bogus`: CLI11 only says "A subcommand is required".
    // Name the word it did not know, and what it expects.
    auto subs = app.get_subcommands();
    if (dynamic_cast<const CLI::RequiredError*>(&e) && !subs.empty()
        && subs.front()->get_subcommands().empty()) {
      auto* group = subs.front();
      auto known = group->get_subcommands({});
      if (!known.empty()) {
        std::string names, word;
        for (auto* k : known)
          names += (names.empty() ? "" : ", ") + k->get_name();
        for (int i = 1; i + 1 < argc; ++i)
          if (group->get_name() == argv[i] && argv[i + 1][0] != '-') {
            word = argv[i + 1];
            break;
          }
        std::cerr << "claudy " << group->get_name() << ": "
                  << (word.empty() ? std::string{"a command is required"}
                                   : "unknown command '" + word + "'")
                  << " (expected one of: " << names << ")\n";
        return exit_usage;
      }
    }
    auto code = app.exit(e);
    return code == 0 ? exit_ok : exit_usage;
  }
  bool session_args = false;
  for (auto* opt : {path_opt, via, detach, name, memory, cpus, pids, no_limits})
    session_args = session_args || opt->count() > 0;
  if (!app.get_subcommands().empty()) {
    if (session_args) {
      std::cerr << "claudy: session options (PATH, --detach, --name, limits) go without a "
                   "command: claudy [options] PATH\n";
      return exit_usage;
    }
    return rc;
  }
  if (session_args)
    return start_session(ctx, flags);
  std::cout << app.help();
  return exit_ok;
}

} // namespace hal9000::cli
