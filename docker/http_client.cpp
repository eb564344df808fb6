#include "docker/http_client.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>

#include <curl/curl.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>

#include "messages/error.hpp"

namespace hal9000::docker {

namespace {

struct transfer {
  http_response* resp;
  const chunk_fn* on_chunk;
};

size_t on_write(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<transfer*>(user);
  auto len = size * n;
  if (*t->on_chunk) {
    if (!(*t->on_chunk)(data, len))
      return 0;  // makes curl fail with CURLE_WRITE_ERROR
  } else {
    t->resp->body.append(data, len);
  }
  return len;
}

size_t on_read(char* buf, size_t size, size_t n, void* user) {
  auto* f = static_cast<std::FILE*>(user);
  auto got = std::fread(buf, 1, size * n, f);
  if (got == 0 && std::ferror(f))
    return CURL_READFUNC_ABORT;
  return got;
}

std::string lower_first(std::string s) {
  if (!s.empty())
    s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

std::string lowered(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// "Conflict. The container name \"/x\" is already in use by ..." -> "x".
std::string quoted_name(const std::string& msg) {
  auto b = msg.find('"');
  if (b == std::string::npos)
    return {};
  auto e = msg.find('"', b + 1);
  if (e == std::string::npos)
    return {};
  auto name = msg.substr(b + 1, e - b - 1);
  if (!name.empty() && name[0] == '/')
    name.erase(0, 1);
  return name;
}

} // namespace

void init_curl_once() {
  static std::once_flag flag;
  std::call_once(flag, [] { curl_global_init(CURL_GLOBAL_ALL); });
}

std::string configure_endpoint(void* handle, const endpoint& ep) {
  auto* h = static_cast<CURL*>(handle);
  if (ep.host.rfind("unix://", 0) == 0) {
    curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, ep.host.c_str() + 7);
    return "http://docker";
  }
  auto hostport = ep.host.rfind("tcp://", 0) == 0 ? ep.host.substr(6) : ep.host;
  if (!ep.tls_verify)
    return "http://" + hostport;
  auto file = [&](const char* name) { return ep.cert_path + "/" + name; };
  curl_easy_setopt(h, CURLOPT_SSLCERT, file("cert.pem").c_str());
  curl_easy_setopt(h, CURLOPT_SSLKEY, file("key.pem").c_str());
  curl_easy_setopt(h, CURLOPT_CAINFO, file("ca.pem").c_str());
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
  return "https://" + hostport;
}

http_client::http_client(endpoint ep) : ep_(std::move(ep)) {
  init_curl_once();
  handle_ = curl_easy_init();
}

http_client::~http_client() {
  if (handle_)
    curl_easy_cleanup(static_cast<CURL*>(handle_));
}

caf::expected<http_response> http_client::call(const http_request& req) {
  auto what = req.method + " " + req.path;
  auto* h = static_cast<CURL*>(handle_);
  if (!h)
    return make_error(errc::internal, "libcurl could not create a handle");
  // Reset forgets the previous call's options but keeps the live connection.
  curl_easy_reset(h);
  auto base = configure_endpoint(h, ep_);
  auto url = base + req.path;
  http_response resp;
  transfer t{&resp, &req.on_chunk};
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(req.timeout.count()));
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(std::min<int64_t>(req.timeout.count(), 10000)));
  curl_slist* headers = curl_slist_append(nullptr, "Expect:");
  std::FILE* upload = nullptr;
  if (!req.upload_file.empty()) {
    upload = std::fopen(req.upload_file.c_str(), "rb");
    if (!upload) {
      curl_slist_free_all(headers);
      return make_error(errc::not_found, "cannot open " + req.upload_file + ": "
                                           + std::strerror(errno));
    }
    struct stat st {};
    ::fstat(fileno(upload), &st);
    headers = curl_slist_append(headers, "Content-Type: application/x-tar");
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(h, CURLOPT_READDATA, upload);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(st.st_size));
  } else if (req.method == "POST") {
    if (!req.body.empty())
      headers = curl_slist_append(headers, "Content-Type: application/json");
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, static_cast<long>(req.body.size()));
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, req.body.c_str());
  } else if (req.method != "GET") {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  abort_reason.clear();
  auto rc = curl_easy_perform(h);
  curl_slist_free_all(headers);
  if (upload)
    std::fclose(upload);
  if (rc != CURLE_OK) {
    if (rc == CURLE_WRITE_ERROR && !abort_reason.empty())
      return make_error(errc::internal, abort_reason);
    if (rc == CURLE_ABORTED_BY_CALLBACK || rc == CURLE_READ_ERROR)
      return make_error(errc::internal, "cannot read " + req.upload_file
                                          + " while sending it to the Docker engine");
    long os_errno = 0;
    curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
    auto err = error_from_curl(rc, os_errno, ep_, what, req.timeout);
    if (errbuf[0] != '\0' && os_errno == 0 && rc != CURLE_OPERATION_TIMEDOUT)
      err = make_error(error_code(err), error_message(err) + " (" + errbuf + ")");
    return err;
  }
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp.status);
  char* ct = nullptr;
  curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct);
  if (ct)
    resp.content_type = ct;
  return resp;
}

