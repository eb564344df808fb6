// claudy events [--follow] [--json]
#include "cli/events_command.hpp"

#include <condition_variable>
#include <csignal>
#include <deque>
#include <iostream>
#include <mutex>
#include <thread>

#include <CLI/CLI.hpp>
#include <unistd.h>

#include <caf/actor_system.hpp>
#include <caf/response_type.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "cli/connection.hpp"
#include "cli/context.hpp"
#include "cli/exit_codes.hpp"
#include "messages/error.hpp"

namespace hal9000::cli {

// -- formatting -------------------------------------------------------------------

std::string format_memory(int64_t bytes) {
  constexpr int64_t k = 1024, m = k * k, g = m * k;
  if (bytes > 0 && bytes % g == 0)
    return std::to_string(bytes / g) + "g";
  if (bytes > 0 && bytes % m == 0)
    return std::to_string(bytes / m) + "m";
  if (bytes > 0 && bytes % k == 0)
    return std::to_string(bytes / k) + "k";
  return std::to_string(bytes) + "b";
}

std::string format_event(const lifecycle_event& e) {
  std::string out = e.time + " " + e.kind;
  if (!e.worker_id.empty())
    out += " " + e.worker_id;
  if (!e.session.empty())
    out += " session " + e.session;
  if (e.exit_code >= 0)
    out += " exit " + std::to_string(e.exit_code);
  std::string why;
  auto add = [&](const std::string& part) {
    if (!why.empty())
      why += ", ";
    why += part;
  };
  // A typed end or a session.oom event names the OOM kill in its reason.
  if (e.oom && e.end.kind == end_kind::none && e.kind != event_kinds::session_oom)
    add("OOM-killed");
  if (!e.reason.empty())
    add(e.reason);
  // An OOM end and a session.oom event name the limit in their reason.
  if (e.memory_limit > 0 && e.end.kind != end_kind::oom_killed
      && e.kind != event_kinds::session_oom)
    add("memory limit " + format_memory(e.memory_limit));
  if (!why.empty())
    out += " (" + why + ")";
  for (auto& [key, value] : e.details)
    out += " " + key + "=" + value;
  return out;
}

nlohmann::json event_to_json(const lifecycle_event& e) {
  return {
    {"time", e.time},
    {"kind", e.kind},
    {"worker_id", e.worker_id},
    {"session", e.session},
    {"container_id", e.container_id},
    {"reason", e.reason},
    {"exit_code", e.exit_code >= 0 ? nlohmann::json(e.exit_code) : nlohmann::json()},
    {"oom", e.oom},
    {"memory_limit", e.memory_limit},
    {"details", e.details},
    {"end", e.end.kind == end_kind::none
              ? nlohmann::json()
              : nlohmann::json{{"kind", to_string(e.end.kind)},
                               {"code", e.end.code},
                               {"memory_limit", e.end.memory_limit},
                               {"detail", e.end.detail}}},
  };
}

namespace {

void print(const lifecycle_event& e, bool json) {
  if (json)
    std::cout << event_to_json(e).dump() << "\n";
  else
    std::cout << format_event(e) << "\n";
}

// -- asking the bridge ----------------------------------------------------------------

// The bridge learns events_subscribe_req in the lead's wiring; until then this
// compiles and answers unavailable (a template, so the discarded call is
// never instantiated).
constexpr bool bridge_serves_events
  = caf::response_type<cli_bridge_actor::signatures, events_subscribe_req>::valid;

template <class Conn>
caf::expected<events_subscribe_reply>
subscribe(Conn& conn, events_subscribe_req req, std::chrono::milliseconds timeout) {
  if constexpr (bridge_serves_events)
    return conn.template call<events_subscribe_reply>(std::move(req), timeout);
  else
    return make_error(errc::unavailable,
                      "this claudy's control interface has no events request yet");
}

// -- following ----------------------------------------------------------------------

// What the sink actor hands to the main thread.
struct inbox {
  std::mutex mtx;
  std::condition_variable cv;
  std::deque<lifecycle_event> events;
  bool interrupted = false;
  bool daemon_gone = false;
  std::string gone_reason;
};

// The sink, plus the hub handle to monitor once the subscription is answered.
using sink_impl = event_sink::extend<caf::reacts_to<caf::actor>>;

sink_impl spawn_sink(caf::actor_system& sys, std::shared_ptr<inbox> box) {
  return sys.spawn([box](sink_impl::pointer self) -> sink_impl::behavior_type {
    self->set_down_handler([box](caf::down_msg& dm) {
      std::lock_guard<std::mutex> guard{box->mtx};
      box->daemon_gone = true;
      box->gone_reason = to_string(dm.reason);
      box->cv.notify_all();
    });
    return {
      [box](lifecycle_event& e) {
        std::lock_guard<std::mutex> guard{box->mtx};
        box->events.push_back(std::move(e));
        box->cv.notify_all();
      },
      [self](caf::actor& hub) { self->monitor(hub); },
    };
  });
}

// SIGINT/SIGTERM end --follow: the handler writes to a pipe, a thread reads
// it and wakes the main thread (nothing else is async-signal-safe).
int signal_pipe[2] = {-1, -1};

extern "C" void on_stop_signal(int) {
  char c = 's';
  auto n = ::write(signal_pipe[1], &c, 1);
  (void) n;
}

class stop_signals {
public:
  explicit stop_signals(std::shared_ptr<inbox> box) {
    if (::pipe(signal_pipe) != 0)
      return;
    struct sigaction sa = {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, &old_int_);
    ::sigaction(SIGTERM, &sa, &old_term_);
    reader_ = std::thread{[box] {
      char c = 0;
      while (::read(signal_pipe[0], &c, 1) < 0 && errno == EINTR)
        ;
      if (c == 's') {
        std::lock_guard<std::mutex> guard{box->mtx};
        box->interrupted = true;
        box->cv.notify_all();
      }
    }};
  }

