// Worker states, how a claim was served and resource limits are typed on the
// wire (issue 11): they survive CAF's binary serialization as values, and
// their names appear only at the edges, where the text is what it always was
// (the session file's "served" and "resource_limits", a worker file's
// "state"), so files written before the change still load.

#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/deep_to_string.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "messages/error.hpp"
#include "messages/session_store.hpp"
#include "messages/wire.hpp"
#include "messages/worker.hpp"
#include "runtime/limits.hpp"
#include "runtime/records_json.hpp"

using namespace hal9000;

namespace {

// Serializes x with CAF's binary serializer and reads it back into a fresh T.
template <class T>
T round_trip(caf::actor_system& sys, T x) {
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  EXPECT_FALSE(sink(x));
  T out;
  caf::binary_deserializer source{sys, buf};
  EXPECT_FALSE(source(out));
  return out;
}

struct typed_values : ::testing::Test {
  struct cfg_t : caf::actor_system_config {
    cfg_t() {
      register_types(*this);
    }
  } cfg;
  caf::actor_system sys{cfg};
};

} // namespace

TEST(typed_names, every_state_and_kind_round_trips_through_its_name) {
  for (auto s : {worker_state::none, worker_state::creating, worker_state::warm,
                 worker_state::claimed, worker_state::busy, worker_state::stopping,
                 worker_state::gone, worker_state::failed}) {
    worker_state back = worker_state::failed;
    ASSERT_TRUE(from_string(to_string(s), back)) << to_string(s);
    EXPECT_EQ(back, s);
  }
  EXPECT_EQ(to_string(worker_state::none), "") << "the first transition's from, as before";
  EXPECT_EQ(to_string(worker_state::busy), "busy");
  worker_state w = worker_state::warm;
  EXPECT_FALSE(from_string("sleeping", w));
  EXPECT_EQ(w, worker_state::warm) << "untouched on unknown text";
  for (auto k : {served_kind::none, served_kind::warm, served_kind::cold}) {
    served_kind back = served_kind::cold;
    ASSERT_TRUE(from_string(to_string(k), back));
    EXPECT_EQ(back, k);
  }
  EXPECT_EQ(to_string(served_kind::warm), "warm");
  EXPECT_EQ(to_string(served_kind::cold), "cold");
  EXPECT_EQ(to_string(served_kind::none), "");
  served_kind k = served_kind::warm;
  EXPECT_FALSE(from_string("lukewarm", k));
  EXPECT_TRUE(had_session(worker_state::stopping));
  EXPECT_FALSE(had_session(worker_state::warm));
}

TEST_F(typed_values, enums_and_limits_survive_the_binary_serializer) {
  EXPECT_EQ(round_trip(sys, worker_state::stopping), worker_state::stopping);
  EXPECT_EQ(round_trip(sys, worker_state::none), worker_state::none);
  EXPECT_EQ(round_trip(sys, served_kind::cold), served_kind::cold);
  auto l = *parse_limits("1.5g", "0.5", "64");
  EXPECT_EQ(round_trip(sys, l), l);
  EXPECT_EQ(round_trip(sys, no_limits()), no_limits());

  worker_transition t;
  t.worker_id = "w1";
  t.container_id = "c1";
  t.from = worker_state::claimed;
  t.to = worker_state::busy;
  t.served = served_kind::cold;
  t.limits = l;
  t.session_name = "s1";
  auto t2 = round_trip(sys, t);
  EXPECT_EQ(t2.from, worker_state::claimed);
  EXPECT_EQ(t2.to, worker_state::busy);
  EXPECT_EQ(t2.served, served_kind::cold);
  EXPECT_EQ(t2.limits, l);
  EXPECT_EQ(caf::deep_to_string(t2), caf::deep_to_string(t));

  worker_status ws;
  ws.id = "w1";
  ws.state = worker_state::failed;
  ws.served = served_kind::warm;
  auto ws2 = round_trip(sys, ws);
  EXPECT_EQ(ws2.state, worker_state::failed);
  EXPECT_EQ(ws2.served, served_kind::warm);

  claim_reply r;
  r.served = served_kind::warm;
  r.limits = l;
  auto r2 = round_trip(sys, r);
  EXPECT_EQ(r2.served, served_kind::warm);
  EXPECT_EQ(r2.limits.memory_bytes, 1536LL << 20);
  EXPECT_EQ(r2.limits.memory_text, "1.5g");

  claim_request cr;
  cr.has_limits = true;
  cr.limits = l;
  EXPECT_EQ(round_trip(sys, cr).limits, l);

  adopted_session a;
  a.served = served_kind::cold;
  a.limits = l;
  auto a2 = round_trip(sys, a);
  EXPECT_EQ(a2.served, served_kind::cold);
  EXPECT_EQ(a2.limits, l);

  worker_record wr{"w2", "c2", worker_state::warm, "t0", "t1", ""};
  EXPECT_EQ(round_trip(sys, wr).state, worker_state::warm);
  // deep_to_string (CAF's printing) shows the names.
  EXPECT_NE(caf::deep_to_string(wr).find("warm"), std::string::npos) << caf::deep_to_string(wr);
}

