#include <chrono>
#include <filesystem>
#include <fstream>

#include <caf/actor_system.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>

#include "actors/session_store.hpp"
#include "messages/events.hpp"
#include "messages/error.hpp"
#include "runtime/atomic_file.hpp"
#include "runtime/limits.hpp"
#include "support/temp_dir.hpp"
#include "support/test_env.hpp"

using namespace hal9000;
using namespace std::chrono_literals;
using hal9000::test::temp_dir;

namespace {

namespace fs = std::filesystem;

// Every file and directory under root, relative, sorted.
std::vector<std::string> tree(const std::string& root) {
  std::vector<std::string> out;
  for (auto& e : fs::recursive_directory_iterator(root))
    out.push_back(fs::relative(e.path(), root).string());
  std::sort(out.begin(), out.end());
  return out;
}

session_record sample(const std::string& name, const std::string& project = "/tmp/p") {
  session_record x;
  x.name = name;
  x.image = "hal9000/test:busybox";
  x.parent = "hal9000-parent";
  x.project_dir = project;
  x.created_at = "2026-01-26T12:00:00Z";
  x.limits = *parse_limits("4g", "2", "100");
  x.state = session_state::running;
  x.container_id = "c0ffee";
  x.worker_id = "w1";
  x.user_id = "1000";
  x.claimed_at = "2026-01-26T12:00:01Z";
  x.served = served_kind::warm;
  x.claim_latency_ms = 3.25;
  return x;
}

struct session_store_test : ::testing::Test {
  temp_dir home;
  test::system_holder sys;
  session_store_actor store;

  void SetUp() override { ASSERT_FALSE(home.path.empty()); }

  void TearDown() override { stop(); }

  void start() { store = spawn_session_store(sys.sys, home.path); }

  void stop() {
    if (store) {
      caf::scoped_actor self{sys.sys};
      self->monitor(store);
      self->send_exit(store, caf::exit_reason::user_shutdown);
      self->receive([](const caf::down_msg&) {}, caf::after(5s) >> [] {
        ADD_FAILURE() << "the store did not exit";
      });
      store = nullptr;
    }
  }

  void restart() {
    stop();
    start();
  }

  template <class T, class... Ts>
  caf::expected<T> ask(Ts&&... xs) {
    caf::expected<T> out{make_error(errc::internal, "no reply")};
    caf::scoped_actor self{sys.sys};
    self->request(store, 5s, std::forward<Ts>(xs)...)
      .receive([&](T& x) { out = std::move(x); },
               [&](caf::error& e) { out = std::move(e); });
    return out;
  }

  template <class... Ts>
  caf::error tell(Ts&&... xs) {
    caf::error out;
    caf::scoped_actor self{sys.sys};
    self->request(store, 5s, std::forward<Ts>(xs)...)
      .receive([] {}, [&](caf::error& e) { out = std::move(e); });
    return out;
  }
};

void expect_same(const session_record& a, const session_record& b) {
  EXPECT_EQ(caf::deep_to_string(a), caf::deep_to_string(b));
}

} // namespace

TEST_F(session_store_test, round_trip_in_memory_and_across_a_restart) {
  start();
  auto x = sample("proj-1234abcd");
  ASSERT_FALSE(tell(caf::put_atom::value, x));
  auto got = ask<session_record>(caf::get_atom::value, x.name);
  ASSERT_TRUE(got) << error_message(got.error());
  expect_same(*got, x);
  restart();
  got = ask<session_record>(caf::get_atom::value, x.name);
  ASSERT_TRUE(got) << error_message(got.error());
  expect_same(*got, x);
  auto all = ask<std::vector<session_record>>(list_atom::value);
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 1u);
  auto report = ask<store_load_report>(load_atom::value);
  ASSERT_TRUE(report);
  EXPECT_EQ(report->sessions, 1u);
  EXPECT_TRUE(report->moved.empty());
  EXPECT_TRUE(report->error.empty());
}

