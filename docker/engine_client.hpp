#pragma once
// The Docker Engine API as blocking calls over one kept-alive connection: the
// logic of every docker actor operation, with no actors involved (the actor's
// I/O workers each own one engine_client; benchmarks call it directly to
// measure the engine's own time). Not thread-safe: one caller at a time.

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "docker/http_client.hpp"
#include "messages/docker.hpp"

namespace hal9000::docker {

/// The newest API version we speak; older engines are used at their version.
constexpr const char* newest_api = "1.43";
/// The oldest API version we accept (Mounts, Init and NanoCpus need 1.25).
constexpr const char* oldest_api = "1.25";

class engine_client {
public:
  engine_client(endpoint ep, std::chrono::milliseconds timeout);

  // Every call's errors: see messages/docker.hpp. Void calls return an empty
  // caf::error on success.

  caf::expected<std::string> ping();
  /// Negotiates the API version on first use (the first versioned call does
  /// this implicitly).
  caf::expected<version_info> version();
  caf::expected<std::string> info();

  caf::expected<image_info> image_inspect(const std::string& image);
  caf::expected<image_info>
  image_pull(const std::string& image,
             const std::function<void(pull_progress)>& progress,
             std::chrono::milliseconds timeout);
  caf::expected<image_info> image_import(const image_import_req& req,
                                         std::chrono::milliseconds timeout);
  caf::error image_remove(const std::string& image, bool force);

  caf::expected<container_created> create(const container_spec& spec);
  caf::error start(const std::string& id);
  caf::error stop(const std::string& id, int32_t timeout_s);
  caf::error kill(const std::string& id, const std::string& signal);
  caf::error remove(const std::string& id, bool force, bool volumes);
  caf::expected<container_info> inspect(const std::string& id);
  caf::expected<std::vector<container_summary>>
  list(const std::map<std::string, std::string>& labels, bool all);
  caf::error rename(const std::string& id, const std::string& new_name);
  caf::error update(const update_req& req);
  caf::expected<exec_result> exec(const exec_req& req);
  caf::expected<int64_t> wait(const std::string& id, int32_t timeout_s);
  caf::expected<std::string> logs(const std::string& id, int32_t tail);

  caf::expected<volume_info> volume_create(const volume_create_req& req);
  caf::expected<volume_info> volume_inspect(const std::string& name);
  caf::error volume_remove(const std::string& name, bool force);

  /// POST /containers/{id}/exec with a ready body (Cmd, Tty, Attach*, Env,
  /// WorkingDir); replies the exec's id. Used by exec_stream, which starts it
  /// on a hijacked connection of its own.
  caf::expected<std::string> exec_create(const std::string& id, const std::string& body);
  /// GET /exec/{exec_id}/json: the exit code, nullopt while it runs.
  caf::expected<std::optional<int64_t>> exec_exit_code(const std::string& exec_id);

  const endpoint& where() const { return http_.where(); }

  /// "/v1.41": negotiated once from GET /version.
  caf::expected<std::string> api_prefix();

private:

  /// A versioned call; statuses >= 400 become errors about `subject`.
  caf::expected<http_response> call(http_request req, const std::string& what,
                                    const std::string& subject);

  /// A call whose reply is a stream of JSON lines (pull, import); the first
  /// error line becomes the result.
  caf::expected<http_response>
  call_lines(http_request req, const std::string& what,
             const std::string& subject,
             const std::function<void(const std::string&)>& on_line);

  http_client http_;
  std::chrono::milliseconds timeout_;
  std::string prefix_;  // empty until negotiated
  version_info version_;
};

/// Percent-encodes a query value.
std::string url_escape(const std::string& s);

} // namespace hal9000::docker
