#include "actors/terminals.hpp"
#include "actors/session_rules.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <poll.h>
#include <unistd.h>

#include "docker/exec_stream.hpp"
#include "messages/deadlines.hpp"
#include "messages/atoms.hpp"
#include "messages/error.hpp"
#include "runtime/blocking.hpp"
#include "runtime/logging.hpp"
#include "runtime/validate.hpp"

namespace hal9000 {

namespace {

using namespace std::chrono_literals;

// What a relay may take beyond its exec open (the relay actor's own start and
// first reply): the service waits open_timeout + this for its relay.
constexpr std::chrono::milliseconds relay_margin = deadlines::step_margin;

using clock_type = std::chrono::steady_clock;

// Private messages from a relay's I/O thread to the relay actor.
using term_opened_atom = caf::atom_constant<caf::atom("trmopened")>;
using term_done_atom = caf::atom_constant<caf::atom("trmdone")>;
using term_open_atom = caf::atom_constant<caf::atom("trmopen")>;

// The service asks term_open_atom and gets the reply once the exec runs.
using relay_impl = terminal_actor::extend<
  caf::replies_to<term_open_atom>::with<terminal_open_reply>,
  caf::reacts_to<term_opened_atom, caf::error>,
  caf::reacts_to<term_done_atom, int64_t, std::string>,
  caf::reacts_to<term_beat_atom>>;

// What the relay actor hands its I/O thread; guarded by mtx, the thread is
// woken through a pipe.
struct relay_shared {
  std::mutex mtx;
  std::string input;
  bool input_eof = false;
  uint64_t consumed = 0;
  std::optional<std::pair<uint16_t, uint16_t>> resize;  // for the resizer
  std::condition_variable resize_cv;
  bool detach = false;
  bool ended = false;  // the I/O thread is done: the resizer stops too
  int wake_r = -1;
  int wake_w = -1;

