#include "docker/engine_client.hpp"

#include <algorithm>
#include <cctype>
#include <thread>

#include "docker/json_codec.hpp"
#include "messages/error.hpp"

namespace hal9000::docker {

namespace {

using ms = std::chrono::milliseconds;

http_request get(std::string path, ms timeout) {
  http_request r;
  r.path = std::move(path);
  r.timeout = timeout;
  return r;
}

http_request post(std::string path, std::string body, ms timeout) {
  http_request r;
  r.method = "POST";
  r.path = std::move(path);
  r.body = std::move(body);
  r.timeout = timeout;
  return r;
}

http_request del(std::string path, ms timeout) {
  http_request r;
  r.method = "DELETE";
  r.path = std::move(path);
  r.timeout = timeout;
  return r;
}

bool contains(const std::string& s, const char* what) {
  return s.find(what) != std::string::npos;
}

// A failed pull says why in free text; sort it into our codes.
caf::error pull_error(const std::string& image, const std::string& msg) {
  for (auto* unreachable : {"dial tcp", "no such host", "connection refused",
                            "i/o timeout", "TLS handshake", "network is unreachable",
                            "Client.Timeout", "context deadline exceeded"})
    if (contains(msg, unreachable))
      return make_error(errc::unavailable,
                        "cannot pull " + image + ": no registry reachable: " + msg);
  for (auto* missing : {"not found", "manifest unknown", "pull access denied",
                        "does not exist", "repository name not known"})
    if (contains(msg, missing))
      return make_error(errc::not_found, "no such image in the registry: " + image
                                           + ": " + msg);
  return make_error(errc::internal, "cannot pull " + image + ": " + msg);
}

// "repo/name:tag" -> {"repo/name", "tag"}; a digest stays in the name.
std::pair<std::string, std::string> split_ref(const std::string& ref) {
  if (contains(ref, "@"))
    return {ref, ""};
  auto colon = ref.rfind(':');
  auto slash = ref.rfind('/');
  if (colon == std::string::npos || (slash != std::string::npos && colon < slash))
    return {ref, "latest"};
  return {ref.substr(0, colon), ref.substr(colon + 1)};
}

} // namespace

std::string url_escape(const std::string& s) {
  std::string out;
  static const char* hex = "0123456789ABCDEF";
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

engine_client::engine_client(endpoint ep, ms timeout)
  : http_(std::move(ep)), timeout_(timeout) {
  // nothing else: no I/O until the first call
}

caf::expected<std::string> engine_client::ping() {
  auto r = http_.call(get("/_ping", timeout_));
  if (!r)
    return r.error();
  if (r->status != 200)
    return error_from_status(r->status, r->body, "GET /_ping", "engine");
  return std::move(r->body);
}

caf::expected<version_info> engine_client::version() {
  if (!prefix_.empty())
    return version_;
  auto r = http_.call(get("/version", timeout_));
  if (!r)
    return r.error();
  if (r->status != 200)
    return error_from_status(r->status, r->body, "GET /version", "engine");
  auto v = json::parse_version(r->body);
  if (!v)
    return v.error();
  if (json::version_less(v->api_version, oldest_api))
    return make_error(errc::unavailable,
                      "the Docker engine at " + where().host + " speaks API "
                        + v->api_version + ", older than " + oldest_api
                        + ", the oldest hal9000 supports");
  v->negotiated = json::version_less(v->api_version, newest_api) ? v->api_version
                                                                  : newest_api;
  version_ = *v;
  prefix_ = "/v" + v->negotiated;
  return version_;
}

caf::expected<std::string> engine_client::api_prefix() {
  if (prefix_.empty()) {
    auto v = version();
    if (!v)
      return v.error();
  }
  return prefix_;
}

caf::expected<http_response> engine_client::call(http_request req,
                                                 const std::string& what,
                                                 const std::string& subject) {
  auto prefix = api_prefix();
  if (!prefix)
    return prefix.error();
  req.path = *prefix + req.path;
  auto r = http_.call(req);
  if (!r)
    return r.error();
  if (r->status >= 400)
    return error_from_status(r->status, r->body, what, subject);
  return r;
}

caf::expected<http_response>
engine_client::call_lines(http_request req, const std::string& what,
                          const std::string& subject,
                          const std::function<void(const std::string&)>& on_line) {
  std::string buf;
  std::string head;  // the start of the body: an error status explains itself there
  req.on_chunk = [&](const char* data, size_t n) {
    if (head.size() < 4096)
      head.append(data, std::min(n, 4096 - head.size()));
    buf.append(data, n);
    size_t nl;
    while ((nl = buf.find('\n')) != std::string::npos) {
      auto line = buf.substr(0, nl);
      buf.erase(0, nl + 1);
      if (!line.empty())
        on_line(line);
    }
    return true;
  };
  auto prefix = api_prefix();
  if (!prefix)
    return prefix.error();
  req.path = *prefix + req.path;
  // Error statuses arrive with a short JSON body; keep it for the mapping.
  auto r = http_.call(req);
  if (!r)
    return r.error();
  if (r->status >= 400)
    return error_from_status(r->status, head, what, subject);
  if (!buf.empty())
    on_line(buf);
  return r;
}

caf::expected<std::string> engine_client::info() {
  auto r = call(get("/info", timeout_), "GET /info", "engine");
  if (!r)
    return r.error();
  return std::move(r->body);
}

caf::expected<image_info> engine_client::image_inspect(const std::string& image) {
  auto r = call(get("/images/" + image + "/json", timeout_), "image inspect " + image,
                image);
  if (!r)
    return r.error();
  return json::parse_image_info(r->body);
}

caf::expected<image_info>
engine_client::image_pull(const std::string& image,
                          const std::function<void(pull_progress)>& progress,
                          ms timeout) {
  auto [name, tag] = split_ref(image);
  auto path = "/images/create?fromImage=" + url_escape(name);
  if (!tag.empty())
    path += "&tag=" + url_escape(tag);
  std::string failure;
  auto r = call_lines(post(path, "", timeout), "pull " + image, image,
                      [&](const std::string& line) {
                        auto l = json::parse_stream_line(line);
                        if (!l.error.empty() && failure.empty())
                          failure = l.error;
                        if (l.progress && progress) {
                          l.progress->image = image;
                          progress(std::move(*l.progress));
                        }
                      });
  if (!r) {
    // The engine answers 404/500 with Docker's reason; sort that too.
    auto code = error_code(r.error());
    if (code == errc::not_found || code == errc::internal)
      return pull_error(image, error_message(r.error()));
    return r.error();
  }
  if (!failure.empty())
    return pull_error(image, failure);
  return image_inspect(image);
}

caf::expected<image_info> engine_client::image_import(const image_import_req& req,
                                                      ms timeout) {
  auto [repo, tag] = split_ref(req.repo_tag);
  auto path = "/images/create?fromSrc=-&repo=" + url_escape(repo);
  if (!tag.empty())
    path += "&tag=" + url_escape(tag);
  for (auto& c : req.changes)
    path += "&changes=" + url_escape(c);
  auto hr = post(path, "", timeout);
  hr.upload_file = req.tar_path;
  std::string failure;
  auto r = call_lines(std::move(hr), "import " + req.tar_path, req.repo_tag,
                      [&](const std::string& line) {
                        auto l = json::parse_stream_line(line);
                        if (!l.error.empty() && failure.empty())
                          failure = l.error;
                      });
  if (!r)
    return r.error();
  if (!failure.empty())
    return make_error(errc::invalid_argument,
                      "cannot import " + req.tar_path + " as " + req.repo_tag + ": "
                        + failure);
  return image_inspect(req.repo_tag);
}

caf::error engine_client::image_remove(const std::string& image, bool force) {
  auto r = call(del("/images/" + image + (force ? "?force=1" : ""), timeout_),
                "image remove " + image, image);
  return r ? caf::error{} : r.error();
}

caf::expected<container_created> engine_client::create(const container_spec& spec) {
  auto path = std::string{"/containers/create"};
  if (!spec.name.empty())
    path += "?name=" + url_escape(spec.name);
  auto r = call(post(path, json::create_body(spec), timeout_),
                "create container " + (spec.name.empty() ? spec.image : spec.name),
                spec.image);
  if (!r)
    return r.error();
  return json::parse_created(r->body);
}

caf::error engine_client::start(const std::string& id) {
  // 304: already running, which is what the caller wants.
  auto r = call(post("/containers/" + id + "/start", "", timeout_),
                "start container " + id, id);
  return r ? caf::error{} : r.error();
}

caf::error engine_client::stop(const std::string& id, int32_t timeout_s) {
  auto r = call(post("/containers/" + id + "/stop?t=" + std::to_string(timeout_s), "",
                     timeout_ + std::chrono::seconds(timeout_s)),
                "stop container " + id, id);
  return r ? caf::error{} : r.error();
}

caf::error engine_client::kill(const std::string& id, const std::string& signal) {
  auto r = call(post("/containers/" + id + "/kill?signal=" + url_escape(signal), "",
                     timeout_),
                "kill container " + id, id);
  return r ? caf::error{} : r.error();
}

caf::error engine_client::remove(const std::string& id, bool force, bool volumes) {
  auto path = "/containers/" + id + "?force=" + (force ? "1" : "0")
              + "&v=" + (volumes ? "1" : "0");
  auto r = call(del(path, timeout_), "remove container " + id, id);
  return r ? caf::error{} : r.error();
}

caf::expected<container_info> engine_client::inspect(const std::string& id) {
  auto r = call(get("/containers/" + id + "/json", timeout_), "inspect container " + id,
                id);
  if (!r)
    return r.error();
  return json::parse_container_info(r->body);
}

caf::expected<std::vector<container_summary>>
engine_client::list(const std::map<std::string, std::string>& labels, bool all) {
  auto path = std::string{"/containers/json?all="} + (all ? "1" : "0");
  if (!labels.empty())
    path += "&filters=" + url_escape(json::label_filters(labels));
  auto r = call(get(path, timeout_), "list containers", "containers");
  if (!r)
    return r.error();
  return json::parse_container_list(r->body);
}

caf::error engine_client::rename(const std::string& id, const std::string& new_name) {
  auto r = call(post("/containers/" + id + "/rename?name=" + url_escape(new_name), "",
                     timeout_),
                "rename container " + id + " to " + new_name, id);
  return r ? caf::error{} : r.error();
}

caf::error engine_client::update(const update_req& req) {
  if (req.memory <= 0 && req.nano_cpus <= 0 && req.pids_limit <= 0)
    return {};
  auto r = call(post("/containers/" + req.id + "/update",
                     json::update_body(req.memory, req.nano_cpus, req.pids_limit),
                     timeout_),
                "update container " + req.id, req.id);
  return r ? caf::error{} : r.error();
}

caf::expected<exec_result> engine_client::exec(const exec_req& req) {
  auto deadline = std::chrono::steady_clock::now() + timeout_;
  auto created = call(post("/containers/" + req.id + "/exec", json::exec_create_body(req),
                           timeout_),
                      "exec in container " + req.id, req.id);
  if (!created)
    return created.error();
  auto exec_id = json::parse_id(created->body, "exec create");
  if (!exec_id)
    return exec_id.error();
  exec_result res;
  res.exec_id = *exec_id;
  auto body = std::string{"{\"Detach\":"} + (req.detach ? "true" : "false")
              + ",\"Tty\":false}";
  // The engine hijacks this connection for the output and closes it after.
  auto started = call(post("/exec/" + res.exec_id + "/start", body, timeout_),
                      "start exec in container " + req.id, req.id);
  if (!started)
    return started.error();
  if (req.detach)
    return res;
  json::demux(started->body, res.out, res.err);
  // The output ends when the process exits; its exit code can trail by a
  // moment, so ask until it is there or the call's deadline passes.
  for (;;) {
    auto r = call(get("/exec/" + res.exec_id + "/json", timeout_),
                  "inspect exec in container " + req.id, req.id);
    if (!r)
      return r.error();
    auto code = json::parse_exec_inspect(r->body);
    if (!code)
      return code.error();
    if (*code) {
      res.exit_code = **code;
      return res;
    }
    if (std::chrono::steady_clock::now() >= deadline)
      return make_error(errc::deadline_exceeded,
                        "exec in container " + req.id + " did not report an exit code within "
                          + std::to_string(timeout_.count()) + " ms");
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

caf::expected<std::string> engine_client::exec_create(const std::string& id,
                                                     const std::string& body) {
  auto created = call(post("/containers/" + id + "/exec", body, timeout_),
                      "exec in container " + id, id);
  if (!created)
    return created.error();
  return json::parse_id(created->body, "exec create");
}

caf::expected<std::optional<int64_t>> engine_client::exec_exit_code(const std::string& exec_id) {
  auto r = call(get("/exec/" + exec_id + "/json", timeout_), "inspect exec " + exec_id,
                exec_id);
  if (!r)
    return r.error();
  return json::parse_exec_inspect(r->body);
}

caf::expected<int64_t> engine_client::wait(const std::string& id, int32_t timeout_s) {
  auto r = call(post("/containers/" + id + "/wait?condition=not-running", "",
                     std::chrono::seconds(timeout_s)),
                "wait for container " + id, id);
  if (!r) {
    if (error_code(r.error()) == errc::deadline_exceeded)
      return make_error(errc::deadline_exceeded, "container " + id + " did not stop within "
                                                   + std::to_string(timeout_s) + " s");
    return r.error();
  }
  return json::parse_wait(r->body);
}

caf::expected<std::string> engine_client::logs(const std::string& id, int32_t tail) {
  auto r = call(get("/containers/" + id + "/logs?stdout=1&stderr=1&tail="
                      + (tail < 0 ? std::string{"all"} : std::to_string(tail)),
                    timeout_),
                "logs of container " + id, id);
  if (!r)
    return r.error();
  std::string text;
  json::demux(r->body, text, text);
  return text;
}

caf::expected<volume_info> engine_client::volume_create(const volume_create_req& req) {
  auto r = call(post("/volumes/create", json::volume_create_body(req.name, req.labels),
                     timeout_),
                "create volume " + req.name, req.name);
  if (!r)
    return r.error();
  return json::parse_volume_info(r->body);
}

caf::expected<volume_info> engine_client::volume_inspect(const std::string& name) {
  auto r = call(get("/volumes/" + name, timeout_), "inspect volume " + name, name);
  if (!r)
    return r.error();
  return json::parse_volume_info(r->body);
}

caf::error engine_client::volume_remove(const std::string& name, bool force) {
  auto r = call(del("/volumes/" + name + (force ? "?force=1" : ""), timeout_),
                "remove volume " + name, name);
  return r ? caf::error{} : r.error();
}

} // namespace hal9000::docker
