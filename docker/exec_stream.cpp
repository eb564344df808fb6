#include "docker/exec_stream.hpp"

#include <cctype>
#include <cerrno>
#include <cstring>

#include <curl/curl.h>
#include <nlohmann/json.hpp>
#include <poll.h>
#include <sys/socket.h>

#include "messages/error.hpp"

namespace hal9000::docker {

namespace {

using clock = std::chrono::steady_clock;

// Waits until fd is ready for events or the deadline passed.
bool wait_fd(int fd, short events, clock::time_point deadline) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
    if (left.count() <= 0)
      return false;
    pollfd p{fd, events, 0};
    auto rc = ::poll(&p, 1, static_cast<int>(left.count()));
    if (rc > 0)
      return true;
    if (rc < 0 && errno != EINTR)
      return false;
  }
}

} // namespace

std::string exec_create_json(const exec_spec& s) {
  nlohmann::json j = {{"Cmd", s.cmd},
                      {"AttachStdin", s.attach_stdin},
                      {"AttachStdout", true},
                      {"AttachStderr", true},
                      {"Tty", s.tty}};
  if (!s.env.empty())
    j["Env"] = s.env;
  if (!s.working_dir.empty())
    j["WorkingDir"] = s.working_dir;
  return j.dump();
}

exec_stream::exec_stream(endpoint ep)
  : ep_(ep), api_(std::move(ep), std::chrono::milliseconds(10000)) {
  init_curl_once();
}

exec_stream::~exec_stream() {
  if (conn_)
    curl_easy_cleanup(static_cast<CURL*>(conn_));
}

caf::error exec_stream::open(const exec_spec& spec, std::chrono::milliseconds timeout) {
  auto deadline = clock::now() + timeout;
  auto prefix = api_.api_prefix();
  if (!prefix)
    return prefix.error();
  auto id = api_.exec_create(spec.container, exec_create_json(spec));
  if (!id)
    return id.error();
  id_ = *id;
  auto* h = curl_easy_init();
  if (!h)
    return make_error(errc::internal, "libcurl could not create a handle");
  conn_ = h;
  auto base = configure_endpoint(h, ep_);
  curl_easy_setopt(h, CURLOPT_URL, (base + "/").c_str());
  curl_easy_setopt(h, CURLOPT_CONNECT_ONLY, 1L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout.count()));
  auto rc = curl_easy_perform(h);
  if (rc != CURLE_OK) {
    long os_errno = 0;
    curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
    return error_from_curl(rc, os_errno, ep_, "start exec " + id_, timeout);
  }
  curl_socket_t sock = CURL_SOCKET_BAD;
  curl_easy_getinfo(h, CURLINFO_ACTIVESOCKET, &sock);
  if (sock == CURL_SOCKET_BAD)
    return make_error(errc::internal, "libcurl gave no socket for the exec stream");
  fd_ = static_cast<int>(sock);
  auto body = std::string{"{\"Detach\":false,\"Tty\":"} + (spec.tty ? "true" : "false") + "}";
  auto request = "POST " + *prefix + "/exec/" + id_ + "/start HTTP/1.1\r\n"
                 "Host: docker\r\nUser-Agent: hal9000\r\n"
                 "Content-Type: application/json\r\n"
                 "Connection: Upgrade\r\nUpgrade: tcp\r\n"
                 "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  size_t sent = 0;
  while (sent < request.size()) {
    auto n = write_some(request.data() + sent, request.size() - sent);
    if (!n)
      return n.error();
    sent += *n;
    if (*n == 0 && !wait_fd(fd_, POLLOUT, deadline))
      return make_error(errc::deadline_exceeded, "start exec " + id_ + ": the Docker engine at "
                                                   + ep_.host + " did not take the request");
  }
  // The reply's head, then the raw stream.
  std::string head;
  char buf[4096];
  size_t end = std::string::npos;
  while ((end = head.find("\r\n\r\n")) == std::string::npos) {
    bool eof = false;
    auto n = read_some(buf, sizeof(buf), eof);
    if (!n)
      return n.error();
    if (eof)
      return make_error(errc::unavailable, "start exec " + id_ + ": the Docker engine at "
                                             + ep_.host + " closed the connection");
    head.append(buf, *n);
    if (head.size() > 65536)
      return make_error(errc::internal, "start exec " + id_ + ": reply head too long");
    if (*n == 0 && !wait_fd(fd_, POLLIN, deadline))
      return make_error(errc::deadline_exceeded, "start exec " + id_ + ": no reply from the "
                                                   "Docker engine at " + ep_.host);
  }
  early_ = head.substr(end + 4);
  head.resize(end);
  // "HTTP/1.1 101 UPGRADED"
  long status = 0;
  auto sp = head.find(' ');
  if (sp != std::string::npos)
    status = std::strtol(head.c_str() + sp + 1, nullptr, 10);
  if (status == 101 || status == 200)
    return caf::none;
  // An error: the body follows (Content-Length); read what comes in time.
  auto body_in = early_;
  auto low = head;
  for (auto& c : low)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  size_t want = 0;
  auto cl = low.find("content-length:");
  if (cl != std::string::npos)
    want = std::strtoul(low.c_str() + cl + 15, nullptr, 10);
  while (body_in.size() < want) {
    bool eof = false;
    auto n = read_some(buf, sizeof(buf), eof);
    if (!n || eof)
      break;
    body_in.append(buf, *n);
    if (*n == 0 && !wait_fd(fd_, POLLIN, deadline))
      break;
  }
  early_.clear();
  return error_from_status(status, body_in, "start exec in container " + spec.container,
                           spec.container);
}

caf::expected<size_t> exec_stream::read_some(char* buf, size_t n, bool& eof) {
  eof = false;
  size_t got = 0;
  auto rc = curl_easy_recv(static_cast<CURL*>(conn_), buf, n, &got);
  if (rc == CURLE_AGAIN)
    return size_t{0};
  if (rc != CURLE_OK)
    return make_error(errc::unavailable, "lost the exec stream from the Docker engine at "
                                           + ep_.host + ": " + curl_easy_strerror(rc));
  if (got == 0)
    eof = true;
  return got;
}

caf::expected<size_t> exec_stream::write_some(const char* buf, size_t n) {
  size_t sent = 0;
  auto rc = curl_easy_send(static_cast<CURL*>(conn_), buf, n, &sent);
  if (rc == CURLE_AGAIN)
    return size_t{0};
  if (rc != CURLE_OK)
    return make_error(errc::unavailable, "lost the exec stream to the Docker engine at "
                                           + ep_.host + ": " + curl_easy_strerror(rc));
  return sent;
}

bool exec_stream::close_write() {
  if (fd_ < 0 || ep_.tls_verify)
    return false;
  return ::shutdown(fd_, SHUT_WR) == 0;
}

caf::expected<std::optional<int64_t>> exec_stream::exit_code() {
  return api_.exec_exit_code(id_);
}

caf::expected<exec_result> exec_stream::run(const std::string& container,
                                            std::vector<std::string> cmd) {
  exec_req req;
  req.id = container;
  req.cmd = std::move(cmd);
  return api_.exec(req);
}

} // namespace hal9000::docker