  relay_shared() {
    int p[2];
    if (::pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0) {
      wake_r = p[0];
      wake_w = p[1];
    }
  }
  ~relay_shared() {
    if (wake_r >= 0)
      ::close(wake_r);
    if (wake_w >= 0)
      ::close(wake_w);
  }
  void poke() {
    char c = 1;
    [[maybe_unused]] auto n = ::write(wake_w, &c, 1);  // full pipe: already poked
  }
};

using shared_ptr = std::shared_ptr<relay_shared>;

std::string random_key() {
  std::random_device rd;
  static const char* hex = "0123456789abcdef";
  std::string key;
  for (int i = 0; i < 8; ++i) {
    auto v = rd();
    for (int b = 0; b < 4; ++b) {
      key += hex[(v >> (b * 8)) & 15];
      key += hex[(v >> (b * 8 + 4)) & 15];
    }
  }
  return key;
}

// TERM, COLORTERM and LANG from the client: printable ASCII, short.
caf::error check_env_value(const char* what, const std::string& v) {
  if (v.size() > 128)
    return make_error(errc::invalid_argument, std::string{what} + " is longer than 128 characters");
  for (unsigned char c : v)
    if (c < 0x21 || c > 0x7e)
      return make_error(errc::invalid_argument,
                        std::string{what} + " may only hold printable characters without spaces");
  return caf::none;
}

// The file where an attach or exec notes "<pid> <tty>" in the container:
// the engine leaves an exec running when its stream closes, so a client that
// leaves must end its process (a tmux client would otherwise linger, holding
// the window size and a pid); and a resize sets that tty's size.
std::string pid_file(const std::string& tag) {
  return "/tmp/.hal9000-term-" + tag;
}

// Whether the session runs tmux: sets HAL9000_TMUX (a spare asks before it
// is needed; an attach without a spare, when it starts).
constexpr const char* tmux_probe =
  "HAL9000_TMUX=; tmux has-session -t claude 2>/dev/null && HAL9000_TMUX=1;";
// What a spare prints when it is ready (on its terminal, echo off).
constexpr char spare_marker = 'H';
// A terminal in canonical mode reads lines of up to 4095 bytes; a settings
// line longer than this (it is about 1 KB) is not given to a spare.
constexpr size_t max_settings_line = 4000;

// script(1) around an attach, fed through a guard. util-linux script writes
// the EOF character (^D) to its pty when its stdin ends, and the tmux client
// on that pty would pass it to the session's pane as a key: the exec's stdin
// ends whenever the daemon's connection to the engine goes (the daemon
// killed or stopped), so the pane (a shell, Claude Code) would get a ^D.
// Instead script reads from cat through a pipe, and when the exec's stdin
// ends the guard hangs up the terminal's process (the tmux client, from the
// pid note) and holds the pipe open until that process is gone (at most
// 2 s): the client detaches and script ends with it, without a byte to the
// pane. The guard is bash's child, never script's (script waits for every
// child of its own before it exits), and holds none of the exec's output
// streams (stderr to /dev/null: the engine ends an exec's stream only when
// every holder of its stdout and stderr is gone); bash ends it when script
// ends, and exits with script's code (its cat ends with the daemon's stream).
std::vector<std::string> guarded_script(std::string inner) {
  return {"bash", "-c",
          "exec 3<&0 4< <(exec 2>/dev/null; cat <&3; exec 3<&-;"
          " read p < \"$HAL9000_PIDFILE\" 2>/dev/null && kill -HUP \"$p\" 2>/dev/null"
          " && for i in $(seq 100); do kill -0 \"$p\" 2>/dev/null || break; sleep 0.02; done);"
          " f=$!; exec 3<&-; script -q -e -c \"$0\" /dev/null <&4 4<&-; s=$?;"
          " kill \"$f\" 2>/dev/null; wait \"$f\" 2>/dev/null; exit $s",
          std::move(inner)};
}

// The attach script after the probe: the size, TERM, then tmux (or a
// login shell when the session runs no tmux).
std::string attach_rest(bool colorterm, bool lang, bool read_only) {
  std::string tmux = "tmux";
  if (colorterm)
    tmux += " set-environment -t claude COLORTERM \"$COLORTERM\" \\;";
  if (lang)
    tmux += " set-environment -t claude LANG \"$LANG\" \\;";
  tmux += std::string{" attach-session"} + (read_only ? " -r" : "") + " -t claude";
  // A spare sized its terminal ahead (HAL9000_SIZED_*, the size of the
  // attach before): stty runs only when this client's differs. A TERM the
  // container has no terminfo for (say xterm-kitty) would stop tmux: the
  // closest common one instead.
  return "[ \"$HAL9000_ROWS\" -gt 0 ] && { [ \"$HAL9000_ROWS\" != \"$HAL9000_SIZED_ROWS\" ]"
         " || [ \"$HAL9000_COLS\" != \"$HAL9000_SIZED_COLS\" ]; }"
         " && stty rows \"$HAL9000_ROWS\" cols \"$HAL9000_COLS\""
         " 2>/dev/null; t=${TERM%\"${TERM#?}\"}; [ -e \"/usr/share/terminfo/$t/$TERM\" ]"
         " || [ -e \"/lib/terminfo/$t/$TERM\" ] || [ -e \"/etc/terminfo/$t/$TERM\" ]"
         " || export TERM=xterm-256color;"
         " if [ -n \"$HAL9000_TMUX\" ]; then exec "
         + tmux + "; fi; stty echo 2>/dev/null; exec bash -l 2>/dev/null || exec sh";
}

// Applies the latest window size to the terminal inside the container
// (stty -F: the kernel then signals SIGWINCH to its foreground, as a
// terminal emulator's resize does). Each is an exec of its own (tens of ms):
// on this thread, so output never waits for one; sizes that queue up
// while one runs collapse into the newest.
void run_resizer(shared_ptr sh, docker::endpoint ep, std::string container, std::string file) {
  docker::engine_client api{std::move(ep), std::chrono::milliseconds(10000)};
  for (;;) {
    std::pair<uint16_t, uint16_t> size;
    {
      std::unique_lock<std::mutex> lock{sh->mtx};
      sh->resize_cv.wait(lock, [&] { return sh->ended || sh->resize.has_value(); });
      if (sh->ended)
        return;
      size = *sh->resize;
      sh->resize.reset();
    }
    docker::exec_req req;
    req.id = container;
    req.cmd = {"sh", "-c",
               "read p < \"$0\" && stty -F \"/proc/$p/fd/0\" rows \"$1\" cols \"$2\"",
               file, std::to_string(size.first), std::to_string(size.second)};
    if (auto r = api.exec(req); !r)
      log()->debug("resize in {}: {}", container, error_message(r.error()));
  }
}

// The exec's stream to the sink, input from the actor to the exec, until the
// exec ends or the client leaves. Runs on its own thread: every call blocks.
void run_io(shared_ptr sh, docker::endpoint ep, docker::exec_spec spec, bool terminal,
            terminal_sink sink, caf::actor relay, std::chrono::milliseconds open_timeout,
            std::string tag, std::shared_ptr<docker::exec_stream> spare, std::string first,
            std::function<void()> after_first_output) {
  auto owned = spare ? std::move(spare) : std::make_shared<docker::exec_stream>(ep);
  auto& xs = *owned;
  if (xs.fd() < 0) {
    if (auto err = xs.open(spec, open_timeout)) {
      caf::anon_send(relay, term_opened_atom::value, std::move(err));
      if (after_first_output)
        after_first_output();
      return;
    }
  }
  // A spare's settings go first: the container starts drawing the screen
  // while the reply travels to the client.
  if (!first.empty()) {
    auto n = xs.write_some(first.data(), first.size());
    if (n && *n > 0)
      first.erase(0, *n);
  }
  caf::anon_send(relay, term_opened_atom::value, caf::error{});
  std::thread resizer;
  if (terminal && !tag.empty())
    resizer = std::thread{run_resizer, sh, ep, spec.container, pid_file(tag)};
  uint64_t sent = 0;     // output bytes sent to the sink
  uint64_t written = 0;  // input bytes written to the exec
  docker::exec_demuxer demux;
  auto emit = [&](uint8_t stream, const char* data, size_t n) {
    if (n == 0)
      return;
    caf::anon_send(sink, term_output{stream, sent, std::string{data, n}});
    sent += n;
    // The next attach's spare is made once this one's screen is on its way,
    // not before: making it costs the engine an exec, on the same CPUs.
    if (after_first_output) {
      after_first_output();
      after_first_output = nullptr;
    }
  };
  auto deliver = [&](const char* data, size_t n) {
    if (spec.tty) {
      emit(1, data, n);
      return;
    }
    // Consecutive pieces of one stream go out as one message.
    std::string acc;
    uint8_t acc_stream = 1;
    demux.feed(data, n, [&](uint8_t s, const char* p, size_t len) {
      if (!acc.empty() && s != acc_stream) {
        emit(acc_stream, acc.data(), acc.size());
        acc.clear();
      }
      acc_stream = s;
      acc.append(p, len);
    });
    emit(acc_stream, acc.data(), acc.size());
  };
  auto early = xs.take_early_bytes();
  deliver(early.data(), early.size());
  std::string in = std::move(first);
  bool eof_wanted = false;
  bool eof_done = false;
  bool detached = false;
  std::string reason;
  std::vector<char> buf(64 * 1024);
  for (;;) {
    uint64_t consumed = 0;
    {
      std::lock_guard<std::mutex> guard{sh->mtx};
      in += sh->input;
      sh->input.clear();
      eof_wanted = eof_wanted || sh->input_eof;
      consumed = sh->consumed;
      detached = sh->detach;
    }
    char drain[256];
    while (::read(sh->wake_r, drain, sizeof(drain)) > 0) {
    }
    if (detached)
      break;
    if (!in.empty()) {
      size_t done = 0;
      while (done < in.size()) {
        auto n = xs.write_some(in.data() + done, in.size() - done);
        if (!n) {
          reason = error_message(n.error());
          break;
        }
        if (*n == 0)
          break;
        done += *n;
      }
      if (!reason.empty())
        break;
      if (done > 0) {
        in.erase(0, done);
        written += done;
        caf::anon_send(sink, term_ack{written});
      }
    }
    if (in.empty() && eof_wanted && !eof_done) {
      xs.close_write();
      eof_done = true;
    }
    bool can_read = sent - std::min(sent, consumed) < terminal_window;
    pollfd fds[2] = {{xs.fd(), static_cast<short>((can_read ? POLLIN : 0)
                                                  | (in.empty() ? 0 : POLLOUT)),
                      0},
                     {sh->wake_r, POLLIN, 0}};
    auto rc = ::poll(fds, 2, -1);
    if (rc < 0 && errno != EINTR) {
      reason = "poll failed";
      break;
    }
    bool ended = false;
    if (can_read && (fds[0].revents & (POLLIN | POLLHUP | POLLERR))) {
      // Drain what is there (bounded, so input is never starved).
      for (int i = 0; i < 16; ++i) {
        bool eof = false;
        auto n = xs.read_some(buf.data(), buf.size(), eof);
        if (!n) {
          reason = error_message(n.error());
          ended = true;
          break;
        }
        if (eof) {
          ended = true;
          break;
        }
        if (*n == 0)
          break;
        deliver(buf.data(), *n);
      }
    }
    if (ended)
      break;
  }
  if (after_first_output)
    after_first_output();
  {
    std::lock_guard<std::mutex> guard{sh->mtx};
    sh->ended = true;
    sh->resize_cv.notify_all();
  }
  if (resizer.joinable())
    resizer.join();
  int64_t code = -1;
  if (!detached) {
    // The stream ends when the process exits; its exit code can trail by a
    // moment.
    auto deadline = clock_type::now() + 3s;
    for (;;) {
      auto c = xs.exit_code();
      if (!c) {
        if (reason.empty())
          reason = error_message(c.error());
        break;
      }
      if (*c) {
        code = **c;
        break;
      }
      if (clock_type::now() >= deadline) {
        if (reason.empty())
          reason = "the exec's stream closed but it did not report an exit code";
        break;
      }
      std::this_thread::sleep_for(2ms);
    }
    caf::anon_send(sink, term_closed{code, reason, sent});
  } else {
    reason = "client detached";
  }
  caf::anon_send(relay, term_done_atom::value, code, reason);
  if (!tag.empty()) {
    // Detached: the process still runs; end it (SIGHUP, as a terminal that
    // hangs up). Ended: only its note goes.
    auto f = pid_file(tag);
    auto script = detached ? "read p < \"$0\" && kill -HUP \"$p\" 2>/dev/null; rm -f \"$0\""
                           : "rm -f \"$0\"";
    if (auto r = xs.run(spec.container, {"sh", "-c", script, f}); !r)
      log()->warn("exec {}: cleanup in {}: {}", xs.id(), spec.container,
                  error_message(r.error()));
  }
}

struct relay_state {
  shared_ptr sh = std::make_shared<relay_shared>();
  std::string key;
  bool read_only = false;
  std::string who;
  std::string session;
  std::string mode;
  clock_type::time_point started = clock_type::now();
  caf::typed_response_promise<terminal_open_reply> rp;
  terminal_sink sink;  // the client's (heartbeats)
  bool asked = false;                // the service's open request came
  std::optional<caf::error> result;  // the thread's open result came
  terminal_open_reply reply;
  static inline const char* name = "hal9000.terminal_relay";

