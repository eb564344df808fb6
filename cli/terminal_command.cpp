// claudy attach / exec / logs: the client end of a relayed terminal
// (messages/terminal.hpp). Four parties in this process:
//   - the sink, an actor, gets output, input acknowledgements and the end,
//     and queues the output (it never blocks);
//   - the writer thread writes the queued output to stdout and stderr;
//   - the input thread reads stdin (poll, with a self-pipe for SIGWINCH,
//     signals and shutdown) and sends keystrokes and resizes to the relay;
//   - the main thread waits for the end, restores the terminal, exits.
#include "cli/terminal_command.hpp"

#include <atomic>
#include <chrono>
#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <deque>
#include <cstring>
#include <iostream>
#include <mutex>
#include <optional>
#include <thread>

#include <CLI/CLI.hpp>
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "cli/connection.hpp"
#include "cli/context.hpp"
#include "cli/exit_codes.hpp"
#include "messages/error.hpp"
#include "messages/deadlines.hpp"
#include "messages/terminal.hpp"

namespace hal9000::cli {

namespace {

using namespace std::chrono_literals;

// -- the local terminal ------------------------------------------------------------

// Signal handlers may only write to this pipe (and restore the terminal).
int g_wake_w = -1;
std::atomic<bool> g_winch{false};
std::atomic<int> g_signal{0};
termios g_saved{};
std::atomic<bool> g_raw{false};

void on_signal(int sig) {
  if (sig == SIGWINCH)
    g_winch = true;
  else
    g_signal = sig;
  if (g_wake_w >= 0) {
    char c = 1;
    [[maybe_unused]] auto n = ::write(g_wake_w, &c, 1);
  }
}

void restore_terminal() {
  if (g_raw.exchange(false))
    ::tcsetattr(0, TCSAFLUSH, &g_saved);
}

bool enter_raw() {
  if (::tcgetattr(0, &g_saved) != 0)
    return false;
  termios raw = g_saved;
  ::cfmakeraw(&raw);
  raw.c_cc[VMIN] = 1;
  raw.c_cc[VTIME] = 0;
  if (::tcsetattr(0, TCSAFLUSH, &raw) != 0)
    return false;
  g_raw = true;
  return true;
}

std::pair<uint16_t, uint16_t> window_size() {
  winsize ws{};
  for (int fd : {0, 1, 2})
    if (::ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0)
      return {ws.ws_row, ws.ws_col};
  return {0, 0};
}

std::string env_or(const char* name, const char* fallback = "") {
  auto* v = ::getenv(name);
  return v ? v : fallback;
}

bool write_all(int fd, const char* data, size_t n) {
  while (n > 0) {
    auto w = ::write(fd, data, n);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN) {
        pollfd p{fd, POLLOUT, 0};
        ::poll(&p, 1, -1);
        continue;
      }
      return false;
    }
    data += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

// -- what the parties share ------------------------------------------------------------

struct shared_io {
  std::mutex mtx;
  std::condition_variable cv;
  // The end, once known.
  bool closed = false;     // term_closed arrived
  term_closed end;
  bool lost = false;       // the relay (daemon) went away without an end
  std::string lost_why;    // in words, for "lost the connection to hal9000d at HOST: <why>"
  // When the relay was last heard from (anything, beats included):
  // steady_clock ticks, so the sink writes it without the lock.
  std::atomic<std::chrono::steady_clock::rep> heard{0};
  void hear() { heard = std::chrono::steady_clock::now().time_since_epoch().count(); }
  bool local_detach = false;  // read-only C-b d, or stdin gone
  // The relay, once the open was answered.
  terminal_actor relay;
  std::string key;
  // Output on its way to stdout and stderr. One party writes at a time (it
  // holds `writing`): the writer thread, or the sink itself when nothing is
  // queued and the piece is small and the terminal takes it now (a thread
  // hand-over less on the way to the screen), or the main thread flushing
  // what came before raw mode.
  std::deque<term_output> out;
  std::condition_variable out_cv;
  bool writing = false;
  bool direct = false;       // raw mode is on: the sink may write itself
  uint64_t reported = 0;     // output bytes reported consumed (the writer's)
  // Flow control.
  std::atomic<uint64_t> acked_in{0};
  int wake_r = -1;
  int wake_w = -1;