caf::error error_from_curl(int code, long os_errno, const endpoint& ep,
                           const std::string& what,
                           std::chrono::milliseconds timeout) {
  auto rc = static_cast<CURLcode>(code);
  std::string reason = os_errno != 0 ? lower_first(std::strerror(static_cast<int>(os_errno)))
                                     : lower_first(curl_easy_strerror(rc));
  switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
      return make_error(errc::deadline_exceeded,
                        what + " timed out after " + std::to_string(timeout.count())
                          + " ms (Docker engine at " + ep.host + ")");
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
      return make_error(errc::unavailable,
                        "cannot reach the Docker engine at " + ep.host + ": " + reason);
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
      return make_error(errc::unavailable, "lost the connection to the Docker engine at "
                                             + ep.host + " during " + what + ": " + reason);
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_BAD_CONTENT_ENCODING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return make_error(errc::internal, "malformed reply from the Docker engine at "
                                          + ep.host + " to " + what + ": " + reason);
    default:
      return make_error(errc::internal, what + " failed at the Docker engine at "
                                          + ep.host + ": " + reason);
  }
}

std::string docker_message(const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_object()) {
    auto it = j.find("message");
    if (it != j.end() && it->is_string())
      return it->get<std::string>();
  }
  auto s = body.substr(0, 300);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.pop_back();
  return s;
}

caf::error error_from_status(long status, const std::string& body,
                             const std::string& what, const std::string& subject) {
  auto msg = docker_message(body);
  auto low = lowered(msg);
  switch (status) {
    case 404: {
      // "no such image: x: No such image: x:latest" -> "no such image: x:latest"
      auto pos = low.rfind("no such ");
      if (pos == std::string::npos)
        return make_error(errc::not_found, "not found: " + subject + " (" + msg + ")");
      auto text = lower_first(msg.substr(pos));
      if (text.find(':') == std::string::npos && !subject.empty())
        text += ": " + subject;
      return make_error(errc::not_found, text);
    }
    case 409: {
      if (low.find("already in use") != std::string::npos) {
        auto name = quoted_name(msg);
        return make_error(errc::already_exists,
                          "name already in use: " + (name.empty() ? subject : name));
      }
      return make_error(errc::conflict, what + ": " + msg);
    }
    case 400:
      return make_error(errc::invalid_argument,
                        what + " rejected by the Docker engine: " + msg);
    default:
      return make_error(errc::internal, what + " failed: the Docker engine answered "
                                          + std::to_string(status) + ": " + msg);
  }
}

} // namespace hal9000::docker
