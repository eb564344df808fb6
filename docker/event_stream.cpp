#include "docker/event_stream.hpp"

#include <cstdio>

#include <curl/curl.h>

#include "docker/engine_client.hpp"
#include "docker/json_codec.hpp"
#include "messages/error.hpp"

namespace hal9000::docker {

namespace {

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

// Docker's timestamp syntax: "<seconds>.<nanoseconds>".
std::string timestamp(int64_t ns) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%lld.%09lld", static_cast<long long>(ns / 1000000000),
                static_cast<long long>(ns % 1000000000));
  return buf;
}

struct connection {
  event_stream::callbacks* cb;
  int64_t* since_ns;
  std::string buf;  // partial line; the error body on a non-200 reply
  bool up = false;
  bool announce_reconnect = false;
  long status = 0;
  CURL* handle = nullptr;
};

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* c = static_cast<connection*>(user);
  auto len = size * n;
  // The blank line ends the headers: the engine accepted the subscription.
  if (len <= 2 && (len == 0 || data[0] == '\r' || data[0] == '\n')) {
    curl_easy_getinfo(c->handle, CURLINFO_RESPONSE_CODE, &c->status);
    if (c->status == 200 && !c->up) {
      c->up = true;
      c->cb->on_status(true, c->announce_reconnect ? "reconnected" : "connected");
    }
  }
  return len;
}

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* c = static_cast<connection*>(user);
  auto len = size * n;
  c->buf.append(data, len);
  if (c->status != 200)
    return len;  // an error reply: keep it for the reason
  size_t nl;
  while ((nl = c->buf.find('\n')) != std::string::npos) {
    auto line = c->buf.substr(0, nl);
    c->buf.erase(0, nl + 1);
    if (auto ev = json::parse_event(line)) {
      if (ev->time_nano >= *c->since_ns)
        *c->since_ns = ev->time_nano + 1;
      c->cb->on_event(std::move(*ev));
    }
  }
  return len;
}

} // namespace

event_stream::event_stream(endpoint ep, std::chrono::milliseconds reconnect_min,
                           std::chrono::milliseconds reconnect_max, callbacks cb)
  : ep_(std::move(ep)),
    min_(reconnect_min),
    max_(std::max(reconnect_min, reconnect_max)),
    cb_(std::move(cb)) {
  init_curl_once();
}

event_stream::~event_stream() {
  stop();
}

void event_stream::start() {
  if (thread_.joinable())
    return;
  since_ns_ = now_ns();
  thread_ = std::thread{[this] { run(); }};
}

void event_stream::stop() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stop_ = true;
    if (multi_)
      curl_multi_wakeup(static_cast<CURLM*>(multi_));
  }
  cv_.notify_all();
  if (thread_.joinable())
    thread_.join();
}

void event_stream::run() {
  auto backoff = min_;
  bool down_reported = false;
  while (!stop_) {
    bool up = false;
    auto reason = follow(up, down_reported);
    if (stop_)
      return;
    if (up) {
      backoff = min_;
      down_reported = false;
    }
    if (!down_reported) {
      cb_.on_status(false, reason);
      down_reported = true;
    }
    std::unique_lock<std::mutex> lock{mtx_};
    cv_.wait_for(lock, backoff, [this] { return stop_.load(); });
    backoff = std::min(backoff * 2, max_);
  }
}

std::string event_stream::follow(bool& up, bool announce_reconnect) {
  auto* h = curl_easy_init();
  auto* m = curl_multi_init();
  if (!h || !m) {
    if (h)
      curl_easy_cleanup(h);
    if (m)
      curl_multi_cleanup(m);
    return "libcurl could not create a handle for the event stream";
  }
  connection c;
  c.cb = &cb_;
  c.since_ns = &since_ns_;
  c.announce_reconnect = announce_reconnect;
  c.handle = h;
  auto base = configure_endpoint(h, ep_);
  auto url = base + "/events?since=" + timestamp(since_ns_)
             + "&filters=" + url_escape(R"({"type":["container"]})");
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, 10L);
  curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, 5L);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &c);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &c);
  curl_multi_add_handle(m, h);
  {
    std::lock_guard<std::mutex> guard{mtx_};
    multi_ = m;
  }
  CURLcode result = CURLE_OK;
  bool done = false;
  while (!stop_ && !done) {
    int running = 0;
    curl_multi_perform(m, &running);
    int left = 0;
    while (auto* msg = curl_multi_info_read(m, &left))
      if (msg->msg == CURLMSG_DONE) {
        result = msg->data.result;
        done = true;
      }
    if (!done && running == 0)
      done = true;
    if (!done)
      curl_multi_poll(m, nullptr, 0, 1000, nullptr);
  }
  {
    std::lock_guard<std::mutex> guard{mtx_};
    multi_ = nullptr;
  }
  long os_errno = 0;
  curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
  curl_multi_remove_handle(m, h);
  curl_easy_cleanup(h);
  curl_multi_cleanup(m);
  up = c.up;
  if (stop_)
    return {};
  if (result != CURLE_OK)
    return error_message(error_from_curl(result, os_errno, ep_, "GET /events",
                                         std::chrono::milliseconds{0}));
  if (c.status != 200 && c.status != 0)
    return error_message(error_from_status(c.status, c.buf, "GET /events", "events"));
  return "the Docker engine at " + ep_.host + " closed the event stream";
}

} // namespace hal9000::docker