  bool done() const { return closed || lost || local_detach; }
  void finish() {
    cv.notify_all();
    out_cv.notify_all();
  }
};

using io_ptr = std::shared_ptr<shared_io>;

// Writes one piece; tells the relay what was written (its flow control)
// every 256 KiB. The caller holds io->writing, not io->mtx.
void write_piece(shared_io& io, const term_output& piece, const terminal_actor& relay,
                 const std::string& key) {
  write_all(piece.stream == 2 ? 2 : 1, piece.data.data(), piece.data.size());
  auto consumed = piece.offset + piece.data.size();
  if (consumed - io.reported >= 256 * 1024 && relay) {
    caf::anon_send(relay, term_consumed{key, consumed});
    io.reported = consumed;
  }
}

// Writes what is queued, in order, holding io->writing; lock holds io->mtx
// on entry and exit.
void flush_queued(shared_io& io, std::unique_lock<std::mutex>& lock) {
  while (!io.out.empty()) {
    auto piece = std::move(io.out.front());
    io.out.pop_front();
    auto relay = io.relay;
    auto key = io.key;
    io.writing = true;
    lock.unlock();
    write_piece(io, piece, relay, key);
    lock.lock();
    io.writing = false;
  }
  io.out_cv.notify_all();
}

// A small piece the terminal can take at once (never a blocking write on
// an actor's thread).
bool takes_now(const term_output& piece) {
  if (piece.data.size() > 4096)
    return false;
  pollfd p{piece.stream == 2 ? 2 : 1, POLLOUT, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & POLLOUT) != 0;
}

using watch_atom = caf::atom_constant<caf::atom("trmwatch")>;

// Why the relay went away, in words (a CAF exit reason means nothing to a
// user).
std::string gone_why(const caf::error& reason) {
  if (reason.category() == caf::atom("exit")) {
    switch (static_cast<caf::exit_reason>(reason.code())) {
      case caf::exit_reason::remote_link_unreachable:
        return "the connection closed";
      case caf::exit_reason::user_shutdown:
      case caf::exit_reason::kill:
        return "the daemon is shutting down";
      default:
        return "the daemon ended the terminal";
    }
  }
  auto why = error_message(reason);
  return why.empty() ? "the daemon ended the terminal" : why;
}
using sink_impl = terminal_sink::extend<caf::reacts_to<watch_atom, terminal_actor>>;

// Queues output for the writer: an actor never blocks on a slow terminal.
sink_impl::behavior_type sink_fun(sink_impl::pointer self, io_ptr io) {
  self->set_down_handler([io](caf::down_msg& dm) {
    std::lock_guard<std::mutex> guard{io->mtx};
    if (io->closed)
      return;
    io->lost = true;
    io->lost_why = gone_why(dm.reason);
    io->finish();
  });
  return {
    [=](term_output& out) {
      io->hear();
      std::unique_lock<std::mutex> lock{io->mtx};
      if (io->direct && !io->done() && !io->writing && io->out.empty() && takes_now(out)) {
        io->writing = true;
        auto relay = io->relay;
        auto key = io->key;
        lock.unlock();
        write_piece(*io, out, relay, key);
        lock.lock();
        io->writing = false;
        io->out_cv.notify_all();
        return;
      }
      io->out.push_back(std::move(out));
      io->out_cv.notify_all();
    },
    [=](term_ack& a) {
      io->hear();
      io->acked_in = a.written;
      char c = 1;
      [[maybe_unused]] auto n = ::write(io->wake_w, &c, 1);
    },
    [=](term_beat_atom) { io->hear(); },
    [=](term_closed& c) {
      io->hear();
      std::lock_guard<std::mutex> guard{io->mtx};
      io->closed = true;
      io->end = std::move(c);
      io->finish();
    },
    [=](watch_atom, terminal_actor& relay) { self->monitor(relay); },
  };
}

// Writes queued output in order until the end and nothing is left (nor
// being written by the sink).
void write_loop(io_ptr io) {
  std::unique_lock<std::mutex> lock{io->mtx};
  for (;;) {
    io->out_cv.wait(lock, [&] { return (!io->out.empty() || io->done()) && !io->writing; });
    if (io->out.empty())
      return;
    flush_queued(*io, lock);
  }
}

// Reads stdin (and the self-pipe) until the end: keystrokes to the relay,
// SIGWINCH as resizes, signals as the end. read_only: nothing is sent; C-b d
// detaches here. size: the rows and columns the open request carried; a
// resize goes out only when the size differs from the last one sent (each
// costs the daemon an exec in the container).
void input_loop(io_ptr io, bool forward, bool read_only, bool tty_resizes,
                std::pair<uint16_t, uint16_t> size) {
  terminal_actor relay;
  std::string key;
  {
    std::lock_guard<std::mutex> guard{io->mtx};
    relay = io->relay;
    key = io->key;
  }
  uint64_t sent = 0;
  bool stdin_open = forward;
  bool prev_ctrl_b = false;
  std::vector<char> buf(64 * 1024);
  for (;;) {
    {
      std::lock_guard<std::mutex> guard{io->mtx};
      if (io->done())
        return;
    }
    if (g_signal.load() != 0) {
      std::lock_guard<std::mutex> guard{io->mtx};
      io->local_detach = true;
      io->finish();
      return;
    }
    if (g_winch.exchange(false) && tty_resizes) {
      auto now = window_size();
      if (now.first > 0 && now != size) {
        caf::anon_send(relay, term_resize{key, now.first, now.second});
        size = now;
      }
    }
    bool room = sent - std::min(sent, io->acked_in.load()) < terminal_window;
    pollfd fds[2] = {{0, static_cast<short>(stdin_open && room ? POLLIN : 0), 0},
                     {io->wake_r, POLLIN, 0}};
    auto rc = ::poll(fds, 2, -1);
    if (rc < 0 && errno != EINTR)
      return;
    if (fds[1].revents & POLLIN) {
      char drain[256];
      while (::read(io->wake_r, drain, sizeof(drain)) > 0) {
      }
    }
    if (stdin_open && room && (fds[0].revents & (POLLIN | POLLHUP | POLLERR))) {
      auto n = ::read(0, buf.data(), buf.size());
      if (n < 0 && (errno == EINTR || errno == EAGAIN))
        continue;
      if (n <= 0) {
        stdin_open = false;
        if (!read_only)
          caf::anon_send(relay, term_input{key, {}, true});
        continue;
      }
      if (read_only) {
        for (ssize_t i = 0; i < n; ++i) {
          if (prev_ctrl_b && buf[i] == 'd') {
            std::lock_guard<std::mutex> guard{io->mtx};
            io->local_detach = true;
            io->finish();
            return;
          }
          prev_ctrl_b = buf[i] == 0x02;
        }
        continue;
      }
      caf::anon_send(relay, term_input{key, std::string{buf.data(), static_cast<size_t>(n)}, false});
      sent += static_cast<uint64_t>(n);
    }
  }
}

// -- one relayed terminal ----------------------------------------------------------

struct run_options {
  bool raw = false;      // stdin to raw mode (attach, exec -t)
  bool forward = true;   // send stdin
  bool read_only = false;
  bool attach = false;   // exit code: 0 on a clean detach/end
};

int run_terminal(const context& ctx, terminal_open_req req, const run_options& ro) {
  auto conn = ctx.connect(2s);
  if (!conn)
    return fail(conn.error());
  auto who = (*conn)->who();
  if (!who)
    return fail(who.error());
  req.who = *who;
  auto& sys = (*conn)->system();
  auto io = std::make_shared<shared_io>();
  int p[2];
  if (::pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0)
    return fail(make_error(errc::internal, std::string{"pipe: "} + std::strerror(errno)));
  io->wake_r = p[0];
  io->wake_w = p[1];
  g_wake_w = p[1];
  struct close_pipe {
    int r, w;
    ~close_pipe() {
      g_wake_w = -1;
      ::close(r);
      ::close(w);
    }
  } pipe_guard{p[0], p[1]};
  auto sink = sys.spawn(sink_fun, io);
  struct stop_sink {
    sink_impl sink;
    ~stop_sink() { caf::anon_send_exit(sink, caf::exit_reason::user_shutdown); }
  } sink_guard{sink};
  req.sink = sink;
  if (ro.raw) {
    auto [rows, cols] = window_size();
    req.rows = rows;
    req.cols = cols;
  }
  auto req_rows = req.rows;
  auto req_cols = req.cols;
  // The daemon's terminal budget and the link's margin (messages/deadlines.hpp).
  auto reply = (*conn)->call<terminal_open_reply>(std::move(req), deadlines::terminal_open_wait());
  if (!reply)
    return fail(reply.error());
  {
    std::lock_guard<std::mutex> guard{io->mtx};
    io->relay = reply->relay;
    io->key = reply->key;
  }
  caf::anon_send(sink, watch_atom::value, reply->relay);
  // Signals: restore and leave cleanly; SIGWINCH resizes.
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  ::sigemptyset(&sa.sa_mask);
  for (int sig : {SIGWINCH, SIGTERM, SIGHUP, SIGINT, SIGQUIT})
    ::sigaction(sig, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  if (ro.raw && !enter_raw()) {
    caf::anon_send(reply->relay, term_detach{reply->key});
    return fail(make_error(errc::invalid_argument,
                           std::string{"cannot put the terminal in raw mode: "}
                             + std::strerror(errno)));
  }
  // A resize between our size query and raw mode is not lost (the input
  // loop sends it only if the size changed meanwhile).
  if (ro.raw)
    g_winch = true;
  {
    // What came before raw mode goes out now, from here; from now on the
    // sink may write small pieces itself.
    std::unique_lock<std::mutex> lock{io->mtx};
    io->out_cv.wait(lock, [&] { return !io->writing; });
    flush_queued(*io, lock);
    io->direct = true;
  }
  std::thread writer{write_loop, io};
  std::thread input{input_loop, io, ro.forward, ro.read_only, ro.raw,
                    std::make_pair(req_rows, req_cols)};
  {
    // The relay beats every second: silence past the deadline is a
    // connection gone quiet (a dropped link ends no TCP stream).
    io->hear();
    std::unique_lock<std::mutex> lock{io->mtx};
    while (!io->cv.wait_for(lock, 250ms, [&] { return io->done(); })) {
      auto heard = std::chrono::steady_clock::time_point{
        std::chrono::steady_clock::duration{io->heard.load()}};
      if (std::chrono::steady_clock::now() - heard > term_beat_deadline) {
        io->lost = true;
        io->lost_why = "no answer for "
                       + std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                          term_beat_deadline)
                                          .count())
                       + " s";
        io->finish();
        break;
      }
    }
  }
  writer.join();  // every byte that came is out before we leave
  {
    char c = 1;
    [[maybe_unused]] auto n = ::write(io->wake_w, &c, 1);
  }
  input.join();
  restore_terminal();
  for (int sig : {SIGWINCH, SIGTERM, SIGHUP, SIGINT, SIGQUIT})
    ::signal(sig, SIG_DFL);
  std::lock_guard<std::mutex> guard{io->mtx};
  if (io->closed) {
    auto& e = io->end;
    if (e.exit_code < 0) {
      std::cerr << "\r\nclaudy: the terminal ended: "
                << (e.reason.empty() ? "no exit code" : e.reason) << "\n";
      return exit_failure;
    }
    if (ro.attach)
      return e.exit_code == 0 ? exit_ok : exit_failure;
    return static_cast<int>(std::min<int64_t>(e.exit_code, 255));
  }
  if (io->lost) {
    std::cerr << "\r\nclaudy: lost the connection to hal9000d at " << (*conn)->where().str()
              << ": " << io->lost_why << "; the session keeps running: claudy attach "
              << "again once the daemon is back\n";
    return exit_unavailable;
  }
  // Left here: read-only C-b d, or a signal.
  caf::anon_send(reply->relay, term_detach{reply->key});
  auto sig = g_signal.exchange(0);
  if (sig != 0) {
    std::cerr << "\r\nclaudy: " << ::strsignal(sig) << ": left the session (it keeps running)\n";
    return 128 + sig;
  }
  std::cerr << "\r\n[detached]\n";
  return exit_ok;
}

} // namespace

