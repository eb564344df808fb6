// The parent keeper: volumes, the parent container and ChromaDB, through the
// docker actor only. Every docker call is an asynchronous request with a
// timeout; the steps of one operation chain through continuations.
//
// ensure:  volumes (inspect, else create)          all three at once
//          -> parent   missing           -> image? -> create -> start
//                      stopped, same     -> start
//                      stopped, other    -> remove -> create -> start
//                      running, same     -> ok
//                      running, other    -> sessions in its namespace? (list)
//                                           none, at a daemon's start: remove
//                                             -> create -> start (ChromaDB and
//                                             the egress proxy follow)
//                                           some: reported with the command
//                                             that applies it, left alone (its
//                                             port then holds for ChromaDB)
//          ("other" is only what lives in it: the published CHROMADB_PORT)
//          -> chromadb missing           -> image? -> create -> start
//                      matches, stopped  -> start
//                      does not match    -> stop, remove -> create -> start
// ensure, stop and restart change the same containers: they run one at a
// time, in arrival order. status only reads, and runs at once.

#include "actors/parent_keeper.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <algorithm>
#include <deque>
#include <functional>
#include <memory>
#include <utility>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/chroma_monitor.hpp"
#include "actors/event_hub.hpp"
#include "messages/error.hpp"
#include "runtime/atomic_file.hpp"
#include "runtime/config.hpp"
#include "runtime/egress.hpp"
#include "runtime/names.hpp"

