#include "runtime/proxy_server.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/netfilter_ipv4.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include <curl/curl.h>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <openssl/sha.h>

#include "messages/error.hpp"
#include "runtime/users.hpp"

namespace hal9000::proxy {

namespace {

caf::error sys_fail(const std::string& what, int err) {
  return make_error(errc::internal, what + ": " + std::strerror(err));
}

std::string lower(std::string s) {
  for (auto& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(std::string s) {
  auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && ws(s.back()))
    s.pop_back();
  size_t i = 0;
  while (i < s.size() && ws(s[i]))
    ++i;
  return s.substr(i);
}

// Hop-by-hop and framing headers never cross the proxy; credentials are
// replaced; Accept-Encoding is dropped so usage can be read from the body.
bool drop_request_header(const std::string& lname) {
  static const char* names[] = {"host", "content-length", "connection", "keep-alive",
                                "proxy-authorization", "proxy-connection", "te", "trailer",
                                "transfer-encoding", "upgrade", "x-api-key",
                                "authorization", "accept-encoding", "expect"};
  for (auto n : names)
    if (lname == n)
      return true;
  return false;
}

bool drop_response_header(const std::string& lname) {
  static const char* names[] = {"connection", "keep-alive", "transfer-encoding",
                                "content-length", "proxy-authenticate", "te", "trailer",
                                "upgrade", "content-type"};
  for (auto n : names)
    if (lname == n)
      return true;
  return false;
}

std::string json_error(const std::string& type, const std::string& message) {
  nlohmann::json j = {{"type", "error"}, {"error", {{"type", type}, {"message", message}}}};
  return j.dump();
}

/// The credential a request carries: x-api-key, or Authorization: Bearer.
std::string credential_of(const httplib::Request& req) {
  if (req.has_header("x-api-key"))
    return trim(req.get_header_value("x-api-key"));
  auto auth = req.get_header_value("Authorization");
  if (auth.size() > 7 && lower(auth.substr(0, 7)) == "bearer ")
    return trim(auth.substr(7));
  return {};
}

/// The user's key, read now; "" when there is none.
std::string read_key(const std::string& home, const std::string& user_id) {
  auto path = user_paths_for(home, user_id).key;
  std::ifstream in{path};
  if (!in)
    return {};
  std::string key;
  std::getline(in, key);
  return trim(key);
}

// One curl multi + easy handle per server thread: the multi handle's
// connection cache keeps upstream TLS connections alive across requests.
struct curl_thread {
  CURLM* multi = curl_multi_init();
  CURL* easy = curl_easy_init();
  ~curl_thread() {
    curl_easy_cleanup(easy);
    curl_multi_cleanup(multi);
  }
};

curl_thread& this_thread_curl() {
  thread_local curl_thread ct;
  return ct;
}

/// One proxied request, from the handler into the response's content
/// provider (same thread). Its destructor reports the end.
struct exchange {
  CURLM* multi = nullptr;
  CURL* easy = nullptr;
  curl_slist* req_headers = nullptr;
  std::string body;
  long status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string content_type;
  bool headers_done = false;
  bool done = false;
  CURLcode result = CURLE_OK;
  std::string pending;
  httplib::DataSink* sink = nullptr;
  bool sink_failed = false;
  std::unique_ptr<usage_parser> parser;
  usage_delta delta;
  std::function<void(const usage_delta&)> report;
  const std::atomic<bool>* stopping = nullptr;  // the server is being stopped
  char errbuf[CURL_ERROR_SIZE] = {0};

  ~exchange() {
    if (easy) {
      curl_multi_remove_handle(multi, easy);
      curl_easy_reset(easy);
    }
    curl_slist_free_all(req_headers);
    if (parser)
      parser->finish(delta);
    delta.in_flight = -1;
    delta.requests = 1;
    delta.status = static_cast<int>(status);
    if (!done && delta.error.empty())
      delta.error = sink_failed ? "the worker closed the connection" : "cut short";
    else if (done && result != CURLE_OK && delta.error.empty())
      delta.error = errbuf[0] ? errbuf : curl_easy_strerror(result);
    delta.errors = (status >= 400 || !delta.error.empty()) ? 1 : 0;
    if (report)
      report(delta);
  }

  static size_t on_header(char* data, size_t size, size_t n, void* self) {
    auto* x = static_cast<exchange*>(self);
    std::string line(data, size * n);
    if (line.rfind("HTTP/", 0) == 0) {
      x->headers.clear();
      x->content_type.clear();
    } else if (line == "\r\n" || line == "\n") {
      curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &x->status);
      if (x->status >= 200)
        x->headers_done = true;
    } else if (auto colon = line.find(':'); colon != std::string::npos) {
      auto name = trim(line.substr(0, colon));
      auto value = trim(line.substr(colon + 1));
      if (lower(name) == "content-type")
        x->content_type = value;
      x->headers.emplace_back(std::move(name), std::move(value));
    }
    return size * n;
  }

  static size_t on_body(char* data, size_t size, size_t n, void* self) {
    auto* x = static_cast<exchange*>(self);
    auto len = size * n;
    if (!x->parser)
      x->parser = std::make_unique<usage_parser>(
        lower(x->content_type).find("text/event-stream") != std::string::npos);
    x->parser->feed(data, len);
    if (x->sink) {
      if (!x->sink->write(data, len)) {
        x->sink_failed = true;
        return 0;  // aborts the transfer
      }
    } else {
      x->pending.append(data, len);
    }
    return len;
  }

  /// Runs the transfer until pred() or the end.
  template <class Pred>
  void drive(Pred pred) {
    while (!done && !pred()) {
      int running = 0;
      curl_multi_perform(multi, &running);
      int left = 0;
      while (auto* msg = curl_multi_info_read(multi, &left))
        if (msg->msg == CURLMSG_DONE && msg->easy_handle == easy) {
          done = true;
          result = msg->data.result;
        }
      if (done || pred())
        break;
      curl_multi_poll(multi, nullptr, 0, 1000, nullptr);
    }
  }
};

void serve(const server_options& o, const std::atomic<bool>& stopping,
           const httplib::Request& req, httplib::Response& res) {
  auto fail = [&](int status, const std::string& type, const std::string& msg) {
    res.status = status;
    res.set_content(json_error(type, "hal9000 credential proxy: " + msg), "application/json");
  };
  auto cred = credential_of(req);
  auto g = cred.empty() ? std::nullopt : o.grants->find(cred);
  if (!g)
    return fail(401, "authentication_error",
                cred.empty() ? "no credential (x-api-key) in the request"
                             : "unknown or revoked session credential");
  auto key = read_key(o.home, g->user_id);
  if (key.empty())
    return fail(401, "authentication_error",
                "no Anthropic API key is stored for user " + g->user_id
                  + ": store one with `printenv ANTHROPIC_API_KEY | claudy setup`");
  auto& ct = this_thread_curl();
  auto x = std::make_shared<exchange>();
  x->multi = ct.multi;
  x->report = o.report;
  x->stopping = &stopping;
  x->delta.session = g->session;
  if (o.report) {
    usage_delta start;
    start.session = g->session;
    start.in_flight = 1;
    o.report(start);
  }
  CURL* e = ct.easy;
  curl_easy_reset(e);
  auto url = o.upstream + (req.target.empty() ? req.path : req.target);
  curl_easy_setopt(e, CURLOPT_URL, url.c_str());
  curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  if (req.method == "HEAD")
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  x->body = req.body;
  if (!x->body.empty() || req.method == "POST" || req.method == "PUT"
      || req.method == "PATCH") {
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->body.data());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(x->body.size()));
  }
  for (auto& [name, value] : req.headers) {
    auto ln = lower(name);
    if (drop_request_header(ln) || ln.rfind("remote_", 0) == 0
        || ln.rfind("local_", 0) == 0)
      continue;
    x->req_headers = curl_slist_append(x->req_headers, (name + ": " + value).c_str());
  }
  x->req_headers = curl_slist_append(x->req_headers, ("x-api-key: " + key).c_str());
  x->req_headers = curl_slist_append(x->req_headers, "Expect:");
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->req_headers);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &exchange::on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, x.get());
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &exchange::on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, x.get());
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!o.ca_file.empty())
    curl_easy_setopt(e, CURLOPT_CAINFO, o.ca_file.c_str());
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
  curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https,http");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  x->easy = e;
  curl_multi_add_handle(x->multi, e);
  x->drive([&] { return x->headers_done || stopping.load(); });
  if (!x->headers_done) {
    // Nothing came back: the upstream could not be reached.
    auto why = x->errbuf[0] ? std::string{x->errbuf} : curl_easy_strerror(x->result);
    x->delta.error = "upstream " + o.upstream + ": " + why;
    return fail(502, "api_error", "cannot reach " + o.upstream + ": " + why);
  }
  res.status = static_cast<int>(x->status);
  for (auto& [name, value] : x->headers)
    if (!drop_response_header(lower(name)))
      res.set_header(name.c_str(), value);
  auto type = x->content_type.empty() ? std::string{"application/octet-stream"}
                                      : x->content_type;
  if (x->done) {
    // All of it arrived with the headers: one plain response.
    res.set_content(std::move(x->pending), type.c_str());
    x->pending.clear();
    return;
  }
  res.set_chunked_content_provider(type.c_str(), [x](size_t, httplib::DataSink& sink) {
    if (!x->pending.empty()) {
      if (!sink.write(x->pending.data(), x->pending.size())) {
        x->sink_failed = true;
        return false;
      }
      x->pending.clear();
    }
    x->sink = &sink;
    // A stream ends when the upstream's does, the worker goes away, or the
    // server stops (checked at least once a second).
    x->drive([&] { return x->sink_failed || x->stopping->load(); });
    x->sink = nullptr;
    if (x->sink_failed || !x->done)
      return false;
    sink.done();
    return true;
  });
}

} // namespace

