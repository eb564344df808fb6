#pragma once
// claudy's command groups. Each adds its subcommands to the app; their
// callbacks run the command and store the exit code in rc.

namespace CLI {
class App;
}

namespace hal9000::cli {

struct context;

void add_daemon_commands(CLI::App& app, context& ctx, int& rc);

} // namespace hal9000::cli
