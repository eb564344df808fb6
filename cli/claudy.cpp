#include "cli/claudy.hpp"

#include <iostream>

#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/context.hpp"
#include "cli/exit_codes.hpp"
#include "messages/error.hpp"
#include "messages/wire.hpp"

namespace hal9000::cli {

int claudy_main(int argc, char** argv) {
  CLI::App app{"claudy: Claude Code sessions in warm Docker workers"};
  app.set_version_flag("--version", std::string{"claudy "} + HAL9000_VERSION
                                      + " (" + wire_version + ")");
  app.require_subcommand(0, 1);
  context ctx;
  int rc = exit_ok;
  app.add_option("--host", ctx.host, "HOST:PORT of a daemon (HAL9000_HOST)")
    ->envname("HAL9000_HOST");
  app.add_option("--tls-dir", ctx.tls_dir,
                 "Client bundle from `claudy daemon certs` (HAL9000_TLS_DIR)")
    ->envname("HAL9000_TLS_DIR");
  app.add_option("--token-file", ctx.token_file,
                 "Control token file (HAL9000_TOKEN_FILE; default HAL9000_HOME/auth/token)")
    ->envname("HAL9000_TOKEN_FILE");
  app.add_flag("--json", ctx.json, "Print data as JSON");
  app.add_flag("-q,--quiet", ctx.quiet, "Print less");

  add_daemon_commands(app, ctx, rc);

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
    auto code = app.exit(e);
    return code == 0 ? exit_ok : exit_usage;
  }
  if (app.get_subcommands().empty()) {
    std::cout << app.help();
    return exit_ok;
  }
  return rc;
}

} // namespace hal9000::cli