// -- placeholders ----------------------------------------------------------------

std::string sha256_hex(const std::string& s) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), md);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (auto b : md) {
    out += hex[b >> 4];
    out += hex[b & 15];
  }
  return out;
}

std::string make_placeholder() {
  unsigned char bytes[32];
  size_t got = 0;
  while (got < sizeof bytes) {
    auto n = ::getrandom(bytes + got, sizeof bytes - got, 0);
    if (n > 0)
      got += static_cast<size_t>(n);
  }
  static const char* hex = "0123456789abcdef";
  std::string out = "sk-ant-hal9000-";
  for (auto b : bytes) {
    out += hex[b >> 4];
    out += hex[b & 15];
  }
  return out;
}

void grant_table::put(const std::string& placeholder, grant g) {
  std::lock_guard<std::mutex> guard{mtx_};
  by_hash_[sha256_hex(placeholder)] = std::move(g);
}

void grant_table::revoke_session(const std::string& session) {
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto i = by_hash_.begin(); i != by_hash_.end();)
    i = i->second.session == session ? by_hash_.erase(i) : std::next(i);
}

std::optional<grant> grant_table::find(const std::string& placeholder) const {
  auto h = sha256_hex(placeholder);
  std::lock_guard<std::mutex> guard{mtx_};
  if (auto i = by_hash_.find(h); i != by_hash_.end())
    return i->second;
  return std::nullopt;
}

