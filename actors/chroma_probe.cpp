#include "actors/chroma_probe.hpp"

#include <httplib.h>
#include <nlohmann/json.hpp>

namespace hal9000::chroma {

namespace {

std::string shorten(const std::string& s) {
  constexpr size_t max = 120;
  return s.size() <= max ? s : s.substr(0, max) + "...";
}

template <class Duration>
std::pair<time_t, time_t> sec_usec(Duration d) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
  return {static_cast<time_t>(us / 1000000), static_cast<time_t>(us % 1000000)};
}

std::string describe(httplib::Error err) {
  auto name = httplib::to_string(err);
  switch (err) {
    case httplib::Error::Connection: return "cannot connect (" + name + ")";
    case httplib::Error::ConnectionTimeout: return "connect timed out (" + name + ")";
    case httplib::Error::Read: return "no answer in time or connection closed (" + name + ")";
    case httplib::Error::Write: return "cannot send the request (" + name + ")";
    default: return name;
  }
}

} // namespace

std::string check_heartbeat(int http_status, const std::string& body) {
  if (http_status != 200)
    return "HTTP " + std::to_string(http_status) + ": " + shorten(body);
  auto json = nlohmann::json::parse(body, nullptr, false);
  if (json.is_discarded() || !json.is_object())
    return "not a JSON object: " + shorten(body);
  auto it = json.find("nanosecond heartbeat");
  if (it == json.end() || !it->is_number())
    return "no \"nanosecond heartbeat\" number in " + shorten(body);
  return {};
}

struct heartbeat_probe::impl {
  httplib::Client client;
  std::string path = heartbeat_v2;
  explicit impl(const std::string& url) : client(url) {
  }
};

heartbeat_probe::heartbeat_probe(std::string base_url,
                                 std::chrono::milliseconds connect_timeout,
                                 std::chrono::milliseconds read_timeout)
  : base_url_(std::move(base_url)), impl_(std::make_unique<impl>(base_url_)) {
  auto [cs, cus] = sec_usec(connect_timeout);
  auto [rs, rus] = sec_usec(read_timeout);
  impl_->client.set_keep_alive(true);
  impl_->client.set_connection_timeout(cs, cus);
  impl_->client.set_read_timeout(rs, rus);
  impl_->client.set_write_timeout(rs, rus);
}

heartbeat_probe::~heartbeat_probe() = default;

probe_result heartbeat_probe::run() {
  auto get = [this](const std::string& path) {
    probe_result r;
    r.endpoint = path;
    auto t0 = std::chrono::steady_clock::now();
    auto res = impl_->client.Get(path.c_str());
    r.latency_ms = std::chrono::duration<double, std::milli>(
                     std::chrono::steady_clock::now() - t0).count();
    if (!res) {
      r.error = "GET " + base_url_ + path + ": " + describe(res.error());
      return std::make_pair(r, 0);
    }
    r.error = check_heartbeat(res->status, res->body);
    if (!r.error.empty())
      r.error = "GET " + base_url_ + path + ": " + r.error;
    r.ok = r.error.empty();
    return std::make_pair(r, res->status);
  };
  auto [r, code] = get(impl_->path);
  if (code == 404 || code == 410) {
    auto other = impl_->path == heartbeat_v2 ? heartbeat_v1 : heartbeat_v2;
    auto [r2, code2] = get(other);
    // Keep the other path only if the server knows it.
    if (code2 != 404 && code2 != 410 && code2 != 0)
      impl_->path = other;
    if (r2.ok || (code2 != 404 && code2 != 410))
      return r2;
    r.error += "; " + r2.error;
  }
  return r;
}

} // namespace hal9000::chroma
