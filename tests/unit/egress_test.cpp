// The egress policy's pure parts: HAL9000_EGRESS_ALLOW parsing, the packet
// filter rules, the session environment prefix, the config checks.
#include <algorithm>

#include <gtest/gtest.h>

#include "messages/error.hpp"
#include "runtime/config.hpp"
#include "runtime/egress.hpp"
#include "runtime/late_bind.hpp"

using namespace hal9000;

TEST(egress, allow_list_parses_hosts_wildcards_and_star) {
  auto a = egress::parse_allow("api.anthropic.com, *.github.com registry.npmjs.org,,");
  ASSERT_TRUE(a);
  EXPECT_EQ(*a, (std::vector<std::string>{"api.anthropic.com", "*.github.com",
                                          "registry.npmjs.org"}));
  EXPECT_FALSE(egress::is_open(*a));
  auto open = egress::parse_allow("*");
  ASSERT_TRUE(open);
  EXPECT_TRUE(egress::is_open(*open));
  for (auto bad : {"exa mple$.com", "a/b", "http://x.com", "*.", "x;rm"}) {
    auto r = egress::parse_allow(bad);
    EXPECT_FALSE(r) << bad;
  }
  auto d = egress::parse_allow(egress::default_allow);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->front(), "api.anthropic.com");
}

// Claude Code asks platform.claude.com at its start (login): allowed by
// default, in the daemon's configuration and so in the filtering proxy's.
TEST(egress, the_default_allows_claude_codes_login_host) {
  auto d = egress::parse_allow(config{}.egress_allow);
  ASSERT_TRUE(d);
  EXPECT_NE(std::find(d->begin(), d->end(), "platform.claude.com"), d->end());
  EXPECT_EQ(config{}.egress_allow, egress::default_allow);
}

TEST(egress, closed_rules_let_out_only_loopback_replies_and_the_filter_uid) {
  auto r = egress::rules_v4(false, 8003);
  EXPECT_NE(r.find("-A OUTPUT -o lo -j ACCEPT"), std::string::npos);
  EXPECT_NE(r.find("-A OUTPUT -d 127.0.0.0/8 -j ACCEPT"), std::string::npos);
  EXPECT_NE(r.find("--ctstate ESTABLISHED,RELATED -j ACCEPT"), std::string::npos);
  EXPECT_NE(r.find("--uid-owner 64991 -j ACCEPT"), std::string::npos);
  EXPECT_NE(r.find("REJECT"), std::string::npos);
  EXPECT_NE(r.find("! --uid-owner 64991 -j REDIRECT --to-ports 8003"), std::string::npos);
  // The accepts come before the reject.
  EXPECT_LT(r.find("--uid-owner 64991 -j ACCEPT"), r.find("-j REJECT"));
  auto open = egress::rules_v4(true, 8003);
  EXPECT_EQ(open.find("-A "), std::string::npos) << open;
  EXPECT_NE(open.find("COMMIT"), std::string::npos);
  EXPECT_NE(egress::rules_v6(false).find("REJECT"), std::string::npos);
  auto note = egress::policy_note({"a.com", "*.b.org"});
  EXPECT_NE(note.find("HAL9000_EGRESS_ALLOW"), std::string::npos);
  EXPECT_NE(note.find("a.com,*.b.org"), std::string::npos);
}

TEST(egress, session_environment_is_exported_plainly_or_refused) {
  auto c = late_bind::with_env({"ANTHROPIC_BASE_URL=http://127.0.0.1:8001",
                                "ANTHROPIC_API_KEY=sk-ant-hal9000-abc", "NO_PROXY=localhost,127.0.0.1"},
                               "claude");
  ASSERT_TRUE(c);
  EXPECT_EQ(*c, "export ANTHROPIC_BASE_URL=http://127.0.0.1:8001 "
                "ANTHROPIC_API_KEY=sk-ant-hal9000-abc NO_PROXY=localhost,127.0.0.1; claude");
  EXPECT_EQ(*late_bind::with_env({}, "x"), "x");
  for (auto bad : {"A=b c", "A=$(id)", "A='x'", "1A=x", "A-B=x", "=x", "A=x;y", "A=`id`"})
    EXPECT_FALSE(late_bind::with_env({bad}, "x")) << bad;
}

TEST(egress, config_reads_the_sandbox_settings_and_refuses_clashes) {
  std::map<std::string, std::string> vars{{"HAL9000_HOME", "/tmp/h9-egress-test"},
                                          {"HAL9000_EGRESS_ALLOW", "*"},
                                          {"HAL9000_PROXY_PORT", "9001"},
                                          {"HAL9000_PROXY_UPSTREAM", "https://localhost:4443"}};
  auto env = [&](const std::string& k) -> std::optional<std::string> {
    if (auto i = vars.find(k); i != vars.end())
      return i->second;
    return std::nullopt;
  };
  auto c = load_config(env);
  ASSERT_TRUE(c) << to_string(c.error());
  EXPECT_EQ(c->egress_allow, "*");
  EXPECT_EQ(c->proxy_port, 9001);
  EXPECT_EQ(c->proxy_upstream, "https://localhost:4443");
  vars["HAL9000_EGRESS_ALLOW"] = "bad host!";
  EXPECT_FALSE(load_config(env));
  vars["HAL9000_EGRESS_ALLOW"] = "*";
  vars["HAL9000_PROXY_PORT"] = "8000";  // CHROMADB_PORT's default
  auto clash = load_config(env);
  ASSERT_FALSE(clash);
  EXPECT_NE(error_message(clash.error()).find("must differ"), std::string::npos);
  vars["HAL9000_PROXY_PORT"] = "9001";
  vars["HAL9000_PROXY_UPSTREAM"] = "ftp://x";
  EXPECT_FALSE(load_config(env));
}