TEST_F(session_store_test, file_is_0600_json_in_the_reference_format_with_a_version) {
  start();
  auto x = sample("s1");
  ASSERT_FALSE(tell(caf::put_atom::value, x));
  auto path = home / "sessions/s1.json";
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ASSERT_EQ(::stat((home / "sessions").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  auto j = nlohmann::json::parse(*read_file(path));
  EXPECT_EQ(j["version"], 1);
  EXPECT_EQ(j["name"], "s1");
  EXPECT_EQ(j["image"], "hal9000/test:busybox");
  EXPECT_EQ(j["parent"], "hal9000-parent");
  EXPECT_EQ(j["project_dir"], "/tmp/p");
  EXPECT_EQ(j["created_at"], "2026-01-26T12:00:00Z");
  EXPECT_EQ(j["resource_limits"]["enabled"], true);
  EXPECT_EQ(j["resource_limits"]["memory"], "4g");
  EXPECT_EQ(j["resource_limits"]["cpus"], "2");
  EXPECT_EQ(j["resource_limits"]["pids_limit"], "100");
  EXPECT_EQ(j["state"], "running");
  EXPECT_EQ(j["served"], "warm");
  EXPECT_DOUBLE_EQ(j["claim_latency_ms"].get<double>(), 3.25);
  EXPECT_EQ(tree(home / "sessions"), std::vector<std::string>{"s1.json"});
}

TEST_F(session_store_test, corrupt_files_are_moved_aside_and_the_rest_loads) {
  start();
  ASSERT_FALSE(tell(caf::put_atom::value, sample("good")));
  ASSERT_FALSE(tell(caf::put_atom::value, worker_record{"w-good", "c1", worker_state::warm, "", "", ""}));
  stop();
  auto s = home / "sessions/";
  auto full = *read_file(s + "good.json");
  std::ofstream{s + "truncated.json"} << full.substr(0, full.size() / 2);
  std::ofstream{s + "empty.json"} << "";
  std::ofstream{s + "garbage.json"} << "\x01\x02 not json";
  std::ofstream{s + "array.json"} << "[1, 2]";
  std::ofstream{s + "noproject.json"} << R"({"name": "noproject", "created_at": "x"})";
  std::ofstream{s + "wrongtype.json"}
    << R"({"name": "wrongtype", "project_dir": "/tmp/p", "created_at": "x", "state": 5})";
  std::ofstream{s + "badlimits.json"}
    << R"({"name": "badlimits", "project_dir": "/tmp/p", "created_at": "x", "resource_limits": "no"})";
  std::ofstream{s + "other.json"} << R"({"name": "someone-else", "project_dir": "/tmp/p", "created_at": "x"})";
  std::ofstream{s + "future.json"} << R"({"version": 2, "name": "future", "project_dir": "/tmp/p", "created_at": "x"})";
  std::ofstream{s + "-bad.json"} << R"({"name": "-bad", "project_dir": "/tmp/p", "created_at": "x"})";
  // The reference's format (no version, no state, extra fields) loads.
  std::ofstream{s + "ref.json"} << R"({"name": "ref", "image": "i", "parent": "hal9000-parent",
    "project_dir": "/tmp/r", "created_at": "2026-01-26T12:00:00Z", "extra": {"x": 1},
    "resource_limits": {"enabled": true, "memory": "4g", "cpus": 2, "pids_limit": 100}})";
  std::ofstream{s + ".good.json.tmp.AbC123"} << "half a write";
  std::ofstream{home / "pool/workers/w-bad.json"} << "{";
  start();
  auto report = ask<store_load_report>(load_atom::value);
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->error.empty()) << report->error;
  EXPECT_EQ(report->sessions, 2u);
  EXPECT_EQ(report->workers, 1u);
  EXPECT_EQ(report->moved.size(), 11u);
  auto all = ask<std::vector<session_record>>(list_atom::value);
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].name, "good");
  EXPECT_EQ((*all)[1].name, "ref");
  EXPECT_EQ((*all)[1].limits.cpus_text, "2");
  EXPECT_EQ((*all)[1].limits.pids_limit_text, "100");
  EXPECT_EQ((*all)[1].limits.memory_bytes, 4ll << 30);
  EXPECT_EQ((*all)[1].limits.nano_cpus, 2'000'000'000);
  EXPECT_EQ((*all)[1].limits.pids_limit, 100);
  auto corrupt = tree(home / "sessions/corrupt");
  std::vector<std::string> bad{"-bad", "array", "badlimits", "empty", "future",
                               "garbage", "noproject", "other", "truncated",
                               "wrongtype"};
  ASSERT_EQ(corrupt.size(), bad.size());
  for (size_t i = 0; i < bad.size(); ++i)
    EXPECT_EQ(corrupt[i].rfind(bad[i] + ".json.", 0), 0u) << corrupt[i];
  // Nothing else is left in sessions/: the temporary file is gone too.
  std::vector<std::string> expected{"corrupt"};
  for (auto& f : corrupt)
    expected.push_back("corrupt/" + f);
  expected.push_back("good.json");
  expected.push_back("ref.json");
  EXPECT_EQ(tree(home / "sessions"), expected);
  EXPECT_EQ(tree(home / "pool/workers/corrupt").size(), 1u);
  auto workers = ask<std::vector<worker_record>>(list_atom::value, workers_atom::value);
  ASSERT_TRUE(workers);
  ASSERT_EQ(workers->size(), 1u);
  EXPECT_EQ((*workers)[0].id, "w-good");
}