int run_attach(const context& ctx, const std::string& name, bool read_only) {
  if (!::isatty(0)) {
    // An unknown or ended session says so first (exit 5), as everywhere.
    auto conn = ctx.connect(2s);
    if (!conn)
      return fail(conn.error());
    auto who = (*conn)->who();
    if (!who)
      return fail(who.error());
    auto r = (*conn)->call<session_reply>(session_req{*who, name, false}, 10s);
    if (!r)
      return fail(r.error());
    std::cerr << "claudy: attach needs a terminal on stdin (this one is not); for scripts "
                 "use `claudy exec " << name << " -- CMD` or `claudy logs " << name << "`\n";
    return exit_usage;
  }
  terminal_open_req req;
  req.name = name;
  req.mode = "attach";
  req.read_only = read_only;
  req.term = env_or("TERM", "xterm-256color");
  req.colorterm = env_or("COLORTERM");
  req.lang = env_or("LANG");
  run_options ro;
  ro.raw = true;
  ro.forward = true;
  ro.read_only = read_only;
  ro.attach = true;
  return run_terminal(ctx, std::move(req), ro);
}

void add_terminal_commands(CLI::App& app, context& ctx, int& rc) {
  static std::string exec_name;
  static std::vector<std::string> exec_cmd;
  static bool exec_tty = false;
  auto* exec = app.add_subcommand(
    "exec", "Run a command in a session's container: stdin, stdout and stderr streamed, "
            "its exit code returned (claudy exec NAME -- CMD ARGS...)");
  exec->add_option("NAME", exec_name, "Session name")->required();
  exec->add_option("CMD", exec_cmd, "The command and its arguments (after --)")->required();
  exec->add_flag("-t,--tty", exec_tty, "Give the command a terminal (stdin must be one)");
  exec->callback([&ctx, &rc] {
    if (exec_tty && !::isatty(0)) {
      std::cerr << "claudy: exec --tty needs a terminal on stdin\n";
      rc = exit_usage;
      return;
    }
    terminal_open_req req;
    req.name = exec_name;
    req.mode = "exec";
    req.cmd = exec_cmd;
    req.tty = exec_tty;
    req.term = env_or("TERM", "xterm-256color");
    req.colorterm = env_or("COLORTERM");
    req.lang = env_or("LANG");
    run_options ro;
    ro.raw = exec_tty;
    ro.forward = true;
    rc = run_terminal(ctx, std::move(req), ro);
  });

  static std::string logs_name;
  auto* logs = app.add_subcommand(
    "logs", "Print what the session's tmux pane shows, with its recent history");
  logs->add_option("NAME", logs_name, "Session name")->required();
  logs->callback([&ctx, &rc] {
    terminal_open_req req;
    req.name = logs_name;
    req.mode = "logs";
    req.tty = false;
    run_options ro;
    ro.forward = false;
    rc = run_terminal(ctx, std::move(req), ro);
  });
}

} // namespace hal9000::cli
