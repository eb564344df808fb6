// The Engine API JSON codec and the error mapping, without an engine.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "docker/http_client.hpp"
#include "docker/json_codec.hpp"
#include "messages/error.hpp"

using namespace hal9000;
using namespace hal9000::docker;
using js = nlohmann::json;
namespace codec = hal9000::docker::json;

TEST(DockerJson, CreateBodyCarriesTheWholeSpec) {
  container_spec s;
  s.name = "w1";
  s.image = "img:1";
  s.cmd = {"sleep", "1"};
  s.env = {"A=1"};
  s.labels = {{"hal9000.role", "worker"}};
  s.working_dir = "/workspace";
  s.user = "claude";
  s.init = true;
  s.memory = 4LL << 30;
  s.nano_cpus = 1500000000;
  s.pids_limit = 100;
  s.binds = {"/a:/b:ro"};
  s.mounts = {mount_spec{"bind", "/slot", "/workspace", false, "rslave"},
              mount_spec{"volume", "data", "/data", true, ""}};
  s.network_mode = "container:hal9000-parent";
  s.ports = {port_binding{8000, "tcp", "127.0.0.1", 8000}};
  s.cap_drop = {"ALL"};
  s.cap_add = {"CHOWN"};
  s.security_opt = {"no-new-privileges"};
  s.readonly_rootfs = true;
  s.tmpfs = {{"/tmp", "size=64m"}};
  s.auto_remove = true;
  auto j = js::parse(codec::create_body(s));
  EXPECT_EQ(j["Image"], "img:1");
  EXPECT_EQ(j["Cmd"], js({"sleep", "1"}));
  EXPECT_EQ(j["Env"], js({"A=1"}));
  EXPECT_EQ(j["Labels"]["hal9000.role"], "worker");
  EXPECT_EQ(j["WorkingDir"], "/workspace");
  EXPECT_EQ(j["User"], "claude");
  EXPECT_FALSE(j.contains("Entrypoint"));
  auto& hc = j["HostConfig"];
  EXPECT_EQ(hc["Init"], true);
  EXPECT_EQ(hc["Memory"], 4LL << 30);
  EXPECT_EQ(hc["NanoCpus"], 1500000000);
  EXPECT_EQ(hc["PidsLimit"], 100);
  EXPECT_EQ(hc["Binds"], js({"/a:/b:ro"}));
  EXPECT_EQ(hc["Mounts"][0]["BindOptions"]["Propagation"], "rslave");
  EXPECT_EQ(hc["Mounts"][0]["Source"], "/slot");
  EXPECT_FALSE(hc["Mounts"][1].contains("BindOptions"));
  EXPECT_EQ(hc["Mounts"][1]["ReadOnly"], true);
  EXPECT_EQ(hc["NetworkMode"], "container:hal9000-parent");
  EXPECT_EQ(hc["PortBindings"]["8000/tcp"][0]["HostIp"], "127.0.0.1");
  EXPECT_EQ(hc["PortBindings"]["8000/tcp"][0]["HostPort"], "8000");
  EXPECT_TRUE(j["ExposedPorts"].contains("8000/tcp"));
  EXPECT_EQ(hc["CapDrop"], js({"ALL"}));
  EXPECT_EQ(hc["CapAdd"], js({"CHOWN"}));
  EXPECT_EQ(hc["SecurityOpt"], js({"no-new-privileges"}));
  EXPECT_EQ(hc["ReadonlyRootfs"], true);
  EXPECT_EQ(hc["Tmpfs"]["/tmp"], "size=64m");
  EXPECT_EQ(hc["AutoRemove"], true);
}

TEST(DockerJson, EmptySpecLeavesEngineDefaults) {
  container_spec s;
  s.image = "x";
  auto j = js::parse(codec::create_body(s));
  EXPECT_FALSE(j.contains("Cmd"));
  auto& hc = j["HostConfig"];
  for (auto* k : {"Memory", "NanoCpus", "PidsLimit", "Init", "Mounts", "NetworkMode",
                  "PortBindings", "ReadonlyRootfs"})
    EXPECT_FALSE(hc.contains(k)) << k;
}