// A session file as the daemon wrote it before the values were typed: the
// strings load into the typed fields, and writing it back gives the same text.
TEST(typed_values_json, an_old_session_file_loads_and_writes_back_the_same_text) {
  auto old = nlohmann::json::parse(R"({
    "version": 1, "name": "old", "image": "hal9000/worker:local",
    "parent": "hal9000-parent", "project_dir": "/tmp/p",
    "created_at": "2026-01-26T12:00:00Z",
    "resource_limits": {"enabled": true, "memory": "1.5g", "cpus": "0.5",
                        "pids_limit": "64"},
    "state": "running", "container_id": "c0ffee", "worker_id": "w1",
    "user_id": "1000", "claimed_at": "2026-01-26T12:00:01Z", "ended_at": "",
    "served": "cold", "claim_latency_ms": 3.2})");
  auto x = session_from_json(old);
  ASSERT_TRUE(x) << error_message(x.error());
  EXPECT_EQ(x->served, served_kind::cold);
  EXPECT_TRUE(x->limits.enabled);
  EXPECT_EQ(x->limits.memory_bytes, 1536LL << 20);
  EXPECT_EQ(x->limits.nano_cpus, 500000000);
  EXPECT_EQ(x->limits.pids_limit, 64);
  auto back = to_json(*x);
  EXPECT_EQ(back["served"], "cold");
  EXPECT_EQ(back["resource_limits"]["memory"], "1.5g") << "the user's spelling, unchanged";
  EXPECT_EQ(back["resource_limits"]["cpus"], "0.5");
  EXPECT_EQ(back["resource_limits"]["pids_limit"], "64");
  EXPECT_EQ(back["resource_limits"]["enabled"], true);

  // Served empty (a start that never ran) and no limits at all load too.
  auto failed = old;
  failed["served"] = "";
  failed["state"] = "ended";
  failed["resource_limits"] = {{"enabled", false}, {"memory", ""}, {"cpus", ""},
                               {"pids_limit", ""}};
  auto f = session_from_json(failed);
  ASSERT_TRUE(f) << error_message(f.error());
  EXPECT_EQ(f->served, served_kind::none);
  EXPECT_FALSE(f->limits.enabled);
  EXPECT_EQ(to_json(*f)["served"], "");
  EXPECT_EQ(to_json(*f)["resource_limits"], failed["resource_limits"]);

  // The reference's numbers for limits (no version, no served) load as before.
  auto ref = nlohmann::json::parse(R"({"name": "ref", "project_dir": "/tmp/r",
    "created_at": "2026-01-26T12:00:00Z",
    "resource_limits": {"enabled": true, "memory": "4g", "cpus": 2, "pids_limit": 100}})");
  auto r = session_from_json(ref);
  ASSERT_TRUE(r) << error_message(r.error());
  EXPECT_EQ(r->served, served_kind::none);
  EXPECT_EQ(r->limits.memory_bytes, 4LL << 30);
  EXPECT_EQ(r->limits.cpus_text, "2");

  // Text that is no served kind is a corrupt file, as a bad state is.
  auto wrong = old;
  wrong["served"] = "lukewarm";
  EXPECT_FALSE(session_from_json(wrong));
}

TEST(typed_values_json, an_old_worker_file_loads_and_writes_back_the_same_text) {
  for (std::string state : {"creating", "warm", "claimed", "busy", "stopping", "failed"}) {
    nlohmann::json old = {{"version", 1},        {"id", "w1"},
                          {"container_id", "c1"}, {"state", state},
                          {"created_at", "t0"},   {"warm_since", ""},
                          {"reason", ""}};
    auto w = worker_from_json(old);
    ASSERT_TRUE(w) << state << ": " << error_message(w.error());
    EXPECT_EQ(to_string(w->state), state);
    EXPECT_EQ(to_json(*w), old) << "the same text back";
  }
  nlohmann::json bad = {{"id", "w1"}, {"state", "sleeping"}};
  EXPECT_FALSE(worker_from_json(bad));
  nlohmann::json none = {{"id", "w1"}};
  auto n = worker_from_json(none);
  ASSERT_TRUE(n);
  EXPECT_EQ(n->state, worker_state::none);
}
