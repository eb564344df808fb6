#include "daemon/runtime.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/chroma_monitor.hpp"
#include "actors/cli_bridge.hpp"
#include "actors/docker_actor.hpp"
#include "actors/event_hub.hpp"
#include "actors/parent_keeper.hpp"
#include "actors/parent_spec.hpp"
#include "actors/pool_scaler.hpp"
#include "actors/sandbox.hpp"
#include "actors/session_reconciler.hpp"
#include "actors/session_rules.hpp"
#include "actors/session_store.hpp"
#include "actors/sessions.hpp"
#include "actors/terminals.hpp"
#include "actors/worker_recorder.hpp"
#include "messages/error.hpp"
#include "runtime/atomic_file.hpp"
#include "runtime/egress.hpp"
#include "runtime/late_bind.hpp"
#include "runtime/limits.hpp"
#include "runtime/logging.hpp"
#include "runtime/mcp_config.hpp"
#include "runtime/names.hpp"
#include "runtime/volumes.hpp"
#include "runtime/worker_image.hpp"

namespace hal9000 {

namespace {

// The worker image's label naming where its MCP servers are ("" when the
// image has none); an error when the image could not be inspected (then
// nobody knows). Blocks: called at start only.
caf::expected<std::string> image_mcp_label(caf::actor_system& sys,
                                           const docker::docker_actor& docker,
                                           const std::string& image) {
  caf::expected<std::string> label{std::string{}};
  caf::scoped_actor self{sys};
  self->request(docker, std::chrono::seconds(10), docker::image_inspect_req{image})
    .receive(
      [&](docker::image_info& info) {
        if (auto i = info.labels.find(mcp::image_label); i != info.labels.end())
          label = i->second;
      },
      [&](caf::error& err) { label = err; });
  return label;
}

// Claude Code's managed MCP configuration for every worker: written into
// HAL9000_HOME/mcp and bound read-only at /etc/claude-code/managed-mcp.json.
// Only for an image that carries the servers (a managed file takes every
// other MCP server away from Claude Code), and only an engine on this host
// can bind a file of ours; otherwise say why.
void add_managed_mcp(const config& cfg, const mcp::settings& s, const std::string& image,
                     const caf::expected<std::string>& image_label,
                     std::vector<docker::mount_spec>& mounts,
                     std::vector<std::string>& notes) {
  if (!cfg.managed_mcp) {
    notes.push_back("MCP servers: not configured for Claude Code in workers (HAL9000_MANAGED_MCP=false)");
    return;
  }
  if (!image_label) {
    notes.push_back("MCP servers: not configured for Claude Code in workers: the labels of "
                    + image + " are not known (" + error_message(image_label.error()) + ")");
    return;
  }
  if (image_label->empty()) {
    notes.push_back("MCP servers: not configured for Claude Code in workers: " + image
                    + " does not carry hal9000's MCP servers (label " + mcp::image_label
                    + "; hal9000/worker:local does)");
    return;
  }
  if (cfg.docker_host.rfind("unix://", 0) != 0) {
    notes.push_back("MCP servers: not configured for Claude Code in workers: the engine ("
                    + cfg.docker_host + ") cannot bind a file of this host");
    return;
  }
  auto path = mcp::write_managed_mcp(cfg.home, s, notes);
  if (!path) {
    auto msg = "MCP servers: not configured for Claude Code in workers: "
               + error_message(path.error());
    log()->error("{}", msg);
    notes.push_back(msg);
    return;
  }
  // As the engine sees it (HAL9000_HOST_HOME when the daemon runs in its container).
  mounts.push_back(docker::mount_spec{"bind", engine_path(cfg, *path), mcp::container_config,
                                      true, ""});
}

using namespace std::chrono_literals;

// LAZY_IMAGE_PULL: pulls in the background and starts the pool once the
// image is there.
void pull_then_start(caf::actor_system& sys, docker::docker_actor docker, pool_actor pool,
                     std::string image, bool start) {
  auto sink = spawn_pull_logger(sys, image);
  sys.spawn([docker, pool, image, start, sink](caf::event_based_actor* self) {
    log()->info("pulling worker image {} in the background", image);
    self->request(docker, 30min, docker::image_pull_req{image, sink})
      .then(
        [self, pool, image, start](docker::image_info&) {
          log()->info("pulled worker image {}", image);
          if (start)
            self->request(pool, 30s, start_atom::value)
              .then([](pool_status&) {},
                    [](caf::error& err) {
                      log()->error("cannot start the pool: {}", error_message(err));
                    });
        },
        [image](caf::error& err) {
          log()->error("cannot pull worker image {}: {} (build hal9000/worker:local with "
                       "scripts/build-images worker and set WORKER_IMAGE)",
                       image, error_message(err));
        });
  });
}

// The engine's event stream going down and coming back (a Docker engine
// restart) as engine.down / engine.up events; what was found then follows
// from the pool and the keeper as worker.* / session.* / parent.* events.
void spawn_engine_watch(caf::actor_system& sys, docker::docker_actor docker,
                        event_hub_actor hub) {
  auto watch = sys.spawn([hub, docker](docker::event_sink_actor::pointer self)
                           -> docker::event_sink_actor::behavior_type {
    // Lives as long as the docker actor does.
    self->monitor(docker);
    self->set_down_handler([self](caf::down_msg&) { self->quit(); });
    auto down = std::make_shared<bool>(false);
    return {
      [](docker::event&) {},
      [self, hub, down](docker::engine_status& s) {
        if (s.up == !*down)
          return;  // no change (the first "connected")
        *down = !s.up;
        lifecycle_event e;
        e.kind = s.up ? event_kinds::engine_up : event_kinds::engine_down;
        e.reason = s.reason;
        e.details["reason"] = s.reason;
        self->send(hub, std::move(e));
      },
    };
  });
  // A label no container carries: engine ups and downs only.
  caf::anon_send(docker, docker::subscribe_req{watch, {{"hal9000.engine-watch", "-"}}});
}

// Between the keeper and the pool: the parent's fate, in order. A loss goes
// to the pool at once (sessions cut off, warm workers removed, refilling
// paused). A parent back in a new namespace first gets the sandbox again
// (credential proxy and packet filter live in the namespace: without them a
// new worker would reach no model and its egress would be unfiltered), then
// the pool refills into it. A sandbox that cannot attach is logged, as at
// start, and the pool refills anyway (sessions then get no placeholder).
parent_watcher_actor spawn_parent_relay(caf::actor_system& sys, pool_actor pool,
                                        sandbox_actor sandbox, docker::docker_actor docker,
                                        std::string parent_name) {
  return sys.spawn([pool, sandbox, docker, parent_name](
                     parent_watcher_actor::pointer self) -> parent_watcher_actor::behavior_type {
    // Lives as long as the pool does: its handles must not keep the sandbox
    // or the docker actor from ending at shutdown.
    self->monitor(pool);
    self->set_down_handler([self](caf::down_msg&) { self->quit(); });
    return {
      [=](parent_change& c) {
        if (!c.up || !sandbox || !docker || parent_name.empty()) {
          self->send(pool, std::move(c));
          return;
        }
        auto to_pool = [self, pool, c]() { self->send(pool, c); };
        self->request(docker, 30s, docker::inspect_req{parent_name})
          .then(
            [=](docker::container_info& info) {
              if (!info.running || info.pid <= 0) {
                log()->error("sandbox not attached again: {} is not running", parent_name);
                return to_pool();
              }
              self->request(sandbox, 60s, attach_atom::value, info.pid)
                .then(
                  [=](sandbox_status&) {
                    log()->info("sandbox attached to the namespace of {} again", parent_name);
                    to_pool();
                  },
                  [=](caf::error& err) {
                    log()->error("sandbox not attached again: {} (sessions get no "
                                 "placeholder; egress is not filtered)",
                                 error_message(err));
                    to_pool();
                  });
            },
            [=](caf::error& err) {
              log()->error("sandbox not attached again: cannot inspect {}: {}", parent_name,
                           error_message(err));
              to_pool();
            });
      },
    };
  });
}

// Docker against the store and the slots, before anything new is created:
// adopts the sessions that still run, ends the ones whose container is gone,
// removes what provably served no session. Waits from the caller's thread.
reconcile_report reconcile_at_start(caf::actor_system& sys, const config& cfg,
                                    const runtime_options& opts, runtime_handles& rt) {
  reconcile_options ro;
  ro.home = cfg.home;
  ro.host_home = cfg.host_home;
  ro.daemon_id = cfg.daemon_id;
  ro.extra_labels = opts.extra_labels;
  if (cfg.manage_parent) {
    auto names = sessions_options_from(cfg, namespace_owner_name(cfg));
    ro.parent = names.parent;
    ro.netns = names.netns;
  }
  // It reads the store; the sessions actor records what it adopts or ends.
  auto reconciler = spawn_reconciler(sys, ro, rt.docker, rt.store, rt.sessions, rt.events);
  reconcile_report report;
  caf::scoped_actor self{sys};
  // Each step has its own Docker or store timeout; this bounds the whole.
  self->request(reconciler, 5min, reconcile_atom::value)
    .receive([&](reconcile_report& r) { report = std::move(r); },
             [&](caf::error& err) {
               report.errors.push_back("reconciliation did not finish: " + error_message(err));
               self->send_exit(reconciler, caf::exit_reason::user_shutdown);
             });
  return report;
}

// WORKER_CPUS and WORKER_MEMORY against what the Docker host can give one
// container: the engine's /info (NCPU, MemTotal: the host's figures even when
// hal9000d runs in its container or the engine in a VM), this machine's when
// the engine does not answer. The same check as a start's --cpus/--memory
// (check_host_capacity). invalid_argument naming the variable, its value and
// the host's figure. Blocks: called at start only.
caf::error check_worker_limits(caf::actor_system& sys, const docker::docker_actor& docker,
                               const config& cfg) {
  auto host = local_host_capacity();
  caf::scoped_actor self{sys};
  self->request(docker, 10s, docker::info_req{})
    .receive([&](std::string& info) { host = capacity_from_docker_info(info, host); },
             [](caf::error&) {});
  auto limits = worker_limits(cfg);
  if (auto err = validate_limits(limits))
    return err;
  return check_host_capacity(limits, host,
                             {"WORKER_CPUS=", "WORKER_MEMORY=", true, true,
                              ": every worker would be refused; set it to at most that"});
}

} // namespace

caf::expected<sandbox_status> attach_sandbox(caf::actor_system& sys, const runtime_handles& rt,
                                             const std::string& parent_name) {
  if (!rt.sandbox || !rt.docker)
    return make_error(errc::unavailable, "no sandbox or docker actor");
  caf::scoped_actor self{sys};
  caf::expected<sandbox_status> out{sandbox_status{}};
  self->request(rt.docker, 30s, docker::inspect_req{parent_name})
    .receive(
      [&](docker::container_info& info) {
        if (!info.running || info.pid <= 0) {
          out = make_error(errc::unavailable, parent_name + " is not running");
          return;
        }
        self->request(rt.sandbox, 60s, attach_atom::value, info.pid)
          .receive([&](sandbox_status& st) { out = std::move(st); },
                   [&](caf::error& err) { out = std::move(err); });
      },
      [&](caf::error& err) { out = std::move(err); });
  return out;
}

caf::expected<runtime_handles>
spawn_runtime(caf::actor_system& sys, const config& cfg, runtime_options opts) {
  if (auto err = validate(cfg))
    return err;
  runtime_handles rt;
  rt.home = cfg.home;
  rt.metrics = std::make_shared<metrics::daemon_metrics>();
  auto dopts = docker::options_from(cfg);
  dopts.observe = [m = rt.metrics](const char* op, double ms, const caf::error& err) {
    m->docker_latency.with({op}).observe(ms);
    if (err)
      m->docker_errors.with({to_string(error_code(err))}).inc();
  };
  rt.docker = docker::spawn_docker(sys, std::move(dopts));
  if (auto err = check_worker_limits(sys, rt.docker, cfg)) {
    auto handles = rt;
    shutdown_runtime(sys, handles, false);
    return err;
  }
  rt.events = spawn_event_hub(sys, event_hub_options{256, rt.metrics});
  rt.store = spawn_session_store(sys, cfg.home);
  // The one writer of session records, before anything else writes one: it
  // records the start-up reconciliation; the sandbox (which reports usage to
  // it) follows at once, the pool (spawned after the reconciliation) and the
  // parent with (put, pool, parent) below.
  rt.sessions = spawn_sessions(sys, sessions_options_from(cfg, ""), pool_actor{}, rt.store,
                               rt.docker, sandbox_actor{}, rt.events);
  {
    auto so = sandbox_options_from(cfg);
    so.metrics = rt.metrics;
    so.enforce_egress = cfg.manage_parent;
    rt.sandbox = spawn_sandbox(sys, std::move(so), rt.store, rt.sessions, rt.events);
    caf::anon_send(rt.sessions, caf::put_atom::value, rt.sandbox);
  }
  // Worker records go to the store; session ends and notes to the sessions actor.
  rt.recorder = spawn_worker_recorder(sys, rt.store, rt.sessions, rt.events);
  rt.reconciled = reconcile_at_start(sys, cfg, opts, rt);
  for (auto& e : rt.reconciled.errors)
    rt.notes.push_back("start-up reconciliation: " + e);
  // An earlier run left something behind (sessions to adopt or end, workers
  // or slots to remove): this start is a restart. A clean stop leaves none.
  if (!rt.reconciled.actions.empty() || !rt.reconciled.adopted.empty())
    rt.metrics->daemon_restarts.with({}).inc();

  auto image = choose_worker_image(sys, rt.docker, cfg);
  if (!image) {
    auto handles = rt;
    shutdown_runtime(sys, handles, false);
    return image.error();
  }
  rt.notes.insert(rt.notes.end(), image->notes.begin(), image->notes.end());

  // The parent first: workers join its network namespace when it runs.
  auto chroma_opts = chroma::options_from(cfg);
  std::string network_mode = "bridge";
  mcp::settings mcp_settings{mcp::worker_chroma_host(cfg.chromadb_host), cfg.chromadb_port};
  if (cfg.manage_parent) {
    auto po = parent_options_from(cfg);
    po.labels = opts.extra_labels;
    rt.parent = spawn_parent_keeper(sys, po, rt.docker);
    caf::scoped_actor self{sys};
    std::string parent_up;
    self->request(rt.parent, 10min, ensure_atom::value)
      .receive(
        [&](parent_status& st) {
          if (st.parent == container_state::running
              || st.parent == container_state::different_config) {
            network_mode = "container:" + st.parent_name;
            chroma_opts.url = "http://127.0.0.1:" + std::to_string(st.chromadb_port);
            parent_up = st.parent_name;
            // Where the parent's ChromaDB really is (a parent kept from an
            // earlier run may publish another port than configured).
            mcp_settings.chroma_port = st.chromadb_port;
          }
        },
        [&](caf::error& err) {
          // Sessions work without the parent; ChromaDB does not. Say so.
          auto msg = "parent not running: " + error_message(err)
                     + " (workers use the bridge network; ChromaDB is unavailable)";
          log()->error("{}", msg);
          rt.notes.push_back(msg);
        });
    // The credential proxy and the egress filter live in its namespace.
    if (!parent_up.empty()) {
      auto sb = attach_sandbox(sys, rt, parent_up);
      if (!sb) {
        auto msg = "sandbox not attached: " + error_message(sb.error())
                   + " (sessions get no placeholder; egress is not filtered)";
        log()->error("{}", msg);
        rt.notes.push_back(msg);
      }
    }
  }

  // Memory Bank and plugins in every worker; without a keeper, made here.
  auto shared = parent_options_from(cfg);
  std::vector<volume_report> volumes;
  if (!cfg.manage_parent) {
    shared.labels = opts.extra_labels;
    volumes = ensure_volumes_blocking(sys, rt.docker, {membank_volume(shared), plugins_volume(shared)},
                                      labels_for(shared, ""), 30s);
  }

  auto po = pool_options_from(cfg);
  po.volumes = worker_volumes(shared);
  add_managed_mcp(cfg, mcp_settings, image->image,
                  image->pull_in_background
                    ? caf::expected<std::string>{make_error(
                        errc::unavailable, "LAZY_IMAGE_PULL: still being pulled")}
                    : image_mcp_label(sys, rt.docker, image->image),
                  po.volumes, rt.notes);
  po.image = image->image;
  po.extra_labels = opts.extra_labels;
  po.network_mode = network_mode;
  po.adopt = rt.reconciled.adopted;
  // pool/pool-manager.pid holds our pid while the pool refills (the store
  // owns the files under HAL9000_HOME).
  po.on_running = [store = rt.store](bool running) {
    caf::anon_send(store, caf::put_atom::value, pid_atom::value, running);
  };
  if (image->pull_in_background)
    po.enabled = false;
  if (auto err = validate(po)) {
    auto handles = rt;
    shutdown_runtime(sys, handles, false);
    return err;
  }
  rt.pool = spawn_pool(sys, po, rt.docker, rt.recorder);
  auto parent = network_mode.rfind("container:", 0) == 0 ? network_mode.substr(10)
                                                         : std::string{};
  caf::anon_send(rt.sessions, caf::put_atom::value, rt.pool, parent);
  rt.end_all_budget = pool_release_budget(po) + 10s;
  spawn_engine_watch(sys, rt.docker, rt.events);
  // The parent's fate reaches the pool (sessions cut off, warm workers
  // replaced; through the relay, which attaches the sandbox to a new parent
  // first) and the events at once.
  if (rt.parent)
    caf::anon_send(rt.parent,
                   parent_watch_req{spawn_parent_relay(sys, rt.pool, rt.sandbox, rt.docker,
                                                       parent_name(parent_options_from(cfg))),
                                    rt.events});
  if (image->pull_in_background)
    pull_then_start(sys, rt.docker, rt.pool, image->image, cfg.enable_pool_manager);

  if (opts.with_chroma_monitor) {
    // The keeper restarts ChromaDB (recreating it in the parent's namespace
    // when it is gone); without a keeper there is nothing to restart.
    rt.chroma = chroma::spawn_monitor(sys, chroma_opts, rt.parent);
    caf::anon_send(rt.chroma, chroma::subscribe_req{rt.events});
    // A killed ChromaDB is noticed by its die event, not the next tick.
    if (rt.parent)
      chroma::spawn_die_watch(sys, rt.docker,
                              {{names::label_role, "chromadb"},
                               {names::label_daemon, cfg.daemon_id}},
                              rt.chroma);
  }
  if (opts.with_bridge) {
    bridge_options bo;
    bo.cfg = cfg;
    bo.token = opts.token;
    // Who is who: root's token, local users' and TLS clients' (runtime/user_tokens.hpp).
    bo.tokens = std::make_shared<user_tokens>(opts.token);
    for (auto& n : bo.tokens->load(cfg.home))
      rt.notes.push_back(n);
    bo.volumes = std::move(volumes);
    bo.listen = opts.listen;
    bo.tls = opts.tls;
    bo.on_stop = opts.on_stop;
    bo.notes = rt.notes;
    terminals_options to;
    to.engine = docker::endpoint{cfg.docker_host, cfg.docker_tls_verify, cfg.docker_cert_path};
    to.working_dir = late_bind::container_workspace;
    bo.terminal_budget = terminal_open_budget(to);
    rt.terminals = spawn_terminals(sys, std::move(to), rt.store);
    rt.bridge = spawn_cli_bridge(sys, std::move(bo),
                                 bridge_peers{rt.docker, rt.pool, rt.store, rt.chroma,
                                              rt.events, rt.parent, rt.sessions,
                                              rt.terminals, rt.sandbox});
  }
  return rt;
}

void shutdown_runtime(caf::actor_system& sys, runtime_handles& rt, bool all) {
  caf::scoped_actor self{sys};
  auto stop = [&](const auto& handle) {
    if (!handle)
      return;
    self->monitor(handle);
    self->send_exit(handle, caf::exit_reason::user_shutdown);
    self->receive([](const caf::down_msg&) {});
  };
  // Front to back: nothing new comes in while the owners wind down.
  stop(rt.bridge);
  stop(rt.terminals);  // open terminals let go of their execs
  stop(rt.chroma);
  if (rt.pool) {
    // Warm workers never outlive the daemon; sessions do unless all.
    self->request(rt.pool, 60s, stop_atom::value)
      .receive([](pool_status&) {},
               [](caf::error& err) {
                 log()->warn("pool stop at shutdown: {}", error_message(err));
               });
    if (all && rt.sessions) {
      end_reason with_daemon;
      with_daemon.kind = end_kind::stopped_with_daemon;
      self->request(rt.sessions, rt.end_all_budget, shutdown_atom::value, with_daemon)
        .receive([](std::vector<std::string>& done) {
                   for (auto& d : done)
                     log()->info("daemon stop --all: ended {}", d);
                 },
                 [](caf::error& err) {
                   log()->warn("ending sessions at shutdown: {}", error_message(err));
                 });
    }
  }
  stop(rt.pool);
  if (rt.store)  // the pool is gone: so is its pid file
    self->request(rt.store, 10s, caf::put_atom::value, pid_atom::value, false)
      .receive([] {}, [](caf::error&) {});
  // Every session ended: nothing is bound below mounts/ any more, and the
  // rshared mount point itself goes, so HAL9000_HOME can be removed. A
  // session that could not be ended keeps its mounts.
  if (all && rt.store && !rt.home.empty()) {
    bool live = true;
    self->request(rt.store, 10s, list_atom::value)
      .receive(
        [&](std::vector<session_record>& xs) {
          live = std::any_of(xs.begin(), xs.end(),
                             [](const session_record& s) { return is_live(s.state); });
        },
        [](caf::error&) {});
    if (!live)
      if (auto err = late_bind::unmount_all_under(late_bind::mounts_dir(rt.home)))
        log()->warn("unmounting {}: {}", late_bind::mounts_dir(rt.home), error_message(err));
  }
  if (rt.parent && all)
    self->request(rt.parent, 120s, parent_stop_req{true})
      .receive([](parent_stop_reply&) {},
               [](caf::error& err) {
                 log()->warn("parent stop at shutdown: {}", error_message(err));
               });
  stop(rt.parent);
  stop(rt.recorder);
  stop(rt.sandbox);
  // After the recorder and the sandbox: the ends and the usage they report
  // are the sessions actor's to write.
  stop(rt.sessions);
  stop(rt.store);
  stop(rt.events);
  stop(rt.docker);
  rt = runtime_handles{};
}

} // namespace hal9000
