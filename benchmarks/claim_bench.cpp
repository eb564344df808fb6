// Claim latency against the real engine (hal9000/test:busybox), one JSON
// object per line:
//   mount_bind            one mount(2) bind of a project onto a slot
//   unmount               umount2(2) of that bind (on a detached helper)
//   slot_make/remove      a slot's directories and FIFOs (make: inline on the
//                         worker; remove: rmdir waits ~4 ms, on a detached helper)
//   bind_user             late_bind::bind_user: a user's Claude home and
//                         read-only secrets onto a slot (5 mount(2) calls)
//   mount_mapped          the project id-mapped and recursive onto a slot
//                         (open_tree, mount_setattr, move_mount), namespace cached
//   bind_workdir          that tree again at projects/<key> (mkdir + mount)
//   bind_user_mapped      the home and secrets id-mapped (no stage)
//   userns_first_use      a user namespace for a new uid:gid (once per mapping)
//   warm_claim            request -> reply (project mounted, command acked;
//                         the rename to the session follows the reply, as the
//                         daemon does by default), pool quiet (back at MIN
//                         before each claim), no user
//   warm_claim_user       the same claims interleaved in the same run, with a
//                         user: Claude home and secrets late-bound too
//                         (delta_p50 against warm_claim; target <= 2 ms)
//   warm_claim_refilling  the same while the pool refills (claims back to back)
//   warm_claim_rename_before_reply  quiet pool, rename_before_reply=true
//                         (the reply waits for dockerd's rename: what
//                         warm_claim cost before the rename moved after it)
//   cold_claim            create+start with the same mount, same run
//   replacement_start     claim request -> its replacement worker spawned
//   replacement_warm      claim request -> that replacement warm
//   burst20_total         20 concurrent claims, MIN=MAX=5: until all replied
//   burst20_back_to_min   ... until the pool is back at MIN warm
//   daemon.<mode>.warm_claim  warm claims through hal9000d (the session start
//                         request of `claudy PATH --detach`), as the pool in
//                         the daemon measures them (the session record's
//                         claim_latency_ms: claim received -> command
//                         started), mode host (a host process, the build
//                         tree's hal9000d) and container (in its parent
//                         container: PARENT_IMAGE's hal9000d), both daemons
//                         up at once, their claims in turn, pools quiet; the
//                         container's with the host's as baseline. As root's
//                         claims they late-bind root's Claude home too (compare
//                         warm_claim_user's server_p50)
//   daemon.<mode>.warm_claim_rpc  the same claims' request -> reply at the
//                         client over one held control connection (no
//                         process start; session_bench has the whole command)
// Needs root (mount) and the Docker socket; the container mode needs
// hal9000/parent:local. Removes all it made, also when interrupted.
// Usage: claim_bench [claims=60] [modes=host,container] (modes: of the daemon
// phase, "none" to skip it)

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <thread>

#include <fcntl.h>
#include <unistd.h>

#include <caf/all.hpp>

#include "bench_daemon.hpp"
#include "bench_util.hpp"
#include "actors/docker_actor.hpp"
#include "cli/connection.hpp"
#include "messages/cli_bridge.hpp"
#include "actors/pool_scaler.hpp"
#include "messages/error.hpp"
#include "messages/wire.hpp"
#include "runtime/idmap.hpp"
#include "runtime/late_bind.hpp"
#include "runtime/users.hpp"

using namespace hal9000;
using namespace std::chrono_literals;
using clk = std::chrono::steady_clock;

