// claudy setup [--user LOGIN|UID] [--no-key]: stores the caller's Anthropic
// API key through the daemon, which knows the caller by its token and writes
// HAL9000_HOME/users/<user>/secrets/anthropic_key. The key is read from
// standard input only (never from argv), without echo on a terminal.
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <termios.h>
#include <unistd.h>

#include "cli/commands.hpp"
#include "cli/context.hpp"
#include "cli/exit_codes.hpp"
#include "messages/error.hpp"

namespace hal9000::cli {

namespace {

using namespace std::chrono_literals;

// One line from stdin; on a terminal, prompted and not echoed.
std::string read_key() {
  bool tty = ::isatty(0);
  termios saved{};
  if (tty) {
    std::cerr << "Anthropic API key (not shown): " << std::flush;
    if (::tcgetattr(0, &saved) == 0) {
      auto quiet = saved;
      quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
      ::tcsetattr(0, TCSAFLUSH, &quiet);
    } else {
      tty = false;
    }
  }
  std::string key;
  std::getline(std::cin, key);
  if (tty) {
    ::tcsetattr(0, TCSAFLUSH, &saved);
    std::cerr << "\n";
  }
  while (!key.empty() && (key.back() == '\r' || key.back() == ' ' || key.back() == '\t'))
    key.pop_back();
  auto first = key.find_first_not_of(" \t");
  return first == std::string::npos ? std::string{} : key.substr(first);
}

} // namespace

void add_setup_command(CLI::App& app, context& ctx, int& rc) {
  static std::string for_user;
  static bool no_key = false;
  auto* cmd = app.add_subcommand(
    "setup", "Store your Anthropic API key for your sessions (read from standard input)");
  cmd->add_option("--user", for_user,
                  "root only: a login name or uid on the daemon's host; issues its token "
                  "(HAL9000_HOME/auth/users/<uid>/token) and sets up that user");
  cmd->add_flag("--no-key", no_key, "Store no key (with --user: only issue the token)");
  cmd->callback([&ctx, &rc] {
    user_setup_req req;
    req.for_user = for_user;
    if (!no_key) {
      req.key = read_key();
      if (req.key.empty()) {
        std::cerr << "claudy: no API key on standard input (use --no-key to store none)\n";
        rc = exit_usage;
        return;
      }
    }
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
    req.who = *who;
    auto r = (*conn)->call<user_setup_reply>(std::move(req), 30s);
    if (!r) {
      rc = fail(r.error());
      return;
    }
    if (ctx.json) {
      std::cout << nlohmann::json{{"user", r->user_id}, {"done", r->done}}.dump(2) << "\n";
    } else {
      std::cout << "user " << r->user_id << ":\n";
      for (auto& d : r->done)
        std::cout << "  " << d << "\n";
    }
    rc = exit_ok;
  });
}

} // namespace hal9000::cli