size_t grant_table::size() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return by_hash_.size();
}

// -- usage -----------------------------------------------------------------------------

namespace {

uint64_t u64(const nlohmann::json& j, const char* key) {
  if (j.is_object())
    if (auto i = j.find(key); i != j.end() && i->is_number_unsigned())
      return i->get<uint64_t>();
  return 0;
}

} // namespace

void usage_parser::feed(const char* data, size_t len) {
  if (!sse_) {
    if (buf_.size() + len > (8u << 20))
      overflow_ = true;
    else
      buf_.append(data, len);
    return;
  }
  buf_.append(data, len);
  size_t start = 0;
  for (auto nl = buf_.find('\n'); nl != std::string::npos; nl = buf_.find('\n', start)) {
    auto line = buf_.substr(start, nl - start);
    start = nl + 1;
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    if (line.rfind("data:", 0) == 0)
      on_event_data(line.substr(5));
  }
  buf_.erase(0, start);
  if (buf_.size() > (1u << 20))  // a "line" this long is not an event we read
    buf_.clear();
}

void usage_parser::on_event_data(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object())
    return;
  auto type = j.value("type", std::string{});
  if (type == "message_start" && j.contains("message")) {
    auto& u = j["message"]["usage"];
    input_ = std::max(input_, u64(u, "input_tokens"));
    output_ = std::max(output_, u64(u, "output_tokens"));
  } else if (type == "message_delta" && j.contains("usage")) {
    input_ = std::max(input_, u64(j["usage"], "input_tokens"));
    output_ = std::max(output_, u64(j["usage"], "output_tokens"));
  }
}

void usage_parser::finish(usage_delta& out) {
  if (!sse_ && !overflow_ && !buf_.empty()) {
    auto j = nlohmann::json::parse(buf_, nullptr, false);
    if (j.is_object() && j.contains("usage")) {
      input_ = u64(j["usage"], "input_tokens");
      output_ = u64(j["usage"], "output_tokens");
    }
  }
  out.input_tokens = input_;
  out.output_tokens = output_;
}

// -- the server ----------------------------------------------------------------------------

struct server::impl {
  server_options opts;
  std::atomic<bool> stopping{false};
  httplib::Server svr;
  std::thread thread;
};

server::~server() {
  stop();
}

void server::stop() {
  if (!impl_)
    return;
  impl_->stopping = true;
  impl_->svr.stop();
  if (impl_->thread.joinable())
    impl_->thread.join();
  impl_.reset();
}

