#include "runtime/records_json.hpp"

#include "runtime/names.hpp"

#include <nlohmann/json.hpp>

#include "messages/error.hpp"
#include "runtime/limits.hpp"
#include "runtime/validate.hpp"

namespace hal9000 {

namespace {

using json = nlohmann::json;

caf::error bad(const std::string& why) {
  return make_error(errc::invalid_argument, why);
}

// Reads a string field; anything else is a type error, except that limits
// may be numbers (older writers put "cpus": 2), printed as strings.
caf::error read_string(const json& j, const char* key, bool required,
                       std::string& out, bool number_ok = false) {
  auto i = j.find(key);
  if (i == j.end() || i->is_null()) {
    if (required)
      return bad(std::string{"missing field '"} + key + "'");
    return caf::none;
  }
  if (i->is_string())
    out = i->get<std::string>();
  else if (number_ok && i->is_number_integer())
    out = std::to_string(i->get<int64_t>());
  else if (number_ok && i->is_number())
    out = i->dump();
  else
    return bad(std::string{"field '"} + key + "' is not a string");
  if (required && out.empty())
    return bad(std::string{"field '"} + key + "' is empty");
  return caf::none;
}

caf::error check_object_and_version(const json& j) {
  if (!j.is_object())
    return bad("not a JSON object");
  auto v = j.find("version");
  if (v == j.end())
    return caf::none;  // files in the reference's format carry no version
  if (!v->is_number_integer() || v->get<int64_t>() < 1)
    return bad("field 'version' is not a positive integer");
  if (v->get<int64_t>() > store_layout_version)
    return bad("version " + std::to_string(v->get<int64_t>())
               + " is newer than this hal9000's "
               + std::to_string(store_layout_version));
  return caf::none;
}

// The typed end; an older file has only the words ("end_reason"): kept as
// kind other, never parsed.
caf::error read_end(const json& j, end_reason& out) {
  auto e = j.find("end");
  if (e == j.end() || e->is_null()) {
    std::string words;
    if (auto err = read_string(j, "end_reason", false, words))
      return err;
    if (!words.empty()) {
      out.kind = end_kind::other;
      out.detail = words;
    }
    return caf::none;
  }
  if (!e->is_object())
    return bad("field 'end' is not an object");
  std::string kind;
  caf::error err;
  if ((err = read_string(*e, "kind", false, kind))
      || (err = read_string(*e, "memory_limit", false, out.memory_limit))
      || (err = read_string(*e, "detail", false, out.detail)))
    return err;
  if (!kind.empty() && !from_string(kind, out.kind))
    return bad("field 'end.kind' has an unknown value '" + kind + "'");
  if (auto c = e->find("code"); c != e->end() && !c->is_null()) {
    if (!c->is_number_integer())
      return bad("field 'end.code' is not an integer");
    out.code = static_cast<int32_t>(c->get<int64_t>());
  }
  return caf::none;
}

} // namespace

json to_json(const session_record& x) {
  auto j = json{
    {"version", store_layout_version},
    {"name", x.name},
    {"image", x.image},
    {"parent", x.parent},
    {"project_dir", x.project_dir},
    {"created_at", x.created_at},
    // The spelling, as the reference's file has it ("4g", "2", "100").
    {"resource_limits", {{"enabled", x.limits.enabled},
                         {"memory", x.limits.memory_text},
                         {"cpus", x.limits.cpus_text},
                         {"pids_limit", x.limits.pids_limit_text}}},
    {"state", to_string(x.state)},
    {"container_id", x.container_id},
    {"worker_id", x.worker_id},
    {"user_id", x.user_id},
    {"claimed_at", x.claimed_at},
    {"ended_at", x.ended_at},
    {"end_reason", to_string(x.end)},
    {"end", {{"kind", to_string(x.end.kind)},
             {"code", x.end.code},
             {"memory_limit", x.end.memory_limit},
             {"detail", x.end.detail}}},
    {"oom_kills", x.oom_kills},
    {"last_oom_at", x.last_oom_at},
    {"state_reason", x.state_reason},
    {"restore", x.restore},
    {"served", to_string(x.served)},
    {"claim_latency_ms", x.claim_latency_ms},
    {"usage", {{"requests", x.usage.requests},
               {"errors", x.usage.errors},
               {"input_tokens", x.usage.input_tokens},
               {"output_tokens", x.usage.output_tokens}}},
  };
  if (!x.netns.empty())
    j["netns"] = x.netns;
  return j;
}

json to_json(const worker_record& x) {
  return json{
    {"version", store_layout_version},
    {"id", x.id},
    {"container_id", x.container_id},
    {"state", to_string(x.state)},
    {"created_at", x.created_at},
    {"warm_since", x.warm_since},
    {"reason", x.reason},
  };
}

caf::expected<session_record> session_from_json(const json& j) {
  if (auto err = check_object_and_version(j))
    return err;
  session_record x;
  std::string state;
  std::string served;
  caf::error err;
  if ((err = read_string(j, "name", true, x.name))
      || (err = read_string(j, "image", false, x.image))
      || (err = read_string(j, "parent", false, x.parent))
      || (err = read_string(j, "netns", false, x.netns))
      || (err = read_string(j, "project_dir", true, x.project_dir))
      || (err = read_string(j, "created_at", true, x.created_at))
      || (err = read_string(j, "state", false, state))
      || (err = read_string(j, "container_id", false, x.container_id))
      || (err = read_string(j, "worker_id", false, x.worker_id))
      || (err = read_string(j, "user_id", false, x.user_id))
      || (err = read_string(j, "claimed_at", false, x.claimed_at))
      || (err = read_string(j, "ended_at", false, x.ended_at))
      || (err = read_string(j, "served", false, served))
      || (err = read_string(j, "last_oom_at", false, x.last_oom_at))
      || (err = read_string(j, "state_reason", false, x.state_reason))
      || (err = read_string(j, "restore", false, x.restore)))
    return err;
  if (auto e = read_end(j, x.end))
    return e;
  // An older writer recorded the namespace owner as "parent" in container
  // mode: the parent is the daemon's container of the same prefix.
  if (auto prefix = names::prefix_of_netns(x.parent); x.netns.empty() && !prefix.empty()) {
    x.netns = x.parent;
    x.parent = names::parent_container(prefix);
  }
  if (auto n = j.find("oom_kills"); n != j.end() && !n->is_null()) {
    if (!n->is_number_unsigned() && !(n->is_number_integer() && n->get<int64_t>() >= 0))
      return bad("field 'oom_kills' is not a count");
    x.oom_kills = static_cast<uint32_t>(n->get<uint64_t>());
  }
  if (auto e = valid_name(x.name))
    return e;
  // A file without a state predates the field: it was written for a
  // running session.
  if (!state.empty() && !from_string(state, x.state))
    return bad("field 'state' is '" + state + "', not starting, running or ended");
  if (!from_string(served, x.served))
    return bad("field 'served' is '" + served + "', not warm or cold");
  if (auto rl = j.find("resource_limits"); rl != j.end() && !rl->is_null()) {
    if (!rl->is_object())
      return bad("field 'resource_limits' is not an object");
    bool enabled = true;
    std::string memory, cpus, pids;
    if (auto en = rl->find("enabled"); en != rl->end() && !en->is_null()) {
      if (!en->is_boolean())
        return bad("field 'resource_limits.enabled' is not a boolean");
      enabled = en->get<bool>();
    }
    if ((err = read_string(*rl, "memory", false, memory, true))
        || (err = read_string(*rl, "cpus", false, cpus, true))
        || (err = read_string(*rl, "pids_limit", false, pids, true)))
      return err;
    // Parsed here, where the file's text enters; a text that does not parse
    // loads as it always did (its number 0: refused before any use).
    x.limits = read_limits(enabled, memory, cpus, pids);
  }
  if (auto lat = j.find("claim_latency_ms"); lat != j.end() && !lat->is_null()) {
    if (!lat->is_number())
      return bad("field 'claim_latency_ms' is not a number");
    x.claim_latency_ms = lat->get<double>();
  }
  if (auto u = j.find("usage"); u != j.end() && !u->is_null()) {
    if (!u->is_object())
      return bad("field 'usage' is not an object");
    for (auto [key, field] : {std::pair{"requests", &x.usage.requests},
                              std::pair{"errors", &x.usage.errors},
                              std::pair{"input_tokens", &x.usage.input_tokens},
                              std::pair{"output_tokens", &x.usage.output_tokens}}) {
      auto v = u->find(key);
      if (v == u->end() || v->is_null())
        continue;
      if (!v->is_number_unsigned())
        return bad(std::string{"field 'usage."} + key + "' is not a whole number");
      *field = v->get<uint64_t>();
    }
  }
  return x;
}

caf::expected<worker_record> worker_from_json(const json& j) {
  if (auto err = check_object_and_version(j))
    return err;
  worker_record x;
  std::string state;
  caf::error err;
  if ((err = read_string(j, "id", true, x.id))
      || (err = read_string(j, "container_id", false, x.container_id))
      || (err = read_string(j, "state", false, state))
      || (err = read_string(j, "created_at", false, x.created_at))
      || (err = read_string(j, "warm_since", false, x.warm_since))
      || (err = read_string(j, "reason", false, x.reason)))
    return err;
  if (auto e = valid_name(x.id))
    return e;
  if (!from_string(state, x.state))
    return bad("field 'state' is '" + state + "', not a worker state");
  return x;
}

} // namespace hal9000
