#pragma once
// Conversions between our docker types (messages/docker.hpp) and the Engine
// API's JSON. Pure functions, no I/O: unit-tested in tests/unit.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "messages/docker.hpp"

namespace hal9000::docker::json {

/// Body of POST /containers/create.
std::string create_body(const container_spec& spec);

/// Body of POST /containers/{id}/update; zero fields are left out. A memory
/// change also sets MemorySwap to twice the memory, as create does, because
/// the engine refuses a memory limit above the old swap limit.
std::string update_body(int64_t memory, int64_t nano_cpus, int64_t pids_limit);

/// Body of POST /containers/{id}/exec.
std::string exec_create_body(const exec_req& req);

/// Body of POST /volumes/create.
std::string volume_create_body(const std::string& name,
                               const std::map<std::string, std::string>& labels);

/// `filters` query value selecting containers by exact labels:
/// {"label":["k=v","k2"]} (an empty value matches the key's presence).
std::string label_filters(const std::map<std::string, std::string>& labels);

// Parsers fail with internal "malformed reply from the Docker engine to <what>".

caf::expected<version_info> parse_version(const std::string& body);
caf::expected<container_info> parse_container_info(const std::string& body);
caf::expected<std::vector<container_summary>>
parse_container_list(const std::string& body);
caf::expected<image_info> parse_image_info(const std::string& body);
caf::expected<volume_info> parse_volume_info(const std::string& body);
caf::expected<std::string> parse_id(const std::string& body, const char* what);
caf::expected<container_created> parse_created(const std::string& body);
/// {"StatusCode": n, "Error": {...}} of POST /containers/{id}/wait.
caf::expected<int64_t> parse_wait(const std::string& body);
/// GET /exec/{id}/json: exit code, or nullopt while still running.
caf::expected<std::optional<int64_t>> parse_exec_inspect(const std::string& body);

/// One line of /events. nullopt for lines that are not container events.
/// labels holds the actor's attributes minus name, image and exitCode.
std::optional<event> parse_event(const std::string& line);

/// One line of a pull or import stream: progress, or the error it reports.
struct stream_line {
  std::optional<pull_progress> progress;
  std::string error;  // non-empty: the stream reports a failure
};
stream_line parse_stream_line(const std::string& line);

/// Splits Docker's multiplexed stdout/stderr stream (8-byte frame headers:
/// stream, 0, 0, 0, big-endian size). Input that is not framed (a TTY) goes
/// to out unchanged.
void demux(const std::string& raw, std::string& out, std::string& err);

/// True when version a is older than b ("1.9" < "1.41"): numbers, not text.
bool version_less(const std::string& a, const std::string& b);

} // namespace hal9000::docker::json