caf::expected<std::unique_ptr<server>> server::start(server_options opts) {
  if (!opts.grants)
    return make_error(errc::invalid_argument, "credential proxy: no grant table");
  static std::once_flag curl_once;
  std::call_once(curl_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  std::unique_ptr<server> s{new server};
  s->impl_ = std::make_unique<impl>();
  auto& i = *s->impl_;
  i.opts = std::move(opts);
  auto threads = i.opts.threads;
  i.svr.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  i.svr.set_tcp_nodelay(true);
  i.svr.set_payload_max_length(32u << 20);
  i.svr.set_read_timeout(std::chrono::seconds(30));
  i.svr.set_write_timeout(std::chrono::seconds(30));
  i.svr.set_keep_alive_timeout(5);
  auto* o = &i.opts;
  auto* stopping = &i.stopping;
  auto handler = [o, stopping](const httplib::Request& req, httplib::Response& res) {
    serve(*o, *stopping, req, res);
  };
  i.svr.Get(".*", handler);
  i.svr.Post(".*", handler);
  i.svr.Put(".*", handler);
  i.svr.Patch(".*", handler);
  i.svr.Delete(".*", handler);
  i.svr.Options(".*", handler);
  int port = -1;
  auto err = in_netns(i.opts.netns, [&] {
    if (i.opts.port == 0)
      port = i.svr.bind_to_any_port(i.opts.host);
    else if (i.svr.bind_to_port(i.opts.host, i.opts.port))
      port = i.opts.port;
  });
  if (err)
    return err;
  if (port <= 0)
    return make_error(errc::conflict,
                      "credential proxy: cannot listen on " + i.opts.host + ":"
                        + std::to_string(i.opts.port)
                        + (i.opts.netns.empty() ? "" : " in " + i.opts.netns)
                        + " (port in use?)");
  s->port_ = static_cast<uint16_t>(port);
  // The accept loop and its pool start here, in this process's own
  // namespace: only the listening socket lives in the parent's.
  i.thread = std::thread([&svr = i.svr] { svr.listen_after_bind(); });
  return s;
}

// -- egress reporter ------------------------------------------------------------------------

namespace {

bool is_hex64(const std::string& s, size_t at) {
  if (at + 64 > s.size())
    return false;
  for (size_t k = at; k < at + 64; ++k)
    if (!std::isxdigit(static_cast<unsigned char>(s[k])) || std::isupper(static_cast<unsigned char>(s[k])))
      return false;
  return at + 64 == s.size() || !std::isxdigit(static_cast<unsigned char>(s[at + 64]));
}

std::string container_of_pid(int64_t pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/cgroup"};
  std::string line;
  while (std::getline(in, line))
    for (size_t k = 0; k + 64 <= line.size(); ++k)
      if ((k == 0 || !std::isxdigit(static_cast<unsigned char>(line[k - 1]))) && is_hex64(line, k))
        return line.substr(k, 64);
  return {};
}

// "0100007F:1F90" for 127.0.0.1:8080 (the address as the kernel's u32 in hex).
std::string proc_net_addr(const std::string& ip, uint16_t port) {
  in_addr a{};
  ::inet_pton(AF_INET, ip.c_str(), &a);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%08X:%04X", a.s_addr, port);
  return buf;
}

} // namespace

std::string container_of_socket(int64_t netns_pid, const std::string& local_ip,
                                uint16_t local_port, int64_t* pid_out) {
  auto want = proc_net_addr(local_ip, local_port);
  std::ifstream in{"/proc/" + std::to_string(netns_pid) + "/net/tcp"};
  std::string line;
  std::string inode;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream f{line};
    std::string sl, local, remote, st, queues, timer, retr, uid, timeout, ino;
    f >> sl >> local >> remote >> st >> queues >> timer >> retr >> uid >> timeout >> ino;
    if (local == want && ino != "0") {
      inode = ino;
      break;
    }
  }
  if (inode.empty())
    return {};
  auto target = "socket:[" + inode + "]";
  struct stat ns_want {};
  if (::stat(("/proc/" + std::to_string(netns_pid) + "/ns/net").c_str(), &ns_want) != 0)
    return {};
  DIR* proc = ::opendir("/proc");
  if (!proc)
    return {};
  std::string found;
  while (auto* d = ::readdir(proc)) {
    if (!std::isdigit(static_cast<unsigned char>(d->d_name[0])))
      continue;
    std::string base = std::string{"/proc/"} + d->d_name;
    struct stat ns {};
    if (::stat((base + "/ns/net").c_str(), &ns) != 0 || ns.st_ino != ns_want.st_ino)
      continue;
    DIR* fds = ::opendir((base + "/fd").c_str());
    if (!fds)
      continue;
    while (auto* f = ::readdir(fds)) {
      char link[64];
      auto n = ::readlinkat(::dirfd(fds), f->d_name, link, sizeof link - 1);
      if (n <= 0)
        continue;
      link[n] = 0;
      if (target == link) {
        auto pid = std::stoll(d->d_name);
        if (pid_out)
          *pid_out = pid;
        found = container_of_pid(pid);
        break;
      }
    }
    ::closedir(fds);
    if (!found.empty())
      break;
  }
  ::closedir(proc);
  return found;
}