TEST_F(session_store_test, bad_names_are_refused_before_any_file_is_touched) {
  start();
  ASSERT_TRUE(ask<store_load_report>(load_atom::value));  // the load has run
  auto before = tree(home.path);
  ASSERT_EQ(before, (std::vector<std::string>{"pool", "pool/workers", "sessions"}));
  for (auto bad : {"a/b", "../evil", "..", std::string(200, 'x').c_str(), ""}) {
    auto x = sample(bad);
    auto err = tell(caf::put_atom::value, x);
    ASSERT_TRUE(err) << bad;
    EXPECT_EQ(error_code(err), errc::invalid_argument);
    EXPECT_NE(error_message(err).find("invalid name"), std::string::npos);
    auto got = ask<session_record>(caf::get_atom::value, std::string{bad});
    ASSERT_FALSE(got);
    EXPECT_EQ(error_code(got.error()), errc::invalid_argument);
    auto w = tell(caf::put_atom::value, worker_record{bad, "", worker_state::none, "", "", ""});
    EXPECT_EQ(error_code(w), errc::invalid_argument);
  }
  EXPECT_EQ(tree(home.path), before);
  EXPECT_FALSE(fs::exists(home / "evil.json"));
  EXPECT_FALSE(fs::exists("/tmp/evil.json"));
}