  ~stop_signals() {
    if (!reader_.joinable())
      return;
    ::sigaction(SIGINT, &old_int_, nullptr);
    ::sigaction(SIGTERM, &old_term_, nullptr);
    char c = 'q';  // wakes the reader when no signal came
    auto n = ::write(signal_pipe[1], &c, 1);
    (void) n;
    reader_.join();
    ::close(signal_pipe[0]);
    ::close(signal_pipe[1]);
    signal_pipe[0] = signal_pipe[1] = -1;
  }

  bool active() const { return reader_.joinable(); }

private:
  struct sigaction old_int_ = {};
  struct sigaction old_term_ = {};
  std::thread reader_;
};

int follow_events(connection& conn, const credentials& who, bool json,
                  std::chrono::milliseconds timeout) {
  auto box = std::make_shared<inbox>();
  stop_signals signals{box};
  if (!signals.active())
    return fail(make_error(errc::internal, "cannot set up signal handling for --follow"));
  auto sink = spawn_sink(conn.system(), box);
  auto reply = subscribe(
    conn, events_subscribe_req{who, caf::actor_cast<event_sink>(sink), true, true}, timeout);
  if (!reply) {
    caf::anon_send_exit(sink, caf::exit_reason::user_shutdown);
    return fail(reply.error());
  }
  caf::anon_send(sink, reply->hub);
  int rc = exit_ok;
  for (;;) {
    std::deque<lifecycle_event> batch;
    bool interrupted = false, gone = false;
    std::string gone_reason;
    {
      std::unique_lock<std::mutex> lock{box->mtx};
      box->cv.wait(lock, [&] {
        return !box->events.empty() || box->interrupted || box->daemon_gone;
      });
      batch.swap(box->events);
      interrupted = box->interrupted;
      gone = box->daemon_gone;
      gone_reason = box->gone_reason;
    }
    for (auto& e : batch)
      print(e, json);
    std::cout.flush();
    if (interrupted)
      break;
    if (gone) {
      std::cerr << "claudy: lost hal9000d at " << conn.where().str() << " ("
                << gone_reason << "); no more events\n";
      rc = exit_unavailable;
      break;
    }
  }
  caf::anon_send_exit(sink, caf::exit_reason::user_shutdown);
  return rc;
}

} // namespace

int run_events(connection& conn, bool follow, bool json, std::chrono::milliseconds timeout) {
  auto who = conn.who();
  if (!who)
    return fail(who.error());
  if (follow)
    return follow_events(conn, *who, json, timeout);
  auto reply = subscribe(conn, events_subscribe_req{*who, event_sink{}, false, true},
                         timeout);
  if (!reply)
    return fail(reply.error());
  for (auto& e : reply->recent)
    print(e, json);
  if (reply->recent.empty() && !json)
    std::cerr << "no events yet\n";
  return exit_ok;
}

void add_events_command(CLI::App& app, context& ctx, int& rc) {
  static bool follow = false;
  auto* cmd = app.add_subcommand(
    "events", "Show the daemon's lifecycle events (workers, sessions, ChromaDB, pool)");
  cmd->add_flag("-f,--follow", follow, "Keep printing events as they happen (Ctrl-C ends)");
  cmd->add_flag("--json", ctx.json, "One JSON object per line");
  cmd->callback([&] {
    auto conn = ctx.connect(std::chrono::seconds(2));
    if (!conn) {
      rc = fail(conn.error());
      return;
    }
    rc = run_events(**conn, follow, ctx.json, ctx.timeout);
  });
}

} // namespace hal9000::cli
