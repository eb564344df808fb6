// What the session store costs on the claim path: put (atomic write, two
// fsyncs) and get through the actor from another actor, and a bare
// write_file_atomic. One JSON object per line.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <spdlog/spdlog.h>

#include "actors/session_store.hpp"
#include "messages/wire.hpp"
#include "bench_util.hpp"
#include "runtime/atomic_file.hpp"

using namespace hal9000;

namespace {

void print(const char* name, std::vector<double> ms) {
  bench::print(bench::summarize(name, std::move(ms)));
}

using bench::measure;

} // namespace

int main() {
  spdlog::set_level(spdlog::level::warn);
  char tmpl[] = "/tmp/hal9000-bench-XXXXXX";
  if (!::mkdtemp(tmpl))
    return 1;
  std::string home = tmpl;
  constexpr int n = 200;
  {
    caf::actor_system_config cfg;
    register_types(cfg);
    cfg.set("scheduler.max-threads", 2);
    cfg.set("scheduler.policy", caf::atom("sharing"));
    caf::actor_system sys{cfg};
    auto store = spawn_session_store(sys, home);
    {
      caf::scoped_actor self{sys};
      bool failed = false;
      auto put = measure(n, [&](int i) {
        session_record x;
        x.name = "bench-" + std::to_string(i % 50);
        x.project_dir = "/tmp/p" + std::to_string(i % 50);
        x.state = session_state::running;
        self->request(store, std::chrono::seconds(5), caf::put_atom::value, x)
          .receive([] {}, [&](caf::error&) { failed = true; });
      });
      auto get = measure(n, [&](int i) {
        self->request(store, std::chrono::seconds(5), caf::get_atom::value,
                      "bench-" + std::to_string(i % 50))
          .receive([](session_record&) {}, [&](caf::error&) { failed = true; });
      });
      if (failed) {
        std::fprintf(stderr, "a store request failed\n");
        return 1;
      }
      print("store_put_session", put);
      print("store_get_session", get);
      self->send_exit(store, caf::exit_reason::user_shutdown);
    }
  }
  std::string content(600, 'x');
  print("write_file_atomic_600B", measure(n, [&](int i) {
          if (write_file_atomic(home + "/f" + std::to_string(i % 10), content))
            std::exit(1);
        }));
  std::error_code ec;
  std::filesystem::remove_all(home, ec);
}