TEST_F(session_store_test, end_marks_ended_with_reason_and_keeps_the_file) {
  start();
  ASSERT_FALSE(tell(caf::put_atom::value, sample("s")));
  end_reason by_user{end_kind::stopped_by_user, -1, "", ""};
  auto ended = ask<session_record>(end_atom::value, std::string{"s"}, by_user,
                                   std::string{"2026-01-26T13:00:00Z"});
  ASSERT_TRUE(ended) << error_message(ended.error());
  EXPECT_EQ(ended->state, session_state::ended);
  EXPECT_EQ(ended->end, by_user);
  EXPECT_EQ(ended->ended_at, "2026-01-26T13:00:00Z");
  EXPECT_EQ(ended->project_dir, "/tmp/p");
  auto j = nlohmann::json::parse(*read_file(home / "sessions/s.json"));
  EXPECT_EQ(j["state"], "ended");
  EXPECT_EQ(j["end_reason"], "stopped by user");
  EXPECT_EQ(j["end"]["kind"], "stopped-by-user");
  // Ending again keeps the first reason.
  auto again = ask<session_record>(end_atom::value, std::string{"s"},
                                   end_reason{end_kind::disappeared_while_down, -1, "", ""},
                                   std::string{});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->end, by_user);
  // Empty ended_at means now.
  ASSERT_FALSE(tell(caf::put_atom::value, sample("t")));
  auto now = ask<session_record>(end_atom::value, std::string{"t"},
                                 end_reason{end_kind::exited, 0, "", ""}, std::string{});
  ASSERT_TRUE(now);
  EXPECT_EQ(now->ended_at.size(), 20u) << now->ended_at;
  auto missing = ask<session_record>(end_atom::value, std::string{"nope"},
                                     end_reason{end_kind::exited, 0, "", ""}, std::string{});
  ASSERT_FALSE(missing);
  EXPECT_EQ(error_code(missing.error()), errc::not_found);
  EXPECT_EQ(error_message(missing.error()), "no such session: nope");
}

// A late end or note from a worker that no longer serves the name (the
// session was restarted on another worker) leaves the successor alone.
TEST_F(session_store_test, an_end_or_note_for_another_worker_leaves_the_session_alone) {
  start();
  auto rec = sample("r");
  rec.worker_id = "w-new";
  ASSERT_FALSE(tell(caf::put_atom::value, rec));
  session_note late;
  late.name = "r";
  late.worker_id = "w-old";
  late.network_lost = true;
  late.state_reason = "network lost: gone";
  auto noted = ask<session_record>(late);
  ASSERT_TRUE(noted) << error_message(noted.error());
  EXPECT_EQ(noted->state, session_state::running);
  EXPECT_EQ(noted->state_reason, "");
  auto kept = ask<session_record>(end_atom::value, std::string{"r"},
                                  end_reason{end_kind::replaced, -1, "", ""}, std::string{},
                                  std::string{"w-old"});
  ASSERT_TRUE(kept) << error_message(kept.error());
  EXPECT_EQ(kept->state, session_state::running);
  // Its own worker's note and end apply.
  late.worker_id = "w-new";
  late.restore = "claudy restart r";
  noted = ask<session_record>(late);
  ASSERT_TRUE(noted);
  EXPECT_EQ(noted->state, session_state::network_lost);
  EXPECT_EQ(noted->restore, "claudy restart r");
  auto j = nlohmann::json::parse(*read_file(home / "sessions/r.json"));
  EXPECT_EQ(j["state"], "network-lost");
  auto ended = ask<session_record>(end_atom::value, std::string{"r"},
                                   end_reason{end_kind::exited, 0, "", ""}, std::string{},
                                   std::string{"w-new"});
  ASSERT_TRUE(ended);
  EXPECT_EQ(ended->state, session_state::ended);
  EXPECT_EQ(ended->restore, "");
}

TEST_F(session_store_test, a_running_name_is_not_taken_by_another_project) {
  start();
  ASSERT_FALSE(tell(caf::put_atom::value, sample("n", "/tmp/one")));
  auto update = sample("n", "/tmp/one");
  update.state = session_state::running;
  update.container_id = "new";
  EXPECT_FALSE(tell(caf::put_atom::value, update));  // same project: an update
  auto err = tell(caf::put_atom::value, sample("n", "/tmp/two"));
  ASSERT_TRUE(err);
  EXPECT_EQ(error_code(err), errc::conflict);
  EXPECT_EQ(error_message(err),
            "session name 'n' is already used by a running session of /tmp/one");
  ASSERT_TRUE(ask<session_record>(end_atom::value, std::string{"n"},
                                  end_reason{end_kind::exited, 0, "", ""}, std::string{}));
  EXPECT_FALSE(tell(caf::put_atom::value, sample("n", "/tmp/two")));
  EXPECT_EQ(ask<session_record>(caf::get_atom::value, std::string{"n"})->project_dir,
            "/tmp/two");
}