namespace hal9000 {

namespace {

using done_fn = std::function<void()>;
using fail_fn = std::function<void(caf::error)>;

struct keeper_state {
  parent_options opts;
  docker::docker_actor docker;
  chroma::restarter_actor restarter;
  parent_status last;  // after the last ensure or stop
  bool busy = false;
  std::deque<done_fn> pending;
  // Watching the parent (parent_watch_req).
  parent_watcher_actor watcher;
  event_hub_actor hub;
  bool watching = false;
  bool own_stop = false;     // stop --all of our own: its die is no loss
  bool lost = false;         // a loss is being recovered
  bool engine_down = false;  // the engine's event stream is down
  // A die of the parent waits a moment (loss_settle) for what follows it:
  // destroy (removed), start (restarted) or nothing (stopped).
  bool loss_pending = false;
  std::string loss_words;
  std::string lost_id;       // the parent container that went away
  bool refined = false;      // a later event said more (removed, restarted)
  bool own_start = false;    // we started the parent since the loss
  std::deque<std::string> incidents;
  static constexpr const char* name = "hal9000.parent_keeper";
};

// The keeper's own interface: the Docker events of the parent, the engine's
// ups and downs, and settle_atom to retry a recovery that failed.
using keeper_impl = parent_actor::extend<caf::reacts_to<docker::event>,
                                         caf::reacts_to<docker::engine_status>,
                                         caf::reacts_to<settle_atom>,
                                         caf::reacts_to<decide_atom>>;

// How long a die of the parent waits for the destroy or start that tells
// what happened (the engine sends them within milliseconds of the die).
constexpr std::chrono::milliseconds loss_settle{500};
using keeper_ptr = keeper_impl::stateful_pointer<keeper_state>;

/// One ensure (or the ChromaDB half of a restart) in flight.
struct run_ctx {
  parent_status status;
  chroma_settings chroma;         // what ChromaDB must listen on
  bool may_create_parent = true;  // false for a restart: never the parent
  bool renew_chroma = false;      // the parent's namespace is new: ChromaDB and
                                  // the egress proxy too
  bool recreate_idle = false;     // a daemon's start (ensure_atom): a running
                                  // owner with other settings and no session
                                  // in its namespace is recreated
  fail_fn fail;
};

using ctx_ptr = std::shared_ptr<run_ctx>;

// -- one operation at a time ---------------------------------------------------------

void next_op(keeper_ptr self) {
  auto& st = self->state;
  if (st.pending.empty()) {
    st.busy = false;
    return;
  }
  auto op = std::move(st.pending.front());
  st.pending.pop_front();
  op();
}

/// Runs op now or after the operations before it; op calls its argument
/// when it is finished.
void enqueue(keeper_ptr self, std::function<void(done_fn)> op) {
  auto run = [self, op] { op([self] { next_op(self); }); };
  auto& st = self->state;
  if (st.busy) {
    st.pending.push_back(std::move(run));
    return;
  }
  st.busy = true;
  run();
}

caf::error with_context(const caf::error& err, const std::string& what) {
  return make_error(error_code(err), what + ": " + error_message(err));
}

// -- images -------------------------------------------------------------------------------

/// Continues when image is present or could be pulled; fails naming the
/// recipe otherwise.
void ensure_image(keeper_ptr self, ctx_ptr ctx, std::string image,
                  std::string default_image, std::string variable,
                  std::string recipe, done_fn next) {
  auto& o = self->state.opts;
  auto docker = self->state.docker;
  auto pull_timeout = o.pull_timeout;
  self->request(docker, o.call_timeout, docker::image_inspect_req{image})
    .then(
      [=](docker::image_info&) { next(); },
      [=](caf::error& err) {
        if (error_code(err) != errc::not_found)
          return ctx->fail(with_context(err, "cannot inspect image " + image));
        self
          ->request(docker, pull_timeout,
                    docker::image_pull_req{image, docker::progress_sink_actor{}})
          .then(
            [=](docker::image_info&) {
              ctx->status.notes.push_back("pulled image " + image);
              next();
            },
            [=](caf::error& pull_err) {
              ctx->fail(make_error(errc::not_found,
                                   missing_image_message(image, default_image,
                                                         variable, recipe,
                                                         error_message(pull_err))));
            });
      });
}

// -- volumes ------------------------------------------------------------------------------

void ensure_volumes(keeper_ptr self, ctx_ptr ctx, done_fn next) {
  auto& o = self->state.opts;
  auto docker = self->state.docker;
  auto timeout = o.call_timeout;
  auto labels = labels_for(o, "");
  auto names = volume_names(o);
  ctx->status.volumes.clear();
  for (auto& name : names)
    ctx->status.volumes.push_back({name, volume_state::unknown, {}});
  auto left = std::make_shared<size_t>(names.size());
  auto settle = [=](size_t i, volume_state state, std::string error) {
    ctx->status.volumes[i].state = state;
    ctx->status.volumes[i].error = std::move(error);
    if (--*left == 0)
      next();
  };
  for (size_t i = 0; i < names.size(); ++i) {
    auto name = names[i];
    self->request(docker, timeout, docker::volume_inspect_req{name})
      .then(
        [=](docker::volume_info&) { settle(i, volume_state::exists, {}); },
        [=](caf::error& err) {
          if (error_code(err) != errc::not_found)
            return settle(i, volume_state::missing, error_message(err));
          self->request(docker, timeout, docker::volume_create_req{name, labels})
            .then(
              [=](docker::volume_info&) { settle(i, volume_state::created, {}); },
              [=](caf::error& cerr) {
                settle(i, volume_state::missing,
                       "cannot create volume " + name + ": " + error_message(cerr));
              });
        });
  }
}

// -- helpers on containers ----------------------------------------------------------------

/// Stops (grace period), then removes; a container already gone is fine.
void stop_and_remove(keeper_ptr self, std::string id, std::string name,
                     done_fn next, fail_fn fail) {
  auto& o = self->state.opts;
  auto docker = self->state.docker;
  auto timeout = o.call_timeout;
  auto stop_timeout = o.call_timeout + std::chrono::seconds(o.stop_timeout_s);
  auto remove = [=] {
    self->request(docker, timeout, docker::remove_req{id, true, false})
      .then([=] { next(); },
            [=](caf::error& err) {
              if (error_code(err) == errc::not_found)
                return next();
              fail(with_context(err, "cannot remove " + name));
            });
  };
  // A stop that fails (already stopped) still ends in the forced remove,
  // whose error then says what is wrong.
  self->request(docker, stop_timeout, docker::stop_req{id, o.stop_timeout_s})
    .then([=] { remove(); }, [=](caf::error&) { remove(); });
}

// -- the parent ---------------------------------------------------------------------------

void start_parent(keeper_ptr self, ctx_ptr ctx, std::string id, bool created,
                  done_fn next) {
  auto& o = self->state.opts;
  auto docker = self->state.docker;
  auto timeout = o.call_timeout;
  auto name = parent_name(o);
  auto port = o.chromadb_port;
  auto host_ip = o.host_ip;
  self->state.own_start = true;  // its start event is ours, not a restart from outside
  self->request(docker, timeout, docker::start_req{id})
    .then(
      [=] {
        ctx->status.parent = container_state::running;
        ctx->status.parent_id = id;
        ctx->status.chromadb_port = port;
        ctx->status.notes.push_back((created ? "created " : "started ") + name
                                    + " (CHROMADB_PORT " + std::to_string(port)
                                    + " published on " + host_ip + ")");
        next();
      },
      [=](caf::error& err) {
        auto msg = error_message(err);
        auto out = is_port_in_use(msg)
                     ? make_error(errc::conflict,
                                  "CHROMADB_PORT " + std::to_string(port)
                                    + " is already in use on " + host_ip
                                    + ": set CHROMADB_PORT to a free port")
                     : with_context(err, "cannot start " + name);
        if (!created)
          return ctx->fail(out);
        // A parent we just made and that never ran holds nothing: remove it,
        // so the next ensure starts from scratch with the settings of then.
        self->request(docker, timeout, docker::remove_req{id, true, false})
          .then([=] { ctx->fail(out); }, [=](caf::error&) { ctx->fail(out); });
      });
}

using start_fn = void (*)(keeper_ptr, ctx_ptr, std::string, bool, done_fn);

// Makes sure the image is there, creates the container, then starts it.
void create_container(keeper_ptr self, ctx_ptr ctx, docker::container_spec spec,
                      std::string image, std::string default_image,
                      std::string variable, std::string recipe, start_fn start,
                      done_fn next) {
  auto docker = self->state.docker;
  auto timeout = self->state.opts.call_timeout;
  ensure_image(self, ctx, std::move(image), std::move(default_image),
               std::move(variable), std::move(recipe), [=] {
                 self->request(docker, timeout, docker::create_req{spec})
                   .then(
                     [=](docker::container_created& c) {
                       start(self, ctx, c.id, true, next);
                     },
                     [=](caf::error& err) {
                       ctx->fail(with_context(err, "cannot create " + spec.name));
                     });
               });
}

void create_parent(keeper_ptr self, ctx_ptr ctx, done_fn next) {
  auto& o = self->state.opts;
  create_container(self, ctx, parent_spec(o), o.parent_image, config{}.parent_image,
                   "PARENT_IMAGE", "parent", start_parent, std::move(next));
}

/// The sessions running in the namespace owner's network namespace: this
/// daemon's running worker containers that are not warm (claimed ones carry
/// their session's name). fail when Docker cannot say.
void count_sessions(keeper_ptr self, std::function<void(uint32_t)> done, fail_fn fail) {
  auto& o = self->state.opts;
  self->request(self->state.docker, o.call_timeout,
                docker::list_req{labels_for(o, "worker"), false})
    .then(
      [=](std::vector<docker::container_summary>& xs) {
        uint32_t n = 0;
        for (auto& c : xs)
          if (c.name.rfind(names::warm_prefix, 0) != 0)
            ++n;
        done(n);
      },
      [=](caf::error& err) { fail(with_context(err, "cannot list the sessions")); });
}

void ensure_parent(keeper_ptr self, ctx_ptr ctx, done_fn next) {
  auto& o = self->state.opts;
  auto docker = self->state.docker;
  auto timeout = o.call_timeout;
  auto name = parent_name(o);
  self->request(docker, timeout, docker::inspect_req{name})
    .then(
      [=](docker::container_info& info) {
        auto& o = self->state.opts;
        if (auto why = ownership_problem(o, info); !why.empty())
          return ctx->fail(make_error(errc::conflict, why));
        auto diffs = parent_differences(o, info);
        ctx->status.parent_id = info.id;
        if (info.running) {
          if (diffs.empty()) {
            ctx->status.parent = container_state::running;
            ctx->status.chromadb_port = ctx->chroma.port;
            return next();
          }
          // Never recreated under live sessions: its settings hold until no
          // session runs in it (or the user ends them), ChromaDB's included.
          auto keep = [=](uint32_t sessions) {
            ctx->status.parent = container_state::different_config;
            ctx->status.notes.push_back(difference_note(self->state.opts, diffs, sessions));
            ctx->chroma = chroma_from_env(info.env, ctx->chroma);
            ctx->status.chromadb_port = ctx->chroma.port;
            next();
          };
          auto id = info.id;
          count_sessions(
            self,
            [=](uint32_t sessions) {
              if (sessions > 0 || !ctx->recreate_idle || !ctx->may_create_parent)
                return keep(sessions);
              // Nobody joined its namespace: recreating it cuts nobody off.
              std::string why;
              for (auto& d : diffs)
                why += (why.empty() ? "" : "; ") + d;
              ctx->status.notes.push_back(name + " ran with " + why
                                          + " and no session ran in its network namespace: "
                                            "recreated it with the configured settings");
              ctx->renew_chroma = true;
              stop_and_remove(self, id, name, [=] { create_parent(self, ctx, next); },
                              ctx->fail);
            },
            // Not knowing who runs there, it is kept.
            [=](caf::error err) {
              ctx->status.notes.push_back(error_message(err));
              keep(1);
            });
          return;
        }
        if (!ctx->may_create_parent) {
          ctx->status.parent = container_state::stopped;
          return ctx->fail(make_error(errc::unavailable,
                                      name + " is not running: start it with "
                                             "`claudy daemon restart`"));
        }
        if (diffs.empty())
          return start_parent(self, ctx, info.id, false, next);
        // A stopped parent holds no live namespace: nothing is lost by
        // recreating it with the configuration of now.
        std::string why;
        for (auto& d : diffs)
          why += (why.empty() ? "" : "; ") + d;
        ctx->status.notes.push_back(name + " was stopped with another configuration ("
                                    + why + "): recreated it");
        stop_and_remove(self, info.id, name,
                        [=] { create_parent(self, ctx, next); }, ctx->fail);
      },
      [=](caf::error& err) {
        if (error_code(err) != errc::not_found)
          return ctx->fail(with_context(err, "cannot inspect " + name));
        ctx->status.parent = container_state::missing;
        ctx->status.parent_id.clear();
        if (!ctx->may_create_parent)
          return ctx->fail(make_error(errc::unavailable,
                                      name + " is missing: start it with "
                                             "`claudy daemon restart`"));
        create_parent(self, ctx, next);
      });
}

// -- ChromaDB -----------------------------------------------------------------------------

void start_chroma(keeper_ptr self, ctx_ptr ctx, std::string id, bool created,
                  done_fn next) {
  auto& o = self->state.opts;
  auto docker = self->state.docker;
  auto timeout = o.call_timeout;
  auto name = chroma_name(o);
  self->request(docker, timeout, docker::start_req{id})
    .then(
      [=] {
        ctx->status.chroma = container_state::running;
        ctx->status.chroma_id = id;
        ctx->status.notes.push_back((created ? "created " : "started ") + name);
        next();
      },
      [=](caf::error& err) {
        auto out = with_context(err, "cannot start " + name);
        if (!created)
          return ctx->fail(out);
        self->request(docker, timeout, docker::remove_req{id, true, false})
          .then([=] { ctx->fail(out); }, [=](caf::error&) { ctx->fail(out); });
      });
}

void create_chroma(keeper_ptr self, ctx_ptr ctx, done_fn next) {
  auto& o = self->state.opts;
  create_container(self, ctx, chroma_spec(o, ctx->chroma), o.chromadb_image,
                   config{}.chromadb_image, "CHROMADB_IMAGE", "chromadb", start_chroma,
                   std::move(next));
}

void ensure_chroma(keeper_ptr self, ctx_ptr ctx, done_fn next) {
  auto& o = self->state.opts;
  auto docker = self->state.docker;
  auto timeout = o.call_timeout;
  auto name = chroma_name(o);
  self->request(docker, timeout, docker::inspect_req{name})
    .then(
      [=](docker::container_info& info) {
        auto& o = self->state.opts;
        if (auto why = ownership_problem(o, info); !why.empty())
          return ctx->fail(make_error(errc::conflict, why));
        auto why = chroma_mismatch(o, ctx->chroma, ctx->status.parent_id, info);
        if (why.empty() && ctx->renew_chroma)
          why = "its namespace was the parent's old one";
        if (why.empty()) {
          if (!info.running)
            return start_chroma(self, ctx, info.id, false, next);
          ctx->status.chroma = container_state::running;
          ctx->status.chroma_id = info.id;
          return next();
        }
        // ChromaDB holds no namespace: recreating it cuts nobody off.
        ctx->status.notes.push_back("recreated " + name + " (" + why + ")");
        stop_and_remove(self, info.id, name,
                        [=] { create_chroma(self, ctx, next); }, ctx->fail);
      },
      [=](caf::error& err) {
        if (error_code(err) != errc::not_found)
          return ctx->fail(with_context(err, "cannot inspect " + name));
        create_chroma(self, ctx, next);
      });
}

// -- the filtering proxy (egress policy) ------------------------------------------------------

void start_egress(keeper_ptr self, ctx_ptr ctx, std::string id, bool created,
                  done_fn next) {
  auto& o = self->state.opts;
  auto name = egress_name(o);
  self->request(self->state.docker, o.call_timeout, docker::start_req{id})
    .then(
      [=] {
        ctx->status.notes.push_back((created ? "created " : "started ") + name);
        next();
      },
      [=](caf::error& err) { ctx->fail(with_context(err, "cannot start " + name)); });
}

void create_egress(keeper_ptr self, ctx_ptr ctx, done_fn next) {
  auto& o = self->state.opts;
  // The filtering proxy's log, written by its uid, read by the daemon: a
  // mkdir and a chown in HAL9000_HOME (microseconds, like a worker's slot).
  if (!o.egress_log_dir.empty()) {
    if (auto err = make_dirs(o.egress_log_dir, 0755))
      return ctx->fail(with_context(err, "cannot make " + o.egress_log_dir));
    if (::chown(o.egress_log_dir.c_str(), egress::filter_uid, egress::filter_uid) != 0)
      return ctx->fail(make_error(errc::internal,
                                  "cannot hand " + o.egress_log_dir + " to uid "
                                    + std::to_string(egress::filter_uid)));
    // The old proxy's log moves aside (one rename, atomic; the previous
    // tinyproxy.log.old goes): the new proxy starts a file of its own, and
    // the sandbox reports only what that one logs.
    auto log = o.egress_log_dir + "/tinyproxy.log";
    if (::rename(log.c_str(), (log + ".old").c_str()) != 0 && errno != ENOENT)
      ctx->status.notes.push_back("cannot move " + log + " aside: " + std::strerror(errno));
  }
  create_container(self, ctx, egress_spec(o), o.egress_image, parent_options{}.egress_image,
                   "HAL9000_EGRESS_IMAGE", "egress", start_egress, std::move(next));
}

// Like ChromaDB: it holds no namespace, so it is recreated whenever it does
// not match (a changed HAL9000_EGRESS_ALLOW applies at the next start).
void ensure_egress(keeper_ptr self, ctx_ptr ctx, done_fn next) {
  auto& o = self->state.opts;
  if (o.egress_image.empty())
    return next();
  auto name = egress_name(o);
  self->request(self->state.docker, o.call_timeout, docker::inspect_req{name})
    .then(
      [=](docker::container_info& info) {
        auto& o = self->state.opts;
        if (auto why = ownership_problem(o, info); !why.empty())
          return ctx->fail(make_error(errc::conflict, why));
        auto why = egress_mismatch(o, ctx->status.parent_id, info);
        if (why.empty() && ctx->renew_chroma)
          why = "its namespace was the parent's old one";
        if (why.empty()) {
          if (!info.running)
            return start_egress(self, ctx, info.id, false, next);
          return next();
        }
        ctx->status.notes.push_back("recreated " + name + " (" + why + ")");
        stop_and_remove(self, info.id, name, [=] { create_egress(self, ctx, next); },
                        ctx->fail);
      },
      [=](caf::error& err) {
        if (error_code(err) != errc::not_found)
          return ctx->fail(with_context(err, "cannot inspect " + name));
        create_egress(self, ctx, next);
      });
}

/// The filtering proxy failing is no reason to leave workers off the parent
/// (that would open egress): the ensure goes on with a note, and the packet
/// filter still lets nothing but loopback out (egress fails closed).
void ensure_egress_or_note(keeper_ptr self, ctx_ptr ctx, done_fn next) {
  auto saved = ctx->fail;
  ctx->fail = [ctx, saved, next](caf::error err) {
    auto c = ctx;
    auto n = next;
    auto s = saved;
    c->status.notes.push_back("egress filtering proxy not running: " + error_message(err)
                              + " (workers reach only ChromaDB and the credential proxy)");
    c->fail = s;  // destroys this lambda: only locals from here on
    n();
  };
  ensure_egress(self, ctx, [ctx, saved, next] {
    auto n = next;
    ctx->fail = saved;
    n();
  });
}

// -- status ---------------------------------------------------------------------------------

/// Fills the container fields of out from a fresh inspect of both containers.
void refresh(keeper_ptr self, std::shared_ptr<parent_status> out,
             std::function<void()> next) {
  auto& o = self->state.opts;
  auto docker = self->state.docker;
  auto timeout = o.call_timeout;
  auto pname = parent_name(o);
  auto cname = chroma_name(o);
  auto inspect_chroma = [=](chroma_settings chroma) {
    self->request(docker, timeout, docker::inspect_req{cname})
      .then(
        [=](docker::container_info& info) {
          auto& o = self->state.opts;
          out->chroma_id = info.id;
          out->chroma = info.running ? container_state::running
                                     : container_state::stopped;
          if (auto why = ownership_problem(o, info); !why.empty())
            out->notes.push_back(why);
          else if (auto mm = chroma_mismatch(o, chroma, out->parent_id, info);
                   !mm.empty())
            out->notes.push_back(cname + " does not match (" + mm
                                 + "): the next ensure recreates it");
          next();
        },
        [=](caf::error& err) {
          out->chroma_id.clear();
          if (error_code(err) == errc::not_found) {
            out->chroma = container_state::missing;
          } else {
            out->chroma = container_state::unknown;
            out->notes.push_back("cannot inspect " + cname + ": "
                                 + error_message(err));
          }
          next();
        });
  };
  self->request(docker, timeout, docker::inspect_req{pname})
    .then(
      [=](docker::container_info& info) {
        auto& o = self->state.opts;
        auto chroma = configured_chroma(o);
        out->parent_id = info.id;
        if (auto why = ownership_problem(o, info); !why.empty()) {
          out->parent = info.running ? container_state::running
                                     : container_state::stopped;
          out->notes.push_back(why);
        } else if (!info.running) {
          out->parent = container_state::stopped;
        } else if (auto diffs = parent_differences(o, info); diffs.empty()) {
          out->parent = container_state::running;
        } else {
          out->parent = container_state::different_config;
          chroma = chroma_from_env(info.env, chroma);
          out->chromadb_port = chroma.port;
          // Said with the sessions that run in it now (the start's note
          // counted those of then).
          auto prefix = parent_name(o) + " runs with ";
          auto& n = out->notes;
          n.erase(std::remove_if(n.begin(), n.end(),
                                 [&](const std::string& x) { return x.rfind(prefix, 0) == 0; }),
                  n.end());
          return count_sessions(
            self,
            [=](uint32_t sessions) {
              out->notes.push_back(difference_note(self->state.opts, diffs, sessions));
              inspect_chroma(chroma);
            },
            [=](caf::error err) {
              out->notes.push_back(difference_note(self->state.opts, diffs, 1) + " ("
                                   + error_message(err) + ")");
              inspect_chroma(chroma);
            });
        }
        out->chromadb_port = chroma.port;
        inspect_chroma(chroma);
      },
      [=](caf::error& err) {
        auto chroma = configured_chroma(self->state.opts);
        out->parent_id.clear();
        out->chromadb_port = chroma.port;
        if (error_code(err) == errc::not_found) {
          out->parent = container_state::missing;
        } else {
          out->parent = container_state::unknown;
          out->notes.push_back("cannot inspect " + pname + ": " + error_message(err));
        }
        inspect_chroma(chroma);
      });
}

// -- stop --all -------------------------------------------------------------------------------

/// Stops and removes the container called name if it is ours; says what it
/// did in reply.
void remove_owned(keeper_ptr self, std::string name,
                  std::shared_ptr<parent_stop_reply> reply, done_fn next,
                  fail_fn fail) {
  auto& o = self->state.opts;
  auto docker = self->state.docker;
  self->request(docker, o.call_timeout, docker::inspect_req{name})
    .then(
      [=](docker::container_info& info) {
        if (auto why = ownership_problem(self->state.opts, info); !why.empty())
          return fail(make_error(errc::conflict, why));
        stop_and_remove(self, info.id, name,
                        [=] {
                          reply->done.push_back("stopped and removed " + name);
                          next();
                        },
                        fail);
      },
      [=](caf::error& err) {
        if (error_code(err) != errc::not_found)
          return fail(with_context(err, "cannot inspect " + name));
        reply->done.push_back(name + " was not there");
        next();
      });
}

// -- the behavior -------------------------------------------------------------------------------

// -- watching the parent ----------------------------------------------------------

/// Runs one ensure (volumes, parent, ChromaDB, the egress proxy);
/// renew_chroma recreates ChromaDB and the egress proxy even when they match
/// (their namespace was the old parent's).
void run_ensure(keeper_ptr self, bool renew_chroma,
                std::function<void(caf::expected<parent_status>)> cb,
                bool recreate_idle = false) {
  auto& st = self->state;
  auto ctx = std::make_shared<run_ctx>();
  ctx->recreate_idle = recreate_idle;
  ctx->status.parent_name = parent_name(st.opts);
  ctx->status.chroma_name = chroma_name(st.opts);
  ctx->status.chromadb_port = st.opts.chromadb_port;
  ctx->chroma = configured_chroma(st.opts);
  ctx->renew_chroma = renew_chroma;
  auto finished = std::make_shared<bool>(false);
  ctx->fail = [=](caf::error err) mutable {
    if (*finished)
      return;
    *finished = true;
    ctx->status.error = error_message(err);
    self->state.last = ctx->status;
    cb(std::move(err));
  };
  auto succeed = [=]() mutable {
    if (*finished)
      return;
    *finished = true;
    self->state.last = ctx->status;
    cb(ctx->status);
  };
  ensure_volumes(self, ctx, [=] {
    ensure_parent(self, ctx, [=] {
      ensure_chroma(self, ctx, [=] { ensure_egress_or_note(self, ctx, succeed); });
    });
  });
}

void add_incident(keeper_ptr self, std::string what) {
  auto& in = self->state.incidents;
  in.push_back(event_time(std::chrono::system_clock::now()) + ": " + std::move(what));
  while (in.size() > 10)
    in.pop_front();
}

void publish(keeper_ptr self, const char* kind, std::string reason,
             std::map<std::string, std::string> details) {
  auto& st = self->state;
  if (!st.hub)
    return;
  lifecycle_event e;
  e.kind = kind;
  e.reason = std::move(reason);
  e.container_id = st.last.parent_id;
  e.details = std::move(details);
  e.details["parent"] = parent_name(st.opts);
  self->send(st.hub, std::move(e));
}

// Brings the parent back with the daemon's configuration, then ChromaDB in
// its new namespace; tells the watcher. A failure is retried in 2 s.
void recover(keeper_ptr self, done_fn done) {
  run_ensure(self, true, [=](caf::expected<parent_status> r) {
    auto& st = self->state;
    auto name = parent_name(st.opts);
    if (!r) {
      add_incident(self, "bringing " + name + " back failed: " + error_message(r.error())
                           + " (retrying)");
      self->delayed_send(self, std::chrono::seconds(2), settle_atom::value);
      return done();
    }
    st.lost = false;
    std::string how;
    for (auto& n : r->notes)
      how += (how.empty() ? "" : "; ") + n;
    add_incident(self, name + " is back" + (how.empty() ? "" : " (" + how + ")"));
    publish(self, event_kinds::parent_restored, name + " runs again" + (how.empty() ? "" : ": " + how),
            {{"chromadb", to_string(r->chroma)}});
    if (st.watcher)
      self->send(st.watcher, parent_change{true, name + " runs again"});
    done();
  });
}

// The parent is gone or was restarted under the daemon: every container that
// joined its namespace is cut off. Said at once; recovered in order.
void lose(keeper_ptr self, std::string why) {
  auto& st = self->state;
  if (st.lost)
    return;
  st.lost = true;
  st.lost_id = st.last.parent_id;
  st.refined = false;
  st.own_start = false;
  add_incident(self, why + ": every session that joined its network namespace is cut off "
                           "(restore each with `claudy restart NAME`)");
  publish(self, event_kinds::parent_lost, why, {});
  if (st.watcher)
    self->send(st.watcher, parent_change{false, why});
  enqueue(self, [=](done_fn done) { recover(self, done); });
}

// An event after the announced loss says more about it: said again, in
// those words, to the watcher and the events.
void refine(keeper_ptr self, std::string why) {
  auto& st = self->state;
  st.refined = true;
  add_incident(self, why);
  publish(self, event_kinds::parent_lost, why, {{"refined", "true"}});
  if (st.watcher)
    self->send(st.watcher, parent_change{false, why});
}

// After the engine's event stream came back: was the parent restarted or
// removed while it was down?
void check_after_engine_restart(keeper_ptr self) {
  auto& st = self->state;
  if (st.own_stop || st.last.parent_id.empty())
    return;
  auto known = st.last.parent_id;
  auto name = parent_name(st.opts);
  self->request(st.docker, st.opts.call_timeout, docker::inspect_req{name})
    .then(
      [=](docker::container_info& info) {
        if (info.id != known)
          lose(self, name + " was replaced while the Docker engine was down");
        else if (!info.running)
          lose(self, name + " was stopped when the Docker engine restarted (exit code "
                       + std::to_string(info.exit_code) + ")");
      },
      [=](caf::error& err) {
        if (error_code(err) == errc::not_found)
          lose(self, name + " was removed while the Docker engine was down");
      });
}

keeper_impl::behavior_type keeper(keeper_ptr self, parent_options opts,
                                   docker::docker_actor docker) {
  auto& st = self->state;
  st.opts = std::move(opts);
  st.docker = docker;
  st.last.parent_name = parent_name(st.opts);
  st.last.chroma_name = chroma_name(st.opts);
  st.last.chromadb_port = st.opts.chromadb_port;
  for (auto& v : volume_names(st.opts))
    st.last.volumes.push_back({v, volume_state::unknown, {}});
  // Reused, not duplicated: the monitor's restarter for our ChromaDB.
  st.restarter = chroma::spawn_docker_restarter(self->system(), docker,
                                                chroma_name(st.opts),
                                                st.opts.stop_timeout_s, st.opts.name_prefix);
  // Without the docker actor there is nothing to keep. Monitor, not link: the
  // docker actor is shared and must not die with us.
  self->monitor(docker);
  self->set_down_handler([=](caf::down_msg& dm) {
    if (dm.source == self->state.docker.address())
      self->quit(dm.reason);
  });
  return {
    [=](ensure_atom) -> caf::typed_response_promise<parent_status> {
      auto rp = self->make_response_promise<parent_status>();
      enqueue(self, [=](done_fn done) mutable {
        run_ensure(
          self, false,
          [=](caf::expected<parent_status> r) mutable {
            if (r)
              rp.deliver(std::move(*r));
            else
              rp.deliver(std::move(r.error()));
            done();
          },
          true);
      });
      return rp;
    },
    [=](parent_watch_req& req) {
      auto& st = self->state;
      st.watcher = std::move(req.watcher);
      st.hub = std::move(req.hub);
      if (st.watching)
        return;
      st.watching = true;
      self->request(st.docker, st.opts.call_timeout,
                    docker::subscribe_req{caf::actor_cast<docker::event_sink_actor>(self),
                                          labels_for(st.opts, "parent")})
        .then([] {},
              [self](caf::error& err) {
                add_incident(self, "cannot watch " + parent_name(self->state.opts)
                                     + " (Docker events): " + error_message(err));
              });
    },
    [=](docker::event& e) {
      auto& st = self->state;
      auto name = parent_name(st.opts);
      if (st.own_stop)
        return;
      // Announced already: what follows may say more (the engine can take
      // longer than loss_settle to remove or restart it under load).
      if (st.lost) {
        if (st.refined || e.id != st.lost_id)
          return;
        if (e.action == "destroy")
          refine(self, name + " was removed from outside");
        else if (e.action == "start" && !st.own_start)
          refine(self, name + " was restarted from outside");
        return;
      }
      // Only the parent that runs under us: the old one of a recreation of
      // our own is not a loss.
      if (st.last.parent_id.empty() || e.id != st.last.parent_id)
        return;
      if (e.action == "die" && !st.loss_pending) {
        st.loss_pending = true;
        st.loss_words = name + " stopped from outside (exit code "
                        + std::to_string(e.exit_code) + ")";
        self->delayed_send(self, loss_settle, decide_atom::value);
      } else if (e.action == "destroy") {
        st.loss_pending = false;
        lose(self, name + " was removed from outside");
      } else if (e.action == "start" && st.loss_pending) {
        st.loss_pending = false;
        lose(self, name + " was restarted from outside");
      }
    },
    [=](decide_atom) {
      auto& st = self->state;
      if (!st.loss_pending)
        return;
      st.loss_pending = false;
      lose(self, st.loss_words);
    },
    [=](docker::engine_status& es) {
      auto& st = self->state;
      // engine.down / engine.up events come from the runtime's engine watch.
      if (!es.up) {
        st.engine_down = true;
        return;
      }
      if (!st.engine_down)
        return;  // the first "connected"
      st.engine_down = false;
      // Events of the parent may have been missed: ask the engine.
      check_after_engine_restart(self);
    },
    [=](settle_atom) {
      if (self->state.lost && !self->state.own_stop)
        enqueue(self, [=](done_fn done) { recover(self, done); });
    },
    [=](status_atom) -> caf::typed_response_promise<parent_status> {
      auto rp = self->make_response_promise<parent_status>();
      auto out = std::make_shared<parent_status>(self->state.last);
      out->incidents.assign(self->state.incidents.begin(), self->state.incidents.end());
      refresh(self, out, [=]() mutable { rp.deliver(*out); });
      return rp;
    },
    [=](parent_stop_req& req) -> caf::typed_response_promise<parent_stop_reply> {
      auto rp = self->make_response_promise<parent_stop_reply>();
      auto all = req.all;
      enqueue(self, [=](done_fn done) mutable {
        auto& st = self->state;
        auto reply = std::make_shared<parent_stop_reply>();
        auto pname = parent_name(st.opts);
        auto cname = chroma_name(st.opts);
        if (all)
          st.own_stop = true;
        if (!all) {
          reply->done.push_back(pname + " and " + cname
                                + " left running (stop --all stops them)");
          rp.deliver(*reply);
          return done();
        }
        fail_fn fail = [=](caf::error err) mutable {
          rp.deliver(std::move(err));
          done();
        };
        // ChromaDB and the filtering proxy first: they live in the parent's namespace.
        auto ename = egress_name(st.opts);
        remove_owned(self, ename, reply, [=]() mutable {
        remove_owned(self, cname, reply, [=]() mutable {
          remove_owned(self, pname, reply, [=]() mutable {
            auto& last = self->state.last;
            last.parent = last.chroma = container_state::missing;
            last.parent_id.clear();
            last.chroma_id.clear();
            reply->done.push_back("volumes kept");
            rp.deliver(*reply);
            done();
          }, fail);
        }, fail);
        }, fail);
      });
      return rp;
    },
    [=](chroma::restart_req& req) -> caf::typed_response_promise<void> {
      auto rp = self->make_response_promise<void>();
      enqueue(self, [=](done_fn done) mutable {
        auto& st = self->state;
        // typed_response_promise<void> has no deliver() in 0.17.
        auto ok = [=]() mutable {
          static_cast<caf::response_promise&>(rp).deliver(caf::unit);
          done();
        };
        auto timeout = st.opts.call_timeout * 2
                       + std::chrono::seconds(st.opts.stop_timeout_s);
        self->request(st.restarter, timeout, req)
          .then([=]() mutable { ok(); },
                [=](caf::error& err) mutable {
                  if (error_code(err) != errc::not_found) {
                    rp.deliver(err);
                    return done();
                  }
                  // Gone: recreate it in the running parent's namespace.
                  auto ctx = std::make_shared<run_ctx>();
                  ctx->may_create_parent = false;
                  ctx->chroma = configured_chroma(self->state.opts);
                  ctx->fail = [=](caf::error e) mutable {
                    rp.deliver(std::move(e));
                    done();
                  };
                  ensure_parent(self, ctx, [=]() mutable {
                    ensure_chroma(self, ctx, ok);
                  });
                });
      });
      return rp;
    },
  };
}

} // namespace

parent_actor spawn_parent_keeper(caf::actor_system& sys, parent_options opts,
                                 docker::docker_actor docker) {
  return caf::actor_cast<parent_actor>(sys.spawn(keeper, std::move(opts), std::move(docker)));
}

} // namespace hal9000