TEST(DockerJson, UpdateBodyKeepsSwapAtTwiceMemoryAndSkipsZeros) {
  auto j = js::parse(codec::update_body(512, 0, 7));
  EXPECT_EQ(j["Memory"], 512);
  EXPECT_EQ(j["MemorySwap"], 1024);
  EXPECT_FALSE(j.contains("NanoCpus"));
  EXPECT_EQ(j["PidsLimit"], 7);
}

TEST(DockerJson, LabelFiltersAreExact) {
  auto j = js::parse(codec::label_filters({{"a", "1"}, {"b", ""}}));
  EXPECT_EQ(j["label"], js({"a=1", "b"}));
}

TEST(DockerJson, InspectToleratesNulls) {
  auto body = R"({"Id":"abc","Name":"/w1","Config":{"Image":"img","Labels":null,"Env":null},
    "State":{"Status":"exited","Running":false,"ExitCode":137,"OOMKilled":true,"Pid":0},
    "HostConfig":{"Memory":0,"PidsLimit":null,"CapAdd":null,"NetworkMode":"none"},
    "Mounts":[{"Type":"bind","Source":"/s","Destination":"/d","RW":false,"Propagation":"rslave"}]})";
  auto c = codec::parse_container_info(body);
  ASSERT_TRUE(c) << error_message(c.error());
  EXPECT_EQ(c->name, "w1");
  EXPECT_EQ(c->exit_code, 137);
  EXPECT_TRUE(c->oom_killed);
  EXPECT_EQ(c->pids_limit, 0);
  EXPECT_TRUE(c->labels.empty());
  ASSERT_EQ(c->mounts.size(), 1u);
  EXPECT_TRUE(c->mounts[0].read_only);
  EXPECT_EQ(c->mounts[0].propagation, "rslave");
}

TEST(DockerJson, MalformedRepliesAreInternalErrors) {
  for (auto* body : {"", "garbage", "[1,2]", R"({"Name":"x"})"}) {
    auto c = codec::parse_container_info(body);
    ASSERT_FALSE(c) << body;
    EXPECT_EQ(error_code(c.error()), errc::internal);
    EXPECT_EQ(error_message(c.error()).rfind("malformed reply from the Docker engine", 0), 0u);
  }
  EXPECT_FALSE(codec::parse_container_list("{}"));
  EXPECT_FALSE(codec::parse_version("{}"));
}

TEST(DockerJson, ListRows) {
  auto l = codec::parse_container_list(
    R"([{"Id":"a","Names":["/n1"],"Image":"i","State":"running","Status":"Up 1 s",
         "Created":17,"Labels":{"k":"v"}}])");
  ASSERT_TRUE(l);
  ASSERT_EQ(l->size(), 1u);
  EXPECT_EQ((*l)[0].name, "n1");
  EXPECT_EQ((*l)[0].created, 17);
  EXPECT_EQ((*l)[0].labels.at("k"), "v");
}

TEST(DockerJson, DieEventCarriesExitCodeAndLabels) {
  auto e = codec::parse_event(
    R"({"status":"die","id":"abc","Type":"container","Action":"die",
        "Actor":{"ID":"abc","Attributes":{"exitCode":"137","image":"img","name":"w1",
        "hal9000.role":"worker"}},"time":1,"timeNano":1000000001})");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->action, "die");
  EXPECT_EQ(e->id, "abc");
  EXPECT_EQ(e->name, "w1");
  EXPECT_EQ(e->exit_code, 137);
  EXPECT_EQ(e->time_nano, 1000000001);
  EXPECT_EQ(e->labels, (std::map<std::string, std::string>{{"hal9000.role", "worker"}}));
  EXPECT_FALSE(codec::parse_event(R"({"Type":"network","Action":"connect","Actor":{"ID":"n"}})"));
  EXPECT_FALSE(codec::parse_event("not json"));
  auto start = codec::parse_event(
    R"({"Type":"container","Action":"start","Actor":{"ID":"abc","Attributes":{}}})");
  ASSERT_TRUE(start);
  EXPECT_EQ(start->exit_code, -1);
}