// One query answers "already running?" for a name and a project at once.
TEST_F(session_store_test, live_matching_finds_by_name_or_project_and_skips_ended) {
  start();
  ASSERT_FALSE(tell(caf::put_atom::value, sample("a", "/tmp/pa")));
  ASSERT_FALSE(tell(caf::put_atom::value, sample("b", "/tmp/pb")));
  ASSERT_FALSE(tell(caf::put_atom::value, sample("c", "/tmp/pc")));
  ASSERT_TRUE(ask<session_record>(end_atom::value, std::string{"c"},
                                  end_reason{end_kind::exited, 0, "", ""}, std::string{}));
  auto names = [](const std::vector<session_record>& xs) {
    std::vector<std::string> out;
    for (auto& x : xs)
      out.push_back(x.name);
    return out;
  };
  auto both = ask<std::vector<session_record>>(caf::get_atom::value, std::string{"a"},
                                               std::string{"/tmp/pb"});
  ASSERT_TRUE(both);
  EXPECT_EQ(names(*both), (std::vector<std::string>{"a", "b"}));
  auto ended = ask<std::vector<session_record>>(caf::get_atom::value, std::string{"c"},
                                                std::string{"/tmp/pc"});
  ASSERT_TRUE(ended);
  EXPECT_TRUE(ended->empty());
  auto bad = ask<std::vector<session_record>>(caf::get_atom::value, std::string{"../x"},
                                              std::string{"/tmp/pa"});
  ASSERT_FALSE(bad);
  EXPECT_EQ(error_code(bad.error()), errc::invalid_argument);
}

TEST_F(session_store_test, get_unknown_is_not_found) {
  start();
  auto got = ask<session_record>(caf::get_atom::value, std::string{"ghost"});
  ASSERT_FALSE(got);
  EXPECT_EQ(error_code(got.error()), errc::not_found);
}

