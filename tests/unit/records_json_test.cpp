// Session files: "parent" is the parent container as the reference shows it;
// the namespace owner, when it is another container, is "netns"; a file of
// an older writer (the owner in "parent") still loads, with both right.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "runtime/records_json.hpp"

using namespace hal9000;
using json = nlohmann::json;

TEST(records_json, parent_and_netns_round_trip) {
  session_record r;
  r.name = "s1";
  r.parent = "hal9000-parent";
  r.netns = "hal9000-netns";
  r.project_dir = "/tmp/p";
  r.created_at = "2026-01-26T12:00:00Z";
  auto j = to_json(r);
  EXPECT_EQ(j.value("parent", ""), "hal9000-parent");
  EXPECT_EQ(j.value("netns", ""), "hal9000-netns");
  auto back = session_from_json(j);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->parent, "hal9000-parent");
  EXPECT_EQ(back->netns, "hal9000-netns");
  EXPECT_EQ(namespace_owner_of(*back), "hal9000-netns");
  // Host mode: the parent owns the namespace; no "netns".
  r.netns.clear();
  j = to_json(r);
  EXPECT_FALSE(j.contains("netns"));
  back = session_from_json(j);
  ASSERT_TRUE(back);
  EXPECT_EQ(namespace_owner_of(*back), "hal9000-parent");
}

TEST(records_json, an_older_file_with_the_owner_as_parent_loads) {
  auto j = json{{"version", 1},
                {"name", "s1"},
                {"parent", "i15f-netns"},
                {"project_dir", "/tmp/p"},
                {"created_at", "2026-01-26T12:00:00Z"},
                {"state", "running"}};
  auto r = session_from_json(j);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->parent, "i15f-parent");
  EXPECT_EQ(r->netns, "i15f-netns");
  EXPECT_EQ(namespace_owner_of(*r), "i15f-netns");
  // A host daemon's file stays as it is.
  j["parent"] = "hal9000-parent";
  r = session_from_json(j);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->parent, "hal9000-parent");
  EXPECT_EQ(r->netns, "");
}
