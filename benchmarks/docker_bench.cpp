// docker_bench: Docker calls through the docker actor against the same calls
// through the docker CLI (the baseline), in one run on the real engine; plus
// the engine's own time (a raw socket for ping, our engine client without
// actors for inspect and list) to show what the actor adds.
// Prints one JSON object per line. Containers carry hal9000.bench=<run id>
// and are removed at the end.
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <functional>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <nlohmann/json.hpp>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "actors/docker_actor.hpp"
#include "docker/engine_client.hpp"
#include "messages/error.hpp"
#include "messages/wire.hpp"

using namespace hal9000;
using namespace hal9000::docker;
using clk = std::chrono::steady_clock;

namespace {

constexpr int samples = 25;
constexpr const char* image = "hal9000/test:busybox";
constexpr const char* socket_path = "/var/run/docker.sock";

struct bench_config : caf::actor_system_config {
  bench_config() {
    register_types(*this);
    set("scheduler.max-threads", 2);
    set("scheduler.policy", caf::atom("sharing"));
  }
};

double ms_since(clk::time_point t0) {
  return std::chrono::duration<double, std::milli>(clk::now() - t0).count();
}

struct figure {
  double p50 = 0;
  double p99 = 0;
};

figure report(const std::string& name, std::vector<double> v, const std::string& baseline = {}) {
  std::sort(v.begin(), v.end());
  figure f;
  if (!v.empty()) {
    f.p50 = v[v.size() / 2];
    auto i = static_cast<size_t>(std::ceil(0.99 * static_cast<double>(v.size()))) - 1;
    f.p99 = v[std::min(i, v.size() - 1)];
  }
  nlohmann::json j = {{"name", name},
                      {"p50", std::round(f.p50 * 1000) / 1000},
                      {"p99", std::round(f.p99 * 1000) / 1000},
                      {"unit", "ms"},
                      {"n", v.size()}};
  if (!baseline.empty())
    j["baseline"] = baseline;
  std::cout << j.dump() << std::endl;
  return f;
}

// Runs a shell command; exits the benchmark when it fails (no silent errors).
std::string sh(const std::string& cmd) {
  std::string out;
  auto* p = ::popen(cmd.c_str(), "r");
  if (!p) {
    std::cerr << "docker_bench: cannot run " << cmd << "\n";
    std::exit(1);
  }
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0)
    out.append(buf.data(), n);
  if (::pclose(p) != 0) {
    std::cerr << "docker_bench: failed: " << cmd << "\n" << out;
    std::exit(1);
  }
  while (!out.empty() && out.back() == '\n')
    out.pop_back();
  return out;
}

// GET /_ping on one kept-alive unix socket, no HTTP library: the engine's time.
class raw_ping {
public:
  raw_ping() {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", socket_path);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      std::perror("docker_bench: connect");
      std::exit(1);
    }
  }
  ~raw_ping() { ::close(fd_); }
  bool ping() {
    static const char req[] = "GET /_ping HTTP/1.1\r\nHost: docker\r\n\r\n";
    if (::write(fd_, req, sizeof req - 1) != static_cast<ssize_t>(sizeof req - 1))
      return false;
    std::string in;
    char buf[4096];
    for (;;) {
      auto n = ::read(fd_, buf, sizeof buf);
      if (n <= 0)
        return false;
      in.append(buf, static_cast<size_t>(n));
      auto end = in.find("\r\n\r\n");
      if (end == std::string::npos)
        continue;
      auto cl = in.find("Content-Length: ");
      size_t len = cl == std::string::npos ? 0 : std::stoul(in.substr(cl + 16));
      if (in.size() >= end + 4 + len)
        return in.compare(end + 4, 2, "OK") == 0;
    }
  }

private:
  int fd_ = -1;
};

struct bench {
  caf::scoped_actor& self;
  docker_actor docker;
  std::string run_id;
  std::map<std::string, std::string> labels;
  int counter = 0;

  template <class T, class Req>
  T call(Req req) {
    T out{};
    self->request(docker, std::chrono::seconds(60), std::move(req))
      .receive([&](T& x) { out = std::move(x); }, [&](caf::error& e) { fail(e); });
    return out;
  }
  template <class Req>
  void call_void(Req req) {
    self->request(docker, std::chrono::seconds(60), std::move(req))
      .receive([] {}, [&](caf::error& e) { fail(e); });
  }
  [[noreturn]] void fail(const caf::error& e) {
    std::cerr << "docker_bench: " << error_message(e) << "\n";
    cleanup();
    std::exit(1);
  }

  container_spec spec() {
    container_spec s;
    s.name = "h9b-" + run_id + "-" + std::to_string(++counter);
    s.image = image;
    s.cmd = {"sleep", "300"};
    s.labels = labels;
    s.init = true;
    s.network_mode = "none";
    return s;
  }

  std::string cli_create_args() {
    return "--name h9b-" + run_id + "-" + std::to_string(++counter) + " --label hal9000.bench="
           + run_id + " --init --network none " + image + " sleep 300";
  }

  void cleanup() {
    auto ids = sh("docker ps -aq --filter label=hal9000.bench=" + run_id);
    std::replace(ids.begin(), ids.end(), '\n', ' ');
    if (!ids.empty())
      sh("docker rm -f " + ids + " >/dev/null");
  }
};