TEST_F(session_store_test, worker_records) {
  start();
  worker_record b{"w-b", "cb", worker_state::creating, "2026-01-26T12:00:00Z", "", ""};
  worker_record a{"w-a", "ca", worker_state::warm, "2026-01-26T12:00:00Z", "2026-01-26T12:00:02Z", ""};
  ASSERT_FALSE(tell(caf::put_atom::value, b));
  ASSERT_FALSE(tell(caf::put_atom::value, a));
  b.state = worker_state::failed;
  b.reason = "OOM-killed";
  ASSERT_FALSE(tell(caf::put_atom::value, b));
  struct stat st;
  ASSERT_EQ(::stat((home / "pool/workers/w-a.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  restart();
  auto all = ask<std::vector<worker_record>>(list_atom::value, workers_atom::value);
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ(caf::deep_to_string((*all)[0]), caf::deep_to_string(a));
  EXPECT_EQ(caf::deep_to_string((*all)[1]), caf::deep_to_string(b));
  ASSERT_FALSE(tell(caf::delete_atom::value, workers_atom::value, std::string{"w-a"}));
  EXPECT_FALSE(fs::exists(home / "pool/workers/w-a.json"));
  EXPECT_FALSE(tell(caf::delete_atom::value, workers_atom::value, std::string{"w-a"}));
  all = ask<std::vector<worker_record>>(list_atom::value, workers_atom::value);
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].reason, "OOM-killed");
}

TEST_F(session_store_test, unusable_home_reports_and_refuses_without_crashing) {
  std::ofstream{home / "sessions"} << "a file where a directory belongs";
  start();
  auto report = ask<store_load_report>(load_atom::value);
  ASSERT_TRUE(report);
  EXPECT_NE(report->error.find("not a directory"), std::string::npos) << report->error;
  auto err = tell(caf::put_atom::value, sample("s"));
  ASSERT_TRUE(err);
  EXPECT_EQ(error_code(err), errc::unavailable);
  auto all = ask<std::vector<session_record>>(list_atom::value);
  ASSERT_TRUE(all);
  EXPECT_TRUE(all->empty());
}

// The records cross process boundaries (claudy sessions): every field must
// survive CAF's serialization.
TEST_F(session_store_test, records_survive_caf_serialization) {
  auto x = sample("wire");
  x.end = end_reason{end_kind::oom_killed, -1, "4g", ""};
  x.oom_kills = 2;
  x.state_reason = "network lost: test";
  x.limits.enabled = false;
  worker_record w{"w", "c", worker_state::failed, "t0", "t1", "exited with code 137"};
  store_load_report r{3, 4, {"a -> b: why"}, ""};
  std::vector<session_record> xs{x, sample("other")};
  std::vector<char> buf;
  caf::binary_serializer sink{sys.sys, buf};
  ASSERT_FALSE(sink(x, w, r, xs));
  session_record x2;
  worker_record w2;
  store_load_report r2;
  std::vector<session_record> xs2;
  caf::binary_deserializer source{sys.sys, buf};
  ASSERT_FALSE(source(x2, w2, r2, xs2));
  EXPECT_EQ(caf::deep_to_string(x2), caf::deep_to_string(x));
  EXPECT_EQ(caf::deep_to_string(w2), caf::deep_to_string(w));
  EXPECT_EQ(caf::deep_to_string(r2), caf::deep_to_string(r));
  EXPECT_EQ(caf::deep_to_string(xs2), caf::deep_to_string(xs));
  EXPECT_NE(caf::deep_to_string(x).find("network lost: test"), std::string::npos);
  // The typed end crosses with events too.
  lifecycle_event ev;
  ev.kind = event_kinds::session_ended;
  ev.end = end_reason{end_kind::replaced, -1, "", "why"};
  std::vector<char> buf2;
  caf::binary_serializer sink2{sys.sys, buf2};
  ASSERT_FALSE(sink2(ev));
  lifecycle_event ev2;
  caf::binary_deserializer source2{sys.sys, buf2};
  ASSERT_FALSE(source2(ev2));
  EXPECT_EQ(ev2.end, ev.end);
}

// A burst of starts writes its records at once: every put is answered (after
// one shared sync), each record is on disk and survives a restart, and a put
// refused (conflict) in the middle of the batch is refused alone.
TEST_F(session_store_test, concurrent_puts_share_a_sync_and_each_is_answered) {
  start();
  caf::scoped_actor self{sys.sys};
  constexpr int n = 20;
  ASSERT_FALSE(tell(caf::put_atom::value, sample("taken", "/tmp/p-taken")));
  int ok = 0, refused = 0;
  std::vector<decltype(self->request(store, 5s, caf::put_atom::value, session_record{}))> hs;
  for (int i = 0; i < n; ++i)
    hs.push_back(self->request(store, 5s, caf::put_atom::value,
                               sample("burst-" + std::to_string(i),
                                      "/tmp/p" + std::to_string(i))));
  hs.push_back(self->request(store, 5s, caf::put_atom::value, sample("taken", "/tmp/other")));
  for (auto& h : hs)
    h.receive([&] { ++ok; },
              [&](caf::error& e) { refused += error_code(e) == errc::conflict; });
  EXPECT_EQ(ok, n);
  EXPECT_EQ(refused, 1);
  for (int i = 0; i < n; ++i)
    EXPECT_TRUE(fs::exists(home.path + "/sessions/burst-" + std::to_string(i) + ".json")) << i;
  restart();
  auto all = ask<std::vector<session_record>>(list_atom::value);
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), static_cast<size_t>(n + 1));
  auto taken = ask<session_record>(caf::get_atom::value, std::string{"taken"});
  ASSERT_TRUE(taken);
  EXPECT_EQ(taken->project_dir, "/tmp/p-taken");
}
