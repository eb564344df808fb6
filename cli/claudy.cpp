#include "cli/claudy.hpp"

#include <iostream>

#include <CLI/CLI.hpp>

#include "messages/wire.hpp"

namespace hal9000::cli {

int claudy_main(int argc, char** argv) {
  CLI::App app{"claudy: Claude Code sessions in warm Docker workers"};
  app.set_version_flag("--version", std::string{"claudy "} + HAL9000_VERSION
                                      + " (" + wire_version + ")");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  std::cout << app.help();
  return 0;
}

} // namespace hal9000::cli