reporter::~reporter() {
  stop();
}

void reporter::stop() {
  if (stop_pipe_[1] >= 0) {
    char c = 1;
    (void)!::write(stop_pipe_[1], &c, 1);
  }
  if (thread_.joinable())
    thread_.join();
  for (int* fd : {&fd_, &stop_pipe_[0], &stop_pipe_[1]})
    if (*fd >= 0) {
      ::close(*fd);
      *fd = -1;
    }
}

caf::expected<std::unique_ptr<reporter>> reporter::start(reporter_options opts) {
  std::unique_ptr<reporter> r{new reporter};
  r->opts_ = std::move(opts);
  int err_no = 0;
  auto err = in_netns(r->opts_.netns, [&] {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      err_no = errno;
      return;
    }
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(r->opts_.port);
    ::inet_pton(AF_INET, r->opts_.host.c_str(), &a.sin_addr);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 64) != 0) {
      err_no = errno;
      ::close(fd);
      return;
    }
    r->fd_ = fd;
  });
  if (err)
    return err;
  if (r->fd_ < 0)
    return sys_fail("egress reporter: cannot listen on " + r->opts_.host + ":"
                      + std::to_string(r->opts_.port),
                    err_no);
  sockaddr_in a{};
  socklen_t len = sizeof a;
  ::getsockname(r->fd_, reinterpret_cast<sockaddr*>(&a), &len);
  r->port_ = ntohs(a.sin_port);
  if (::pipe2(r->stop_pipe_, O_CLOEXEC) != 0)
    return sys_fail("egress reporter: pipe", errno);
  r->thread_ = std::thread([p = r.get()] { p->loop(); });
  return r;
}

void reporter::loop() {
  for (;;) {
    pollfd fds[2] = {{fd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR)
        continue;
      return;
    }
    if (fds[1].revents)
      return;
    sockaddr_in peer{};
    socklen_t plen = sizeof peer;
    int c = ::accept4(fd_, reinterpret_cast<sockaddr*>(&peer), &plen, SOCK_CLOEXEC);
    if (c < 0)
      continue;
    refusal r;
    sockaddr_in dst{};
    socklen_t dlen = sizeof dst;
    char ip[INET_ADDRSTRLEN] = {0};
    if (::getsockopt(c, SOL_IP, SO_ORIGINAL_DST, &dst, &dlen) == 0) {
      ::inet_ntop(AF_INET, &dst.sin_addr, ip, sizeof ip);
      r.destination = std::string{ip} + ":" + std::to_string(ntohs(dst.sin_port));
    } else {
      r.destination = "unknown";
    }
    char pip[INET_ADDRSTRLEN] = {0};
    ::inet_ntop(AF_INET, &peer.sin_addr, pip, sizeof pip);
    // The client's socket is still open (we have not answered): its owner
    // is found from its inode.
    r.container_id = container_of_socket(opts_.netns_pid, pip, ntohs(peer.sin_port), &r.pid);
    auto body = opts_.policy_note + " (refused: " + r.destination + ")\n";
    auto resp = "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nConnection: close\r\n"
                "Content-Length: "
                + std::to_string(body.size()) + "\r\n\r\n" + body;
    // Take what the client sends first (a request line, a TLS hello; up to
    // 200 ms), so it reads our answer rather than a reset.
    char sink[4096];
    pollfd in{c, POLLIN, 0};
    if (::poll(&in, 1, 200) > 0)
      (void)!::recv(c, sink, sizeof sink, MSG_DONTWAIT);
    (void)!::send(c, resp.data(), resp.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    ::shutdown(c, SHUT_WR);
    if (::poll(&in, 1, 100) > 0)
      (void)!::recv(c, sink, sizeof sink, MSG_DONTWAIT);
    ::close(c);
    if (opts_.report)
      opts_.report(r);
  }
}

} // namespace hal9000::proxy