TEST(DockerJson, StreamLines) {
  auto p = codec::parse_stream_line(
    R"({"status":"Downloading","id":"l1","progressDetail":{"current":5,"total":10}})");
  ASSERT_TRUE(p.progress);
  EXPECT_EQ(p.progress->layer, "l1");
  EXPECT_EQ(p.progress->current, 5);
  EXPECT_EQ(p.progress->total, 10);
  auto e = codec::parse_stream_line(R"({"errorDetail":{"message":"boom"},"error":"boom"})");
  EXPECT_EQ(e.error, "boom");
  EXPECT_FALSE(e.progress);
}

TEST(DockerJson, DemuxSplitsFramesAndPassesRawOutput) {
  std::string raw;
  auto frame = [&](char stream, const std::string& payload) {
    raw += stream;
    raw += std::string(3, '\0');
    auto n = static_cast<uint32_t>(payload.size());
    raw += static_cast<char>(n >> 24);
    raw += static_cast<char>((n >> 16) & 0xff);
    raw += static_cast<char>((n >> 8) & 0xff);
    raw += static_cast<char>(n & 0xff);
    raw += payload;
  };
  frame(1, "out1\n");
  frame(2, "err1\n");
  frame(1, std::string(70000, 'x'));
  std::string out, err;
  codec::demux(raw, out, err);
  EXPECT_EQ(out, "out1\n" + std::string(70000, 'x'));
  EXPECT_EQ(err, "err1\n");
  std::string tty_out, tty_err;
  codec::demux("plain tty text\n", tty_out, tty_err);
  EXPECT_EQ(tty_out, "plain tty text\n");
  EXPECT_TRUE(tty_err.empty());
}

TEST(DockerJson, VersionsCompareAsNumbers) {
  EXPECT_TRUE(codec::version_less("1.9", "1.41"));
  EXPECT_TRUE(codec::version_less("1.41", "1.43"));
  EXPECT_FALSE(codec::version_less("1.44", "1.43"));
  EXPECT_FALSE(codec::version_less("1.43", "1.43"));
}

TEST(DockerErrors, StatusesMapToProjectErrors) {
  auto e = error_from_status(404, R"({"message":"no such image: x: No such image: x:latest"})",
                             "image inspect x", "x");
  EXPECT_EQ(error_code(e), errc::not_found);
  EXPECT_EQ(error_message(e), "no such image: x:latest");
  e = error_from_status(404, R"({"message":"get v1: no such volume"})", "inspect volume v1", "v1");
  EXPECT_EQ(error_message(e), "no such volume: v1");
  e = error_from_status(409, R"({"message":"Conflict. The container name \"/w1\" is already in use by container \"abc\". You have to remove (or rename) that container to be able to reuse that name."})",
                        "create container w1", "img");
  EXPECT_EQ(error_code(e), errc::already_exists);
  EXPECT_EQ(error_message(e), "name already in use: w1");
  e = error_from_status(409, R"({"message":"Container abc is not running"})", "kill container abc",
                        "abc");
  EXPECT_EQ(error_code(e), errc::conflict);
  EXPECT_NE(error_message(e).find("is not running"), std::string::npos);
  e = error_from_status(400, R"({"message":"bad"})", "create container w1", "img");
  EXPECT_EQ(error_code(e), errc::invalid_argument);
  e = error_from_status(500, "not json at all", "start container c", "c");
  EXPECT_EQ(error_code(e), errc::internal);
  EXPECT_NE(error_message(e).find("500"), std::string::npos);
  EXPECT_NE(error_message(e).find("not json at all"), std::string::npos);
}