template <class F>
std::vector<double> timed(int n, F f) {
  std::vector<double> v;
  for (int i = 0; i < n; ++i) {
    auto t0 = clk::now();
    f(i);
    v.push_back(ms_since(t0));
  }
  return v;
}

// The machine is shared and its load drifts: alternate the actor's and the
// CLI's samples so both see the same conditions.
void versus(const std::string& op, int n, const std::function<void(int)>& actor,
            const std::function<void(int)>& cli) {
  std::vector<double> a, c;
  for (int i = 0; i < n; ++i) {
    auto t0 = clk::now();
    actor(i);
    a.push_back(ms_since(t0));
    t0 = clk::now();
    cli(i);
    c.push_back(ms_since(t0));
  }
  report("actor." + op, a, "cli." + op);
  report("cli." + op, c);
}

} // namespace

int main() {
  bench_config cfg;
  caf::actor_system sys{cfg};
  std::string run_id = std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}() % 100000);
  {
    caf::scoped_actor self{sys};
    bench b{self, spawn_docker(sys, options{}), run_id, {{"hal9000.bench", run_id}}};
    sh("docker image inspect " + std::string{image} + " >/dev/null");

    // -- ping: actor vs the engine's own time vs the CLI ------------------------
    raw_ping raw;
    engine_client engine{endpoint{}, std::chrono::seconds(30)};
    for (int i = 0; i < 5; ++i) {  // warm connections and workers
      raw.ping();
      (void) engine.ping();
      b.call<std::string>(ping_req{});
    }
    auto raw_p = report("raw.ping", timed(200, [&](int) {
                          if (!raw.ping()) {
                            std::cerr << "docker_bench: raw ping failed\n";
                            std::exit(1);
                          }
                        }));
    report("engine.ping", timed(200, [&](int) { (void) engine.ping(); }), "raw.ping");
    auto actor_p = report("actor.ping", timed(200, [&](int) { b.call<std::string>(ping_req{}); }),
                          "raw.ping");
    report("cli.ping", timed(samples, [&](int) { sh("docker version --format '{{.Server.Version}}' >/dev/null"); }));

    // -- the lifecycle: actor and CLI alternating ------------------------------------
    std::vector<std::string> ids(samples), cli_ids(samples);
    versus(
      "create", samples,
      [&](int i) { ids[i] = b.call<container_created>(create_req{b.spec()}).id; },
      [&](int i) { cli_ids[i] = sh("docker create " + b.cli_create_args()); });
    versus(
      "start", samples, [&](int i) { b.call_void(start_req{ids[i]}); },
      [&](int i) { sh("docker start " + cli_ids[i] + " >/dev/null"); });
    versus(
      "inspect", samples, [&](int i) { b.call<container_info>(inspect_req{ids[i]}); },
      [&](int i) { sh("docker inspect " + cli_ids[i] + " >/dev/null"); });
    versus(
      "list", samples,
      [&](int) { b.call<std::vector<container_summary>>(list_req{b.labels, true}); },
      [&](int) { sh("docker ps -a --filter label=hal9000.bench=" + run_id + " >/dev/null"); });
    // The engine's own time for the cheap calls, next to the actor's.
    std::vector<double> ai, ei, al, el;
    for (int i = 0; i < samples * 4; ++i) {
      auto id = ids[i % samples];
      auto t0 = clk::now();
      b.call<container_info>(inspect_req{id});
      ai.push_back(ms_since(t0));
      t0 = clk::now();
      (void) engine.inspect(id);
      ei.push_back(ms_since(t0));
      t0 = clk::now();
      b.call<std::vector<container_summary>>(list_req{b.labels, true});
      al.push_back(ms_since(t0));
      t0 = clk::now();
      (void) engine.list(b.labels, true);
      el.push_back(ms_since(t0));
    }
    report("actor.inspect_hot", ai, "engine.inspect");
    report("engine.inspect", ei);
    report("actor.list_hot", al, "engine.list");
    report("engine.list", el);
    versus(
      "exec", samples,
      [&](int i) {
        auto r = b.call<exec_result>(exec_req{ids[i], {"true"}, {}, "", "", false});
        if (r.exit_code != 0)
          b.fail(make_error(errc::internal, "exec true exited " + std::to_string(r.exit_code)));
      },
      [&](int i) { sh("docker exec " + cli_ids[i] + " true"); });
    versus(
      "stop", samples, [&](int i) { b.call_void(stop_req{ids[i], 10}); },
      [&](int i) { sh("docker stop -t 10 " + cli_ids[i] + " >/dev/null"); });
    versus(
      "remove", samples, [&](int i) { b.call_void(remove_req{ids[i], false, false}); },
      [&](int i) { sh("docker rm " + cli_ids[i] + " >/dev/null"); });
    versus(
      "create_start", samples,
      [&](int i) {
        ids[i] = b.call<container_created>(create_req{b.spec()}).id;
        b.call_void(start_req{ids[i]});
      },
      [&](int) { sh("docker run -d " + b.cli_create_args() + " >/dev/null"); });

    nlohmann::json overhead = {{"name", "actor_overhead.ping"},
                               {"p50", std::round((actor_p.p50 - raw_p.p50) * 1000) / 1000},
                               {"unit", "ms"},
                               {"baseline", "raw.ping"},
                               {"target_max", 1.0}};
    std::cout << overhead.dump() << std::endl;
    b.cleanup();
    self->send_exit(b.docker, caf::exit_reason::user_shutdown);
  }
  return 0;
}
