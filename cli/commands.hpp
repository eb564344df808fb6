#pragma once
// claudy's command groups. Each adds its subcommands to the app; their
// callbacks run the command and store the exit code in rc.

#include <string>

namespace CLI {
class App;
}

namespace hal9000::cli {

struct context;

void add_daemon_commands(CLI::App& app, context& ctx, int& rc);
void add_pool_commands(CLI::App& app, context& ctx, int& rc);
void add_session_commands(CLI::App& app, context& ctx, int& rc);
void add_setup_command(CLI::App& app, context& ctx, int& rc);
void add_doctor_command(CLI::App& app, context& ctx, int& rc);

/// The top-level `claudy PATH` options.
struct session_flags {
  session_flags();
  std::string path = ".";
  bool via_parent = false;  // accepted for the reference's examples: always so
  bool detach = false;
  std::string name;
  std::string memory;
  std::string cpus;
  std::string pids_limit;
  bool no_limits = false;
};

/// `claudy PATH`: starts (or finds) the session and attaches to it.
int start_session(const context& ctx, const session_flags& flags);

} // namespace hal9000::cli