namespace {

struct bench_config : caf::actor_system_config {
  bench_config() {
    register_types(*this);
    set("scheduler.max-threads", 2);
    set("scheduler.policy", caf::atom("sharing"));
  }
};

double ms_since(clk::time_point t, clk::time_point now = clk::now()) {
  return std::chrono::duration<double, std::milli>(now - t).count();
}

double pct(std::vector<double> v, double p) {
  if (v.empty())
    return -1;
  std::sort(v.begin(), v.end());
  auto i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

void emit(const std::string& name, const std::vector<double>& v, const std::string& unit,
          const std::string& baseline = "", const std::string& extra = "") {
  std::printf("{\"name\":\"%s\",\"p50\":%.3f,\"p99\":%.3f,\"unit\":\"%s\",\"n\":%zu,"
              "\"baseline\":%s%s}\n",
              name.c_str(), pct(v, 0.5), pct(v, 0.99), unit.c_str(), v.size(),
              baseline.empty() ? "null" : ("\"" + baseline + "\"").c_str(),
              extra.c_str());
  std::fflush(stdout);
}

// Receipt times of transitions, by worker, on the bench's clock.
struct observed {
  std::mutex mtx;
  std::vector<std::pair<clk::time_point, worker_transition>> all;
};

worker_observer_actor::behavior_type observer_fun(worker_observer_actor::pointer,
                                                  std::shared_ptr<observed> o) {
  return {[o](worker_transition& t) {
    std::lock_guard<std::mutex> guard{o->mtx};
    o->all.emplace_back(clk::now(), std::move(t));
  }};
}

struct rig {
  // Declared first, so it runs last, after the actor system is gone (and, on
  // SIGINT/SIGTERM/SIGHUP, from the signal watcher): the containers by the
  // bench's label, the mounts, then the directories.
  std::unique_ptr<hal9000::bench::cleanup_guard> guard;
  bench_config cfg;
  caf::actor_system sys{cfg};
  std::string home;
  std::string tag = std::to_string(::getpid());
  docker::docker_actor docker = docker::spawn_docker(sys, docker::options{});
  std::shared_ptr<observed> obs = std::make_shared<observed>();
  std::vector<pool_actor> pools;
  int next_project = 0;

  std::string projects;  // outside HAL9000_HOME: the pool refuses projects inside it

  rig() {
    char tmpl[] = "/tmp/hal9000-bench-XXXXXX";
    char ptmpl[] = "/tmp/hal9000-bench-projects-XXXXXX";
    if (!::mkdtemp(tmpl) || !::mkdtemp(ptmpl))
      throw std::runtime_error("mkdtemp failed");
    home = tmpl;
    projects = ptmpl;
    guard = std::make_unique<hal9000::bench::cleanup_guard>([h = home, p = projects, t = tag] {
      hal9000::bench::capture("ids=$(docker ps -aq --filter label=hal9000.bench=" + t
                     + "); [ -z \"$ids\" ] || docker rm -f $ids >/dev/null 2>&1");
      if (auto err = late_bind::unmount_all_under(h))
        std::cerr << "cleanup: " << error_message(err) << "\n";
      else
        std::filesystem::remove_all(h);
      if (late_bind::mounts_under(p).empty())
        std::filesystem::remove_all(p);
    });
  }

  ~rig() {
    for (auto& p : pools)
      caf::anon_send_exit(p, caf::exit_reason::user_shutdown);
    remove_containers();
    caf::anon_send_exit(docker, caf::exit_reason::user_shutdown);
  }

  void remove_containers() {
    caf::scoped_actor self{sys};
    std::vector<docker::container_summary> list;
    self->request(docker, 30s, docker::list_req{{{"hal9000.bench", tag}}, true})
      .receive([&](std::vector<docker::container_summary>& l) { list = std::move(l); },
               [&](caf::error& e) { std::cerr << "list: " << error_message(e) << "\n"; });
    for (auto& c : list)
      self->request(docker, 30s, docker::remove_req{c.id, true, false})
        .receive([] {}, [&](caf::error& e) { std::cerr << "remove: " << error_message(e) << "\n"; });
  }

  pool_actor start(uint32_t min, uint32_t max, bool cold, bool rename_first = false) {
    pool_options o;
    o.home = home;
    o.daemon_id = "bench-" + tag + (cold ? "-cold" : "") + std::to_string(pools.size());
    o.image = "hal9000/test:busybox";
    o.limits = resource_limits{true, "64m", "0.5", "50"};
    o.command = "echo started > /workspace/.hal9000-started; exec sleep 1000";
    o.enabled = true;
    o.min_warm = min;
    o.max_warm = max;
    o.max_creating = 2;
    o.claim_timeout = 60s;
    o.network_mode = "none";
    o.force_cold = cold;
    o.rename_before_reply = rename_first;
    o.extra_labels = {{"hal9000.bench", tag}};
    o.claude_home = "/home/claude/.claude";  // busybox runs as root
    o.user_uid = 0;
    o.user_gid = 0;
    auto p = spawn_pool(sys, o, docker, sys.spawn(observer_fun, obs));
    pools.push_back(p);
    return p;
  }

  pool_status status(const pool_actor& p) {
    caf::scoped_actor self{sys};
    pool_status s;
    self->request(p, 5s, status_atom::value)
      .receive([&](pool_status& x) { s = std::move(x); },
               [&](caf::error& e) { std::cerr << "status: " << error_message(e) << "\n"; });
    return s;
  }

  bool wait_warm(const pool_actor& p, uint32_t n, std::chrono::milliseconds limit = 30s) {
    auto until = clk::now() + limit;
    while (clk::now() < until) {
      if (status(p).warm >= n)
        return true;
      std::this_thread::sleep_for(2ms);
    }
    return false;
  }

  claim_request request(const std::string& prefix) {
    auto dir = projects + "/" + std::to_string(next_project++);
    std::filesystem::create_directories(dir);
    claim_request r;
    r.session_name = prefix + "-" + tag + "-" + std::to_string(next_project);
    r.project_dir = dir;
    return r;
  }

  // One claim: client latency in ms (negative on error), the reply, and the
  // release issued without waiting (its reply is awaited by the next call).
  double claim(const pool_actor& p, const claim_request& r, claim_reply* out,
               clk::time_point* sent = nullptr) {
    caf::scoped_actor self{sys};
    double took = -1;
    auto t = clk::now();
    if (sent)
      *sent = t;
    self->request(p, 60s, claim_atom::value, r)
      .receive(
        [&](claim_reply& rep) {
          took = ms_since(t);
          if (out)
            *out = rep;
        },
        [&](caf::error& e) { std::cerr << "claim " << r.session_name << ": " << error_message(e) << "\n"; });
    return took;
  }

  void release(const pool_actor& p, const std::string& name) {
    caf::scoped_actor self{sys};
    self->request(p, 30s, release_atom::value, name, std::string{"bench"})
      .receive([](worker_status&) {},
               [&](caf::error& e) { std::cerr << "release: " << error_message(e) << "\n"; });
  }

  // The first worker spawned (creating) after t, and when it became warm.
  std::pair<double, double> replacement_after(clk::time_point t) {
    std::lock_guard<std::mutex> guard{obs->mtx};
    std::string id;
    double spawn = -1, warm = -1;
    for (auto& [at, tr] : obs->all) {
      if (at < t)
        continue;
      if (id.empty() && tr.to == "creating" && tr.served.empty()) {
        id = tr.worker_id;
        spawn = ms_since(t, at);
      } else if (!id.empty() && tr.worker_id == id && tr.to == "warm") {
        warm = ms_since(t, at);
        break;
      }
    }
    return {spawn, warm};
  }
};

// -- warm claims through hal9000d, in each of its modes -----------------------------

// One daemon of that phase: hal9000d as a host process or in its parent
// container (bench_daemon.hpp), and one control connection to it held for the
// whole phase (claudy opens one per command), so that the round trip has no
// process start in it.
struct daemon_run {
  std::string mode;  // host | container
  std::unique_ptr<hal9000::bench::bench_daemon> d;
  std::unique_ptr<cli::connection> conn;  // after d: closed before it stops
  credentials who;
  std::vector<double> pool_ms;  // the pool's own claim latency (session record)
  std::vector<double> rpc_ms;   // session start request -> reply, at the client
  int failures = 0;
};

// Starts r's daemon with a quiet pool of three busybox workers (the in-process
// pools' image and limits) and connects to it; false (said on stderr) when
// either fails.
bool start_daemon(daemon_run& r, const std::string& tag) {
  r.d = std::make_unique<hal9000::bench::bench_daemon>("claim-bench-" + r.mode,
                                                       "cbench-" + tag + "-" + r.mode, false);
  auto& d = *r.d;
  d.set("HAL9000_DAEMON_MODE", r.mode);
  d.workers("hal9000/test:busybox", "sleep 100000");
  d.pool(3, 3);
  d.limits("64m", "0.5", "50");
  if (d.start(120) != 0)
    return false;
  cli::endpoint ep;
  ep.port = static_cast<uint16_t>(std::stoi(d.port()));
  ep.token_file = d.home() + "/auth/token";
  r.conn = std::make_unique<cli::connection>(ep);
  auto who = r.conn->connect(5s) ? caf::expected<credentials>{caf::error{}} : r.conn->who();
  if (!who) {
    std::cerr << "claim_bench: no control connection to the " << r.mode << "-mode daemon\n";
    r.conn.reset();
    return false;
  }
  r.who = *who;
  return true;
}

uint32_t warm_now(daemon_run& r) {
  auto rep = r.conn->call<pool_op_reply>(pool_op_req{r.who, "status"}, 5s);
  return rep ? rep->status.warm : 0;
}

// One warm claim through r's daemon (`claudy PATH --detach` without the
// process), then the session stopped untimed (its worker goes; the pool
// refills).
void claim_through(daemon_run& r, const std::string& project) {
  session_start_req req;
  req.who = r.who;
  req.path = project;
  auto t = clk::now();
  auto rep = r.conn->call<session_reply>(req, 60s);
  auto took = ms_since(t);
  if (!rep || rep->session.served != "warm") {
    std::cerr << "claim_bench: " << r.mode << "-mode claim of " << project << " "
              << (rep ? "went " + rep->session.served : error_message(rep.error())) << "\n";
    ++r.failures;
    if (!rep)
      return;
  } else {
    r.rpc_ms.push_back(took);
    r.pool_ms.push_back(rep->session.claim_latency_ms);
  }
  session_req stop;
  stop.who = r.who;
  stop.name = rep->session.name;
  stop.stop = true;
  if (!r.conn->call<session_reply>(stop, 60s))
    ++r.failures;
}

// Both daemons up at once, their claims in turn (the order turns each round)
// and each on quiet pools (every daemon's back at 3 warm), so that the
// host's load at any moment weighs on both alike.
void daemon_modes(const std::string& modes, const std::string& tag, int claims) {
  std::vector<daemon_run> runs;
  for (auto m : {"host", "container"})
    if (modes.find(m) != std::string::npos)
      runs.push_back(daemon_run{m, nullptr, nullptr, {}, {}, {}, 0});
  for (auto& r : runs)
    if (!start_daemon(r, tag))
      ++r.failures;
  auto all_warm = [&] {
    for (auto& r : runs)
      if (r.conn && warm_now(r) < 3)
        return false;
    return true;
  };
  for (int i = 0; i < claims; ++i)
    for (size_t k = 0; k < runs.size(); ++k) {
      auto& r = runs[(static_cast<size_t>(i) + k) % runs.size()];
      if (!r.conn)
        continue;
      if (!hal9000::bench::wait_until(all_warm, 30s, 5ms))
        std::cerr << "claim_bench: the daemons' pools did not refill within 30 s\n";
      claim_through(r, r.d->project("c" + std::to_string(i)));
    }
  const daemon_run* host = nullptr;
  for (auto& r : runs) {
    auto name = "daemon." + r.mode + ".warm_claim";
    bool vs_host = host && !host->pool_ms.empty() && !r.pool_ms.empty();
    std::string extra = ",\"mode\":\"" + r.mode + "\",\"failed\":" + std::to_string(r.failures);
    emit(name, r.pool_ms, "ms", vs_host ? "daemon.host.warm_claim" : "",
         extra + (vs_host ? ",\"ratio_p50\":" + std::to_string(pct(r.pool_ms, 0.5)
                                                            / pct(host->pool_ms, 0.5))
                          : ""));
    emit(name + "_rpc", r.rpc_ms, "ms", vs_host ? "daemon.host.warm_claim_rpc" : "",
         extra + (vs_host ? ",\"ratio_p50\":" + std::to_string(pct(r.rpc_ms, 0.5)
                                                            / pct(host->rpc_ms, 0.5))
                          : ""));
    if (r.mode == "host")
      host = &r;
  }
}

} // namespace

int run_bench(int argc, char** argv) {
  if (::geteuid() != 0) {
    std::cerr << "claim_bench needs root (mount(2))\n";
    return 1;
  }
  int claims = argc > 1 ? std::max(50, std::atoi(argv[1])) : 60;
  std::string modes = argc > 2 ? argv[2] : "host,container";
  rig b;

  // mount(2) cost, inline on the worker actor.
  {
    std::vector<double> us, um;
    auto slot = late_bind::slot_for(b.home, "mountbench");
    auto dir = b.projects + "/mountbench";
    std::filesystem::create_directories(dir);
    late_bind::make_slot(slot, true);
    for (int i = 0; i < 200; ++i) {
      auto t = clk::now();
      if (auto err = late_bind::bind_mount(dir, slot.workspace)) {
        std::cerr << error_message(err) << "\n";
        return 1;
      }
      us.push_back(ms_since(t) * 1000);
      t = clk::now();
      late_bind::unmount(slot.workspace);
      um.push_back(ms_since(t) * 1000);
    }
    late_bind::remove_slot(slot);
    emit("mount_bind", us, "us");
    emit("unmount", um, "us");
    // The other file work a worker does inline: slot with FIFOs, and its removal.
    std::vector<double> make, remove;
    for (int i = 0; i < 200; ++i) {
      auto t = clk::now();
      late_bind::make_slot(slot, true);
      make.push_back(ms_since(t) * 1000);
      t = clk::now();
      late_bind::remove_slot(slot);
      remove.push_back(ms_since(t) * 1000);
    }
    emit("slot_make", make, "us");
    emit("slot_remove", remove, "us");
    // A user's home and secrets onto the slot, as a warm claim does it.
    auto up = user_paths_for(b.home, "bench-user");
    if (auto err = ensure_user_dirs(up, "bench-user", 0, 0)) {
      std::cerr << error_message(err) << "\n";
      return 1;
    }
    late_bind::make_slot(slot, true);
    std::vector<double> bu;
    for (int i = 0; i < 200; ++i) {
      auto t = clk::now();
      if (auto err = late_bind::bind_user(slot, up.claude, up.secrets)) {
        std::cerr << error_message(err) << "\n";
        return 1;
      }
      bu.push_back(ms_since(t) * 1000);
      late_bind::unmount_slot(slot);
    }
    late_bind::remove_slot(slot);
    emit("bind_user", bu, "us", "mount_bind");

    // What id mapping costs per claim, side by side with the plain binds
    // above: the project (owned by another uid) id-mapped onto the slot and
    // bound again at its own path (what a warm claim mounts), the user's
    // home and secrets id-mapped, and making a user namespace for a mapping
    // the daemon has not seen yet (once per uid:gid, then cached).
    ::chown(dir.c_str(), 4242, 4242);
    late_bind::make_slot(slot, true);
    std::vector<double> mm, mw, bum, ns;
    idmap::mapping m{4242, 4242, 1000, 1000};
    for (int i = 0; i < 200; ++i) {
      auto t = clk::now();
      if (auto err = idmap::mount_mapped(AT_FDCWD, dir, slot.workspace, m)) {
        std::cerr << error_message(err) << "\n";
        return 1;
      }
      mm.push_back(ms_since(t) * 1000);
      t = clk::now();
      if (auto err = late_bind::bind_workdir(slot, late_bind::project_workdir(dir))) {
        std::cerr << error_message(err) << "\n";
        return 1;
      }
      mw.push_back(ms_since(t) * 1000);
      t = clk::now();
      if (auto err = late_bind::bind_user_mapped(slot, up.claude, up.secrets,
                                                 idmap::mapping{0, 0, 1000, 1000})) {
        std::cerr << error_message(err) << "\n";
        return 1;
      }
      bum.push_back(ms_since(t) * 1000);
      late_bind::unmount_slot(slot);
    }
    for (uint32_t i = 0; i < 50; ++i) {
      auto t = clk::now();
      if (auto fd = idmap::userns_for(idmap::mapping{60000 + i, 60000 + i, 1000, 1000}); !fd) {
        std::cerr << error_message(fd.error()) << "\n";
        return 1;
      }
      ns.push_back(ms_since(t) * 1000);
    }
    late_bind::remove_slot(slot);
    emit("mount_mapped", mm, "us", "mount_bind");
    emit("bind_workdir", mw, "us", "mount_bind");
    emit("bind_user_mapped", bum, "us", "bind_user");
    emit("userns_first_use", ns, "us");
  }

  // Warm claims on a quiet pool, and each claim's replacement.
  auto pool = b.start(3, 3, false);
  if (!b.wait_warm(pool, 3)) {
    std::cerr << "pool never reached 3 warm workers\n";
    return 1;
  }
  auto s = b.status(pool);
  if (!s.late_bind) {
    std::cerr << "no late binding: " << s.late_bind_reason << "\n";
    return 1;
  }
  std::vector<double> warm, warm_server, repl_spawn, repl_warm, warm_user, warm_user_server;
  for (int i = 0; i < claims * 2; ++i) {
    b.wait_warm(pool, 3);
    claim_reply rep;
    clk::time_point sent;
    // Odd claims carry a user: same pool, same run, interleaved.
    bool with_user = i % 2 == 1;
    auto req = b.request(with_user ? "user" : "warm");
    if (with_user)
      req.user_id = "bench-user";
    auto ms = b.claim(pool, req, &rep, &sent);
    if (ms < 0 || rep.served != "warm") {
      std::cerr << "warm claim " << i << " failed or went " << rep.served << "\n";
      continue;
    }
    (with_user ? warm_user : warm).push_back(ms);
    (with_user ? warm_user_server : warm_server)
      .push_back(static_cast<double>(rep.latency_us) / 1000.0);
    b.wait_warm(pool, 3);
    auto [spawn, w] = b.replacement_after(sent);
    repl_spawn.push_back(spawn);
    repl_warm.push_back(w);
    b.release(pool, rep.session_name);
  }
  emit("warm_claim", warm, "ms", "",
       ",\"server_p50\":" + std::to_string(pct(warm_server, 0.5)));
  emit("warm_claim_user", warm_user, "ms", "warm_claim",
       ",\"server_p50\":" + std::to_string(pct(warm_user_server, 0.5))
         + ",\"delta_p50\":" + std::to_string(pct(warm_user, 0.5) - pct(warm, 0.5))
         + ",\"delta_p99\":" + std::to_string(pct(warm_user, 0.99) - pct(warm, 0.99)));
  emit("replacement_start", repl_spawn, "ms", "warm_claim");
  emit("replacement_warm", repl_warm, "ms", "warm_claim");

  // Warm claims while the pool refills (back to back, whenever one is warm).
  std::vector<double> refilling;
  std::vector<std::string> busy;
  for (int i = 0; i < claims; ++i) {
    b.wait_warm(pool, 1);
    claim_reply rep;
    auto ms = b.claim(pool, b.request("refill"), &rep);
    if (ms >= 0 && rep.served == "warm")
      refilling.push_back(ms);
    if (ms >= 0)
      busy.push_back(rep.session_name);
  }
  emit("warm_claim_refilling", refilling, "ms");
  for (auto& n : busy)
    b.release(pool, n);

  // Warm claims that wait for the rename (rename_before_reply=true).
  {
    auto fast = b.start(3, 3, false, true);
    b.wait_warm(fast, 3);
    std::vector<double> v;
    for (int i = 0; i < claims; ++i) {
      b.wait_warm(fast, 3);
      claim_reply rep;
      auto ms = b.claim(fast, b.request("fast"), &rep);
      if (ms >= 0 && rep.served == "warm")
        v.push_back(ms);
      if (ms >= 0)
        b.release(fast, rep.session_name);
    }
    emit("warm_claim_rename_before_reply", v, "ms", "warm_claim");
    caf::anon_send_exit(fast, caf::exit_reason::user_shutdown);
  }

  // Cold claims in the same run: create+start with the same bind mount.
  auto cold_pool = b.start(0, 0, true);
  std::vector<double> cold;
  for (int i = 0; i < 20; ++i) {
    claim_reply rep;
    auto ms = b.claim(cold_pool, b.request("cold"), &rep);
    if (ms >= 0 && rep.served == "cold")
      cold.push_back(ms);
    if (ms >= 0)
      b.release(cold_pool, rep.session_name);
  }
  auto ratio = pct(cold, 0.5) / pct(warm, 0.5);
  emit("cold_claim", cold, "ms", "warm_claim", ",\"ratio_p50\":" + std::to_string(ratio));

  // Burst of 20 concurrent claims with MIN=MAX=5.
  caf::anon_send_exit(pool, caf::exit_reason::user_shutdown);
  auto burst_pool = b.start(5, 5, false);
  if (!b.wait_warm(burst_pool, 5)) {
    std::cerr << "burst pool never reached 5 warm workers\n";
    return 1;
  }
  {
    caf::scoped_actor self{b.sys};
    using handle = decltype(self->request(burst_pool, 60s, claim_atom::value, claim_request{}));
    std::vector<handle> hs;
    auto t0 = clk::now();
    for (int i = 0; i < 20; ++i)
      hs.push_back(self->request(burst_pool, 60s, claim_atom::value, b.request("burst")));
    int ok = 0, warm_served = 0;
    for (auto& h : hs)
      h.receive([&](claim_reply& r) { ++ok; warm_served += r.served == "warm"; },
                [&](caf::error& e) { std::cerr << "burst: " << error_message(e) << "\n"; });
    auto total = ms_since(t0);
    b.wait_warm(burst_pool, 5, 60s);
    auto back = ms_since(t0);
    emit("burst20_total", {total}, "ms", "",
         ",\"served\":" + std::to_string(ok) + ",\"served_warm\":" + std::to_string(warm_served));
    emit("burst20_back_to_min", {back}, "ms");
  }
  caf::anon_send_exit(burst_pool, caf::exit_reason::user_shutdown);
  daemon_modes(modes, b.tag, claims);
  return 0;
}

int main(int argc, char** argv) {
  return hal9000::bench::guarded_main("claim_bench", run_bench, argc, argv);
}
