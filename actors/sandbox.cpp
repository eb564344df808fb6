// The sandbox actor: owns the credential proxy's listener and grant table,
// the egress reporter and the parent namespace's packet filter, the usage of
// every session, and reads the filtering proxy's refusals from its log.
// Detached: setns(2), bind, iptables-restore, /proc scans and file reads run
// on this actor's own thread. Server threads report to it by message.

#include "actors/sandbox.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <memory>

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <nlohmann/json.hpp>

#include "messages/error.hpp"
#include "runtime/atomic_file.hpp"
#include "runtime/config.hpp"
#include "runtime/egress.hpp"
#include "runtime/logging.hpp"
#include "runtime/metrics.hpp"
#include "runtime/proxy_server.hpp"
#include "runtime/time_format.hpp"
#include "runtime/users.hpp"

namespace hal9000 {

namespace {

using namespace std::chrono_literals;

// -- messages from the server threads (private to this actor) -----------------------

struct usage_report {
  std::string session;
  int32_t in_flight = 0;
  uint64_t requests = 0;
  uint64_t errors = 0;
  uint64_t input_tokens = 0;
  uint64_t output_tokens = 0;
  int32_t status = 0;
  std::string error;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, usage_report& x) {
  return f(caf::meta::type_name("hal9000::sandbox_usage_report"), x.session, x.in_flight,
           x.requests, x.errors, x.input_tokens, x.output_tokens, x.status, x.error);
}

struct refusal_report {
  std::string destination;
  std::string container_id;
  std::string via;  // "packet-filter" | "filtering-proxy"
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, refusal_report& x) {
  return f(caf::meta::type_name("hal9000::sandbox_refusal_report"), x.destination,
           x.container_id, x.via);
}

using impl_actor = sandbox_actor::extend<caf::reacts_to<usage_report>,
                                         caf::reacts_to<refusal_report>,
                                         caf::reacts_to<caf::tick_atom>>;

struct session_entry {
  std::string user_id;
  std::string placeholder;  // "" when the user had no key
  std::string container_id;
  sandbox_session view;
  bool dirty = false;       // usage not yet in the session file
  bool ended = false;       // revoked; dropped after the last flush
};

struct sandbox_state {
  sandbox_options opts;
  session_store_actor store;  // read (which sessions still run)
  sessions_actor writer;      // the sessions actor: usage goes to the one writer of records
  event_hub_actor hub;
  std::shared_ptr<proxy::grant_table> grants = std::make_shared<proxy::grant_table>();
  std::unique_ptr<proxy::server> server;
  std::unique_ptr<proxy::reporter> reporter;
  std::map<std::string, session_entry> sessions;
  int64_t parent_pid = 0;
  std::string error;
  uint64_t refusals = 0;
  // Where the filtering proxy's log is read from: the file (its inode) and
  // the byte after the last line read. Set when the sandbox starts watching
  // (the end of what is there then: older refusals are history, not news).
  uint64_t log_ino = 0;
  uint64_t log_offset = 0;
  static inline const char* name = "hal9000.sandbox";
};

using self_ptr = impl_actor::stateful_pointer<sandbox_state>;

std::string placeholders_path(const std::string& home) {
  return home + "/sandbox/placeholders.json";
}

// The placeholders survive a daemon restart (adopted sessions keep working):
// HAL9000_HOME/sandbox/placeholders.json, 0600, [{session, user, placeholder}].
void persist(self_ptr self) {
  auto& st = self->state;
  auto doc = nlohmann::json::array();
  for (auto& [name, e] : st.sessions)
    if (!e.ended && !e.placeholder.empty())
      doc.push_back({{"session", name}, {"user", e.user_id}, {"placeholder", e.placeholder}});
  auto dir = st.opts.home + "/sandbox";
  if (auto err = make_dirs(dir, 0700))
    log()->warn("sandbox: {}", error_message(err));
  else if (auto err = write_file_atomic(placeholders_path(st.opts.home), doc.dump(), 0600))
    log()->warn("sandbox: {}", error_message(err));
}

void load_persisted(self_ptr self) {
  auto& st = self->state;
  auto path = placeholders_path(st.opts.home);
  auto text = read_file(path);
  if (!text)
    return;
  auto doc = nlohmann::json::parse(*text, nullptr, false);
  if (!doc.is_array()) {
    auto moved = move_aside(path, st.opts.home + "/sandbox/corrupt");
    log()->warn("sandbox: {} is not a JSON array; moved aside to {}", path,
                moved ? *moved : error_message(moved.error()));
    return;
  }
  for (auto& x : doc) {
    if (!x.is_object())
      continue;
    auto session = x.value("session", std::string{});
    auto user = x.value("user", std::string{});
    auto ph = x.value("placeholder", std::string{});
    if (session.empty() || ph.rfind("sk-ant-hal9000-", 0) != 0)
      continue;
    auto& e = st.sessions[session];
    e.user_id = user;
    e.placeholder = ph;
    e.view.session = session;
    e.view.user_id = user;
    st.grants->put(ph, {session, user});
  }
}

bool has_key(const std::string& home, const std::string& user) {
  struct stat sb {};
  return !user.empty() && ::stat(user_paths_for(home, user).key.c_str(), &sb) == 0
         && S_ISREG(sb.st_mode) && sb.st_size > 0;
}

void publish(self_ptr self, lifecycle_event e) {
  if (self->state.hub)
    self->send(self->state.hub, std::move(e));
}

std::string session_of_container(self_ptr self, const std::string& id) {
  if (id.empty())
    return {};
  for (auto& [name, e] : self->state.sessions)
    if (!e.container_id.empty() && e.container_id == id)
      return name;
  return {};
}

sandbox_status status_of(self_ptr self) {
  auto& st = self->state;
  sandbox_status s;
  s.attached = st.server != nullptr;
  s.parent_pid = st.parent_pid;
  s.proxy_url = st.server ? "http://127.0.0.1:" + std::to_string(st.server->port()) : "";
  s.upstream = st.opts.upstream;
  s.allow = st.opts.allow;
  s.filter_proxy = "http://127.0.0.1:" + std::to_string(st.opts.egress_port);
  if (!st.opts.enforce_egress)
    s.egress = "not enforced";
  else if (!s.attached)
    s.egress = "not enforced (no parent namespace)";
  else
    s.egress = egress::is_open(st.opts.allow) ? "open" : "allowlist";
  s.refusals = st.refusals;
  s.error = st.error;
  for (auto& [name, e] : st.sessions)
    if (!e.ended)
      s.sessions.push_back(e.view);
  return s;
}

void flush(self_ptr self) {
  auto& st = self->state;
  for (auto i = st.sessions.begin(); i != st.sessions.end();) {
    auto& e = i->second;
    if (e.dirty && st.writer) {
      e.dirty = false;
      self->request(st.writer, 10s, usage_atom::value, i->first, e.view.usage)
        .then([] {}, [name = i->first](caf::error& err) {
          if (error_code(err) != errc::not_found)
            log()->warn("sandbox: usage of {} not recorded: {}", name, error_message(err));
        });
    }
    if (e.ended && !e.dirty && e.view.in_flight <= 0)
      i = st.sessions.erase(i);
    else
      ++i;
  }
}

std::string filter_log_path(const std::string& home) {
  return egress_log_dir(home) + "/tinyproxy.log";
}

// Starts watching the filtering proxy's log: what it holds now was written
// before this daemon watched (an earlier run's refusals, reported then) and is
// skipped. A stat of a file in HAL9000_HOME (the sandbox is detached).
void watch_filter_log(self_ptr self) {
  auto& st = self->state;
  struct stat sb {};
  if (::stat(filter_log_path(st.opts.home).c_str(), &sb) == 0) {
    st.log_ino = static_cast<uint64_t>(sb.st_ino);
    st.log_offset = static_cast<uint64_t>(sb.st_size);
  }
}

// The filtering proxy's refusals: tinyproxy logs
//   NOTICE ... : Proxying refused on filtered domain "example.com"
// It does not log which client asked, so these carry no session. Only lines
// written since watch_filter_log: a file with another inode (the keeper moved
// the old log aside when it recreated <prefix>-egress) or one shorter than
// what was read (truncated) is new, read from its start.
void read_filter_log(self_ptr self) {
  auto& st = self->state;
  auto path = filter_log_path(st.opts.home);
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return;
  struct stat sb {};
  if (::stat(path.c_str(), &sb) != 0)
    return;
  auto ino = static_cast<uint64_t>(sb.st_ino);
  if (ino != st.log_ino) {
    st.log_ino = ino;
    st.log_offset = 0;
  }
  in.seekg(0, std::ios::end);
  auto size = static_cast<uint64_t>(in.tellg());
  if (size < st.log_offset)
    st.log_offset = 0;
  in.seekg(static_cast<std::streamoff>(st.log_offset));
  std::string line;
  while (std::getline(in, line)) {
    if (in.eof())
      break;  // a partial last line: read it next time
    st.log_offset += line.size() + 1;
    static const std::string marker = "refused on filtered domain \"";
    auto at = line.find(marker);
    if (at == std::string::npos)
      continue;
    auto host = line.substr(at + marker.size());
    host = host.substr(0, host.find('"'));
    refusal_report r{host, "", "filtering-proxy"};
    self->send(self, std::move(r));
  }
}

caf::error attach(self_ptr self, int64_t pid) {
  auto& st = self->state;
  st.reporter.reset();
  st.server.reset();
  st.parent_pid = pid;
  auto netns = "/proc/" + std::to_string(pid) + "/ns/net";
  proxy::server_options so;
  so.upstream = st.opts.upstream;
  so.ca_file = st.opts.ca_file;
  so.home = st.opts.home;
  so.port = st.opts.proxy_port;
  so.netns = netns;
  so.threads = st.opts.threads;
  so.grants = st.grants;
  caf::actor me = caf::actor_cast<caf::actor>(self);
  so.report = [me](const proxy::usage_delta& d) {
    caf::anon_send(me, usage_report{d.session, d.in_flight, d.requests, d.errors,
                                    d.input_tokens, d.output_tokens, d.status, d.error});
  };
  auto srv = proxy::server::start(std::move(so));
  if (!srv)
    return srv.error();
  st.server = std::move(*srv);
  if (!st.opts.enforce_egress)
    return caf::none;
  bool open = egress::is_open(st.opts.allow);
  uint16_t report_port = static_cast<uint16_t>(st.opts.egress_port + 1);
  if (!open) {
    proxy::reporter_options ro;
    ro.netns = netns;
    ro.netns_pid = pid;
    ro.port = report_port;
    ro.policy_note = egress::policy_note(st.opts.allow);
    ro.report = [me](const proxy::refusal& r) {
      caf::anon_send(me, refusal_report{r.destination, r.container_id, "packet-filter"});
    };
    auto rep = proxy::reporter::start(std::move(ro));
    if (!rep)
      return rep.error();
    st.reporter = std::move(*rep);
  }
  return egress::apply(netns, open, report_port);
}

impl_actor::behavior_type sandbox_fun(self_ptr self, sandbox_options opts,
                                      session_store_actor store, sessions_actor sessions,
                                      event_hub_actor hub) {
  auto& st = self->state;
  st.opts = std::move(opts);
  st.store = std::move(store);
  st.writer = std::move(sessions);
  st.hub = std::move(hub);
  load_persisted(self);
  watch_filter_log(self);
  if (st.hub)
    self->request(st.hub, 30s,
                  events_subscribe_req{credentials{}, caf::actor_cast<event_sink>(self), true,
                                       false})
      .then([](events_subscribe_reply&) {},
            [](caf::error& err) {
              log()->error("sandbox: cannot follow events (placeholders outlive their "
                           "sessions): {}", error_message(err));
            });
  // Placeholders of sessions that ended while the daemon was down go now.
  if (st.store)
    self->request(st.store, 30s, list_atom::value)
      .then([self](std::vector<session_record>& list) {
        std::map<std::string, const session_record*> live;
        for (auto& r : list)
          if (is_live(r.state))
            live[r.name] = &r;
        bool changed = false;
        for (auto& [name, e] : self->state.sessions) {
          auto i = live.find(name);
          if (i == live.end()) {
            self->state.grants->revoke_session(name);
            e.ended = true;
            changed = true;
          } else {
            e.container_id = i->second->container_id;
            e.view.usage = i->second->usage;
          }
        }
        if (changed)
          persist(self);
      }, [](caf::error&) {});
  self->delayed_send(self, st.opts.tick, caf::tick_atom::value);
  // The listener and the reporter close with the state (their destructors
  // stop and join their threads).
  return {
    [self](const sandbox_grant_req& req) -> sandbox_grant {
      auto& st = self->state;
      sandbox_grant g;
      if (!st.server)
        return g;
      auto port = std::to_string(st.server->port());
      auto& e = st.sessions[req.session];
      if (!e.placeholder.empty())
        st.grants->revoke_session(req.session);  // a name used again
      e = session_entry{};
      e.user_id = req.user_id;
      e.view.session = req.session;
      e.view.user_id = req.user_id;
      if (has_key(st.opts.home, req.user_id)) {
        e.placeholder = proxy::make_placeholder();
        st.grants->put(e.placeholder, {req.session, req.user_id});
        g.env.push_back("ANTHROPIC_BASE_URL=http://127.0.0.1:" + port);
        g.env.push_back("ANTHROPIC_API_KEY=" + e.placeholder);
        g.placeholder = true;
        persist(self);
      }
      if (st.opts.enforce_egress && !egress::is_open(st.opts.allow)) {
        auto url = "http://127.0.0.1:" + std::to_string(st.opts.egress_port);
        for (auto v : {"HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"})
          g.env.push_back(std::string{v} + "=" + url);
        for (auto v : {"NO_PROXY", "no_proxy"})
          g.env.push_back(std::string{v} + "=localhost,127.0.0.1");
      }
      return g;
    },
    [self](attach_atom, int64_t pid) -> caf::result<sandbox_status> {
      auto& st = self->state;
      if (pid <= 0)
        return make_error(errc::invalid_argument, "sandbox: no parent process id");
      if (auto err = attach(self, pid)) {
        st.error = error_message(err);
        log()->error("sandbox: {}", st.error);
        return err;
      }
      st.error.clear();
      log()->info("sandbox: credential proxy on localhost:{} in the namespace of pid {}; "
                  "egress {}",
                  st.server->port(), pid, status_of(self).egress);
      return status_of(self);
    },
    [self](status_atom) -> sandbox_status { return status_of(self); },
    [self](lifecycle_event& ev) {
      auto& st = self->state;
      if (ev.session.empty())
        return;
      auto i = st.sessions.find(ev.session);
      if (ev.kind == event_kinds::session_started) {
        if (i != st.sessions.end())
          i->second.container_id = ev.container_id;
      } else if (ev.kind == event_kinds::session_ended) {
        st.grants->revoke_session(ev.session);
        if (i != st.sessions.end()) {
          i->second.ended = true;
          persist(self);
        }
      }
    },
    [self](usage_report& r) {
      auto& st = self->state;
      auto i = st.sessions.find(r.session);
      if (i == st.sessions.end())
        return;
      auto& v = i->second.view;
      auto* m = st.opts.metrics.get();
      v.in_flight += r.in_flight;
      if (m)
        m->proxy_in_flight.with({r.session}).add(r.in_flight);
      if (r.requests == 0)
        return;
      v.usage.requests += r.requests;
      v.usage.errors += r.errors;
      v.usage.input_tokens += r.input_tokens;
      v.usage.output_tokens += r.output_tokens;
      v.last_call = utc_now();
      i->second.dirty = true;
      if (m) {
        m->proxy_requests.with({r.session}).inc(r.requests);
        m->proxy_errors.with({r.session}).inc(r.errors);
        m->proxy_tokens.with({r.session, "input"}).inc(r.input_tokens);
        m->proxy_tokens.with({r.session, "output"}).inc(r.output_tokens);
      }
      lifecycle_event e;
      e.kind = event_kinds::model_call;
      e.session = r.session;
      e.container_id = i->second.container_id;
      e.details = {{"status", std::to_string(r.status)},
                   {"input_tokens", std::to_string(r.input_tokens)},
                   {"output_tokens", std::to_string(r.output_tokens)}};
      if (!r.error.empty())
        e.details["error"] = r.error;
      publish(self, std::move(e));
    },
    [self](refusal_report& r) {
      auto& st = self->state;
      ++st.refusals;
      if (st.opts.metrics)
        st.opts.metrics->egress_refusals.with({r.via}).inc();
      lifecycle_event e;
      e.kind = event_kinds::egress_refused;
      e.container_id = r.container_id;
      e.session = session_of_container(self, r.container_id);
      e.reason = "egress policy refused " + r.destination;
      e.details = {{"destination", r.destination},
                   {"via", r.via},
                   {"setting", "HAL9000_EGRESS_ALLOW"}};
      if (e.session.empty())
        e.details["attribution"]
          = r.via == "filtering-proxy"
              ? "unknown: the filtering proxy does not log which client asked"
              : (r.container_id.empty() ? "unknown: the connecting socket was not found"
                                        : "container " + r.container_id.substr(0, 12)
                                            + " is no session's");
      log()->warn("sandbox: {} (session {})", e.reason,
                  e.session.empty() ? "unknown" : e.session);
      publish(self, std::move(e));
    },
    [self](caf::tick_atom) {
      flush(self);
      if (self->state.opts.enforce_egress)
        read_filter_log(self);
      self->delayed_send(self, self->state.opts.tick, caf::tick_atom::value);
    },
  };
}

} // namespace

std::string egress_log_dir(const std::string& home) {
  return home + "/egress/log";
}

sandbox_options sandbox_options_from(const config& cfg) {
  sandbox_options o;
  o.home = cfg.home;
  o.proxy_port = cfg.proxy_port;
  o.upstream = cfg.proxy_upstream;
  o.ca_file = cfg.proxy_ca;
  if (auto allow = egress::parse_allow(cfg.egress_allow))
    o.allow = *allow;
  o.egress_port = cfg.egress_port;
  return o;
}

sandbox_actor spawn_sandbox(caf::actor_system& sys, sandbox_options opts,
                            session_store_actor store, sessions_actor sessions,
                            event_hub_actor hub) {
  return sys.spawn<caf::detached>(sandbox_fun, std::move(opts), std::move(store),
                                  std::move(sessions), std::move(hub));
}

} // namespace hal9000
