// claudy pool start | stop | status | scale N | cleanup | warm
#include <iostream>

#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/context.hpp"
#include "cli/exit_codes.hpp"
#include "cli/output.hpp"

namespace hal9000::cli {

namespace {

using namespace std::chrono_literals;

template <class Request>
int pool_call(const context& ctx, Request req) {
  auto conn = ctx.connect(2s);
  if (!conn)
    return fail(conn.error());
  auto who = (*conn)->who();
  if (!who)
    return fail(who.error());
  req.who = *who;
  // stop and cleanup wait for removals: give them time.
  auto reply = (*conn)->template call<pool_op_reply>(std::move(req), 120s);
  if (!reply)
    return fail(reply.error());
  if (ctx.json)
    std::cout << to_json(*reply).dump(2) << "\n";
  else
    print_pool(std::cout, *reply);
  return exit_ok;
}

} // namespace

void add_pool_commands(CLI::App& app, context& ctx, int& rc) {
  auto* pool = app.add_subcommand("pool", "Manage the warm worker pool");
  pool->require_subcommand(1);
  struct op {
    const char* name;
    const char* help;
  };
  for (auto [name, help] : {op{"start", "Start the pool manager (refill to MIN)"},
                            op{"stop", "Stop refilling and remove warm workers (sessions stay)"},
                            op{"status", "Show the pool and each worker"},
                            op{"cleanup", "Remove idle warm workers above MIN and dead workers"},
                            op{"warm", "Create one warm worker now"}}) {
    std::string op_name = name;
    pool->add_subcommand(name, help)->callback([&ctx, &rc, op_name] {
      rc = pool_call(ctx, pool_op_req{{}, op_name});
    });
  }
  static std::string count;
  auto* scale = pool->add_subcommand("scale", "Set the number of warm workers (capped at MAX)");
  scale->add_option("N", count, "Warm workers to keep")->required();
  scale->callback([&ctx, &rc] {
    // Parsed here, not by CLI11, so "-1" and "abc" get our message and exit 2.
    int32_t n = -1;
    bool digits = !count.empty() && count.size() <= 4;
    for (auto c : count)
      digits = digits && c >= '0' && c <= '9';
    if (!digits) {
      std::cerr << "claudy: invalid scale '" << count
                << "': expected a number of warm workers, 0 or more\n";
      rc = exit_usage;
      return;
    }
    n = std::stoi(count);
    rc = pool_call(ctx, pool_scale_req{{}, n});
  });
}

} // namespace hal9000::cli