  // Answers the service once both the question and the answer are here.
  void answer() {
    if (!asked || !result)
      return;
    if (*result)
      rp.deliver(*result);
    else
      rp.deliver(reply);
  }
};

struct relay_args {
  docker::endpoint engine;
  docker::exec_spec spec;
  bool terminal = false;  // a pty inside the container (attach, exec -t)
  terminal_sink sink;
  bool read_only = false;
  std::string who;
  std::string session;
  std::string mode;
  std::chrono::milliseconds open_timeout{15000};
  std::string tag;  // pid_file's; empty: nothing to clean up
  std::shared_ptr<docker::exec_stream> spare;  // an exec already running, or null
  std::string first;  // input written first (a spare's settings)
  std::function<void()> after_first_output;  // once, on the I/O thread; or null
};

relay_impl::behavior_type relay_fun(relay_impl::stateful_pointer<relay_state> self,
                                    relay_args a) {
  auto& st = self->state;
  st.key = random_key();
  st.read_only = a.read_only;
  st.who = a.who;
  st.session = a.session;
  st.mode = a.mode;
  st.reply.relay = caf::actor_cast<terminal_actor>(self);
  st.reply.key = st.key;
  st.reply.container = a.spec.container;
  st.sink = a.sink;
  // The client going away (killed, connection lost) ends its exec only.
  self->monitor(a.sink);
  self->set_down_handler([self](caf::down_msg&) {
    std::lock_guard<std::mutex> guard{self->state.sh->mtx};
    self->state.sh->detach = true;
    self->state.sh->poke();
  });
  // The daemon shutting down (the service exits, linked): the thread lets go.
  self->attach_functor([sh = st.sh] {
    std::lock_guard<std::mutex> guard{sh->mtx};
    sh->detach = true;
    sh->poke();
  });
  std::thread{run_io,
              st.sh,
              a.engine,
              a.spec,
              a.terminal,
              a.sink,
              caf::actor_cast<caf::actor>(self),
              a.open_timeout,
              a.tag,
              a.spare,
              a.first,
              a.after_first_output}
    .detach();
  // The client's liveness check: a beat every interval, from the actor (not
  // the I/O thread), so it flows while the exec is quiet.
  self->delayed_send(self, term_beat_interval, term_beat_atom::value);
  auto mine = [self](const std::string& key) {
    if (key == self->state.key)
      return true;
    log()->warn("terminal relay for session {}: message with a wrong key dropped",
                self->state.session);
    return false;
  };
  return {
    [=](term_input& x) {
      if (!mine(x.key) || self->state.read_only)
        return;
      std::lock_guard<std::mutex> guard{self->state.sh->mtx};
      self->state.sh->input += x.data;
      self->state.sh->input_eof = self->state.sh->input_eof || x.eof;
      self->state.sh->poke();
    },
    [=](term_resize& x) {
      if (!mine(x.key) || x.rows == 0 || x.cols == 0 || self->state.read_only)
        return;
      std::lock_guard<std::mutex> guard{self->state.sh->mtx};
      self->state.sh->resize = std::make_pair(x.rows, x.cols);
      self->state.sh->resize_cv.notify_all();
    },
    [=](term_consumed& x) {
      if (!mine(x.key))
        return;
      std::lock_guard<std::mutex> guard{self->state.sh->mtx};
      self->state.sh->consumed = std::max(self->state.sh->consumed, x.bytes);
      self->state.sh->poke();
    },
    [=](term_detach& x) {
      if (!mine(x.key))
        return;
      std::lock_guard<std::mutex> guard{self->state.sh->mtx};
      self->state.sh->detach = true;
      self->state.sh->poke();
    },
    [=](term_beat_atom) {
      self->send(self->state.sink, term_beat_atom::value);
      self->delayed_send(self, term_beat_interval, term_beat_atom::value);
    },
    [=](term_open_atom) -> caf::typed_response_promise<terminal_open_reply> {
      auto& st = self->state;
      st.rp = self->make_response_promise<terminal_open_reply>();
      st.asked = true;
      auto rp = st.rp;
      st.answer();
      if (st.result && *st.result)
        self->quit();
      return rp;
    },
    [=](term_opened_atom, caf::error& err) {
      auto& st = self->state;
      if (err)
        audit("terminal.open", {{"who", st.who}, {"session", st.session}, {"mode", st.mode},
                                {"result", error_message(err)}});
      else
        audit("terminal.open", {{"who", st.who}, {"session", st.session}, {"mode", st.mode},
                                {"read_only", st.read_only}, {"result", "ok"}});
      st.started = clock_type::now();
      st.result = std::move(err);
      st.answer();
      if (st.asked && *st.result)
        self->quit();
    },
    [=](term_done_atom, int64_t code, std::string& reason) {
      auto& st = self->state;
      auto secs = std::chrono::duration<double>(clock_type::now() - st.started).count();
      nlohmann::json fields = {{"who", st.who},           {"session", st.session},
                               {"mode", st.mode},         {"read_only", st.read_only},
                               {"duration_s", secs},      {"result", "ok"}};
      if (code >= 0)
        fields["exit_code"] = code;
      if (!reason.empty())
        fields["reason"] = reason;
      audit("terminal.end", std::move(fields));
      self->quit();
    },
  };
}


// A word for sh: single-quoted, quotes inside escaped.
std::string shell_quote(const std::string& a) {
  std::string out = "'";
  for (char c : a) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

// Which exec an open asks for, every field checked. The client's values
// travel as environment variables, never as code.
caf::expected<docker::exec_spec> spec_for(const terminals_options& o,
                                          const terminal_open_req& r, const std::string& tag,
                                          bool& terminal) {
  if (auto err = check_env_value("TERM", r.term))
    return err;
  if (auto err = check_env_value("COLORTERM", r.colorterm))
    return err;
  if (auto err = check_env_value("LANG", r.lang))
    return err;
  docker::exec_spec spec;
  spec.working_dir = o.working_dir;
  // Never a TTY exec: the engine's TTY stream holds back the first key of its
  // detach sequence (default Ctrl-P) until the next key arrives. A terminal is
  // made inside the container instead (script(1), util-linux), so every byte
  // passes at once and as is.
  spec.tty = false;
  terminal = false;
  if (r.mode == "attach") {
    terminal = true;
    spec.cmd = guarded_script(attach_script(!r.colorterm.empty(), !r.lang.empty(), r.read_only));
  } else if (r.mode == "exec") {
    if (r.cmd.empty())
      return make_error(errc::invalid_argument, "exec needs a command");
    std::string argv;
    for (auto& a : r.cmd) {
      if (a.find('\0') != std::string::npos)
        return make_error(errc::invalid_argument, "a command argument holds a NUL byte");
      argv += " " + shell_quote(a);
    }
    if (r.tty) {
      terminal = true;
      spec.cmd = {"script", "-q", "-e", "-c",
                  "{ echo $$ > \"$HAL9000_PIDFILE\"; } 2>/dev/null;"
                  " [ \"$HAL9000_ROWS\" -gt 0 ] && stty rows \"$HAL9000_ROWS\""
                  " cols \"$HAL9000_COLS\" 2>/dev/null; exec"
                    + argv,
                  "/dev/null"};
    } else {
      spec.cmd = {"sh", "-c", "{ echo \"$$\" > \"$0\"; } 2>/dev/null; exec \"$@\"",
                  pid_file(tag)};
      spec.cmd.insert(spec.cmd.end(), r.cmd.begin(), r.cmd.end());
    }
  } else if (r.mode == "logs") {
    spec.attach_stdin = false;
    spec.cmd = {"tmux", "capture-pane", "-p", "-J", "-S", "-2000", "-t", "claude"};
  } else {
    return make_error(errc::invalid_argument, "unknown terminal mode '" + r.mode + "'");
  }
  spec.env.push_back("TERM=" + (r.term.empty() ? std::string{"xterm-256color"} : r.term));
  if (!r.colorterm.empty())
    spec.env.push_back("COLORTERM=" + r.colorterm);
  if (!r.lang.empty())
    spec.env.push_back("LANG=" + r.lang);
  if (terminal) {
    spec.env.push_back("HAL9000_ROWS=" + std::to_string(r.rows));
    spec.env.push_back("HAL9000_COLS=" + std::to_string(r.cols));
    spec.env.push_back("HAL9000_PIDFILE=" + pid_file(tag));
  }
  return spec;
}

// One exec per session's container started ahead of need, so an attach
// waits for no exec create and start (tens of ms at the engine), nor for
// what the attach script does before it knows the client: script(1) has
// made the terminal, echo is off, tmux has-session has answered. Then the
// spare prints one marker byte (consumed here) and reads one line of
// settings (spare_settings) on its terminal, which runs the rest of the
// attach script. Made on a thread of its own once an attach's screen is on
// its way; a spare whose container went is noticed (its stream ended) and
// dropped.
struct spare_pool {
  struct spare {
    std::string tag;
    std::shared_ptr<docker::exec_stream> stream;
  };
  std::mutex mtx;
  std::map<std::string, spare> ready;     // by container id
  std::set<std::string> making;

  // Drops spares whose stream ended (their container went): a socket each.
  // mtx held.
  void prune() {
    for (auto it = ready.begin(); it != ready.end();) {
      pollfd p{it->second.stream->fd(), POLLIN, 0};
      if (::poll(&p, 1, 0) != 0)
        it = ready.erase(it);
      else
        ++it;
    }
  }

  // A live spare for container, or none.
  std::optional<spare> take(const std::string& container) {
    std::lock_guard<std::mutex> guard{mtx};
    auto it = ready.find(container);
    if (it == ready.end())
      return std::nullopt;
    auto s = std::move(it->second);
    ready.erase(it);
    // Nothing may be readable on an idle spare: data or EOF means it died.
    pollfd p{s.stream->fd(), POLLIN, 0};
    if (::poll(&p, 1, 0) != 0)
      return std::nullopt;
    return s;
  }
};

using spare_pool_ptr = std::shared_ptr<spare_pool>;

// Reads a new spare's stream up to its marker byte, so that nothing of it
// reaches a client and its settings are read with echo off. Errors:
// deadline_exceeded, or internal when anything else came first.
caf::error await_marker(docker::exec_stream& xs, std::chrono::milliseconds timeout) {
  docker::exec_demuxer demux;
  std::string got;
  auto take = [&](const char* data, size_t n) {
    demux.feed(data, n, [&](uint8_t, const char* p, size_t len) { got.append(p, len); });
  };
  auto early = xs.take_early_bytes();
  take(early.data(), early.size());
  auto deadline = clock_type::now() + timeout;
  char buf[256];
  while (got.empty()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
    if (left.count() <= 0)
      return make_error(errc::deadline_exceeded, "the spare exec did not get ready");
    pollfd p{xs.fd(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) < 0 && errno != EINTR)
      return make_error(errc::internal, "poll failed");
    bool eof = false;
    auto n = xs.read_some(buf, sizeof(buf), eof);
    if (!n)
      return n.error();
    if (eof)
      return make_error(errc::internal, "the spare exec ended");
    take(buf, *n);
  }
  if (got != std::string(1, spare_marker))
    return make_error(errc::internal, "the spare exec said something else first");
  return caf::none;
}

void make_spare(spare_pool_ptr pool, docker::endpoint ep, std::string container,
                std::string working_dir, std::chrono::milliseconds timeout, uint16_t rows,
                uint16_t cols) {
  auto tag = random_key().substr(0, 16);
  docker::exec_spec spec;
  spec.container = container;
  spec.working_dir = std::move(working_dir);
  spec.tty = false;
  spec.env = {"SHELL=/bin/sh", "HAL9000_PIDFILE=" + pid_file(tag)};
  // Sized like the attach before it (the same terminal, most likely, comes
  // back): that attach then needs no stty of its own.
  std::string sized;
  if (rows > 0 && cols > 0) {
    auto r = std::to_string(rows), c = std::to_string(cols);
    sized = "stty rows " + r + " cols " + c + " 2>/dev/null && HAL9000_SIZED_ROWS=" + r
            + " HAL9000_SIZED_COLS=" + c + "; ";
  }
  spec.cmd = guarded_script(
    std::string{"{ echo $$ > \"$HAL9000_PIDFILE\"; } 2>/dev/null;"
                " stty -echo 2>/dev/null; HAL9000_SIZED_ROWS=; HAL9000_SIZED_COLS=; "}
    + sized + tmux_probe + " printf " + spare_marker + "; IFS= read -r s || exit 0; eval \"$s\"");
  auto stream = std::make_shared<docker::exec_stream>(ep);
  auto err = stream->open(spec, timeout);
  if (!err)
    err = await_marker(*stream, timeout);
  std::lock_guard<std::mutex> guard{pool->mtx};
  pool->making.erase(container);
  if (err) {
    log()->debug("no spare exec in {}: {}", container, error_message(err));
    return;
  }
  pool->ready[container] = spare_pool::spare{tag, std::move(stream)};
}

// The settings line a spare reads on its terminal (canonical mode: one
// line, at most 4095 bytes; only printable ASCII, as every value is checked
// to be): exports, every value quoted, then the rest of the attach script.
std::string spare_settings(const docker::exec_spec& spec, const std::string& rest) {
  std::string line = "export";
  for (auto& kv : spec.env) {
    auto eq = kv.find('=');
    line += " " + kv.substr(0, eq) + "=" + shell_quote(kv.substr(eq + 1));
  }
  return line + "; " + rest + "\n";
}

struct service_state {
  terminals_options opts;
  session_store_actor store;
  spare_pool_ptr spares = std::make_shared<spare_pool>();
  static inline const char* name = "hal9000.terminals";
};

} // namespace

std::string attach_script(bool colorterm, bool lang, bool read_only) {
  return std::string{"{ echo $$ > \"$HAL9000_PIDFILE\"; } 2>/dev/null; "} + tmux_probe
         + " HAL9000_SIZED_ROWS=; HAL9000_SIZED_COLS=; " + attach_rest(colorterm, lang, read_only);
}

terminals_actor spawn_terminals(caf::actor_system& sys, terminals_options opts,
                                session_store_actor store) {
  auto fn = [](terminals_actor::stateful_pointer<service_state> self, terminals_options opts,
               session_store_actor store) -> terminals_actor::behavior_type {
    self->state.opts = std::move(opts);
    self->state.store = std::move(store);
    return {
      [=](terminal_authed_req& ar) -> caf::result<terminal_open_reply> {
        auto& r = ar.req;
        auto who = ar.user + " (" + r.who.client + ")";
        if (auto err = valid_name(r.name))
          return err;
        if (!r.sink)
          return make_error(errc::invalid_argument, "no terminal sink");
        auto tag = r.mode == "logs" ? std::string{} : random_key().substr(0, 16);
        bool terminal = false;
        auto spec = spec_for(self->state.opts, r, tag, terminal);
        if (!spec)
          return spec.error();
        if (!self->state.store)
          return make_error(errc::unavailable, "the daemon runs without a session store");
        auto rp = self->make_response_promise<terminal_open_reply>();
        self->request(self->state.store, self->state.opts.store_timeout, caf::get_atom::value,
                      r.name)
          .then(
            [self, rp, ar, who, tag, terminal, spec = *spec](session_record& rec) mutable {
              auto& r = ar.req;
              if (!is_live(rec.state) || rec.container_id.empty()) {
                rp.deliver(make_error(errc::not_found,
                                      "session '" + rec.name + "' is not running"
                                        + (rec.end.kind == end_kind::none
                                             ? ""
                                             : " (" + to_string(rec.end) + ")")));
                return;
              }
              // Identity is the token's: root goes anywhere, others into their own.
              if (auto refused = owner_refusal(rec, ar.user,
                                               r.mode == "attach" ? "attach to"
                                               : r.mode == "exec" ? "exec in"
                                                                  : "read the logs of")) {
                audit("refused", {{"request", "terminal " + r.mode}, {"who", who},
                                  {"session", rec.name}, {"result", "not the owner"}});
                rp.deliver(std::move(refused));
                return;
              }
              relay_args a;
              a.engine = self->state.opts.engine;
              a.spec = std::move(spec);
              a.spec.container = rec.container_id;
              a.terminal = terminal;
              a.sink = r.sink;
              a.read_only = r.read_only;
              a.who = who;
              a.session = rec.name;
              a.mode = r.mode;
              a.open_timeout = self->state.opts.open_timeout;
              a.tag = tag;
              if (r.mode == "attach") {
                auto& pool = self->state.spares;
                if (auto s = pool->take(rec.container_id)) {
                  // The spare's pid note is the one to use from now on.
                  auto spec = a.spec;
                  for (auto& kv : spec.env)
                    if (kv.rfind("HAL9000_PIDFILE=", 0) == 0)
                      kv = "HAL9000_PIDFILE=" + pid_file(s->tag);
                  auto line = spare_settings(
                    spec, attach_rest(!r.colorterm.empty(), !r.lang.empty(), r.read_only));
                  if (line.size() <= max_settings_line) {
                    a.tag = s->tag;
                    a.spec = std::move(spec);
                    a.first = std::move(line);
                    a.spare = std::move(s->stream);
                  }
                }
                // The next attach finds one ready, made once this one's
                // screen is on its way (called on the relay's I/O thread;
                // the engine blocks, so a run_blocking helper makes it). The
                // service's weak handle: no spare once the daemon shuts down.
                a.after_first_output = [service = caf::weak_actor_ptr{self->ctrl()}, pool,
                                        engine = self->state.opts.engine,
                                        container = rec.container_id,
                                        dir = self->state.opts.working_dir,
                                        timeout = self->state.opts.open_timeout,
                                        rows = r.rows, cols = r.cols] {
                  std::lock_guard<std::mutex> guard{pool->mtx};
                  pool->prune();
                  auto alive = service.lock();
                  if (!alive)
                    return;
                  if (pool->ready.count(container) == 0 && pool->making.insert(container).second) {
                    auto job = [=]() -> caf::expected<bool> {
                      make_spare(pool, engine, container, dir, timeout, rows, cols);
                      return true;
                    };
                    caf::anon_send(spawn_blocking(*alive->home_system, std::move(job)),
                                   start_atom::value);
                  }
                };
              }
              auto relay = self->spawn<caf::linked>(relay_fun, std::move(a));
              self->request(relay, self->state.opts.open_timeout + relay_margin,
                            term_open_atom::value)
                .then([rp](terminal_open_reply& reply) mutable { rp.deliver(std::move(reply)); },
                      [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
            },
            [rp, name = r.name](caf::error& err) mutable {
              if (error_code(err) == errc::not_found)
                rp.deliver(make_error(errc::not_found, "no session named '" + name
                                                         + "' (see: claudy sessions)"));
              else
                rp.deliver(std::move(err));
            });
        return rp;
      },
    };
  };
  return sys.spawn(fn, std::move(opts), std::move(store));
}

std::chrono::milliseconds terminal_open_budget(const terminals_options& opts) {
  return deadlines::terminal_open(opts.store_timeout, opts.open_timeout);
}

} // namespace hal9000
