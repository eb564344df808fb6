#include "daemon/metrics_server.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <sys/socket.h>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>

#include "cli/output.hpp"
#include "messages/error.hpp"

namespace hal9000 {

metrics_server::metrics_server(metrics_server_options opts)
  : opts_(std::move(opts)), http_(std::make_unique<httplib::Server>()) {
}

metrics_server::~metrics_server() {
  stop();
}

caf::expected<std::unique_ptr<metrics_server>>
metrics_server::start(metrics_server_options opts) {
  if (!opts.registry)
    return make_error(errc::invalid_argument, "metrics server started without a registry");
  std::unique_ptr<metrics_server> self{new metrics_server(std::move(opts))};
  auto& http = *self->http_;
  auto* raw = self.get();
  auto threads = std::max<size_t>(1, raw->opts_.threads);
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  // httplib's default adds SO_REUSEPORT, which lets a second server bind a
  // port already in use without an error: keep only SO_REUSEADDR.
  http.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  http.Get("/metrics", [raw](const httplib::Request&, httplib::Response& res) {
    res.set_content(raw->opts_.registry->render(), metrics::content_type);
  });
  http.Get("/healthz", [raw](const httplib::Request&, httplib::Response& res) {
    if (raw->healthy_) {
      res.set_content("ok\n", "text/plain");
    } else {
      res.status = 503;
      res.set_content("stopping\n", "text/plain");
    }
  });
  http.Get("/status", [raw](const httplib::Request&, httplib::Response& res) {
    if (!raw->opts_.status) {
      res.status = 404;
      res.set_content(nlohmann::json{{"error", "no status here"}}.dump() + "\n",
                      "application/json");
      return;
    }
    auto text = raw->opts_.status();
    if (text) {
      res.set_content(*text + "\n", "application/json");
    } else {
      res.status = 503;
      res.set_content(nlohmann::json{{"error", error_message(text.error())}}.dump() + "\n",
                      "application/json");
    }
  });

  auto where = raw->opts_.host + ":" + std::to_string(raw->opts_.port);
  errno = 0;
  if (raw->opts_.port == 0) {
    auto port = http.bind_to_any_port(raw->opts_.host);
    if (port <= 0)
      return make_error(errc::unavailable, "metrics server cannot listen on "
                                             + raw->opts_.host + " (any port): "
                                             + std::strerror(errno));
    raw->port_ = static_cast<uint16_t>(port);
  } else {
    if (!http.bind_to_port(raw->opts_.host, raw->opts_.port)) {
      auto err = errno;
      if (err == EADDRINUSE)
        return make_error(errc::unavailable,
                          "metrics port " + where
                            + " is in use (set HAL9000_METRICS_PORT to a free port, "
                              "or 0 to turn metrics off)");
      return make_error(errc::unavailable, "metrics server cannot listen on " + where + ": "
                                             + (err != 0 ? std::strerror(err)
                                                         : "bind failed"));
    }
    raw->port_ = raw->opts_.port;
  }
  raw->thread_ = std::thread{[raw] { raw->http_->listen_after_bind(); }};
  // httplib's stop() is a no-op until the accept loop runs, and would leave
  // the thread listening forever: wait until it does (microseconds).
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!http.is_running()) {
    if (std::chrono::steady_clock::now() > deadline) {
      http.stop();
      raw->thread_.join();
      return make_error(errc::internal, "metrics server on " + where + " did not start");
    }
    std::this_thread::yield();
  }
  return self;
}

void metrics_server::stop() {
  if (!thread_.joinable())
    return;
  healthy_ = false;
  http_->stop();
  thread_.join();
}

status_provider bridge_status_provider(caf::actor_system& sys, cli_bridge_actor bridge,
                                       credentials who,
                                       std::chrono::milliseconds timeout) {
  return [&sys, bridge, who, timeout]() -> caf::expected<std::string> {
    caf::expected<std::string> result{caf::error{}};
    caf::scoped_actor self{sys, true};
    self->request(bridge, timeout, daemon_status_req{who})
      .receive([&](daemon_status& st) { result = cli::to_json(st).dump(2); },
               [&](caf::error& err) {
                 result = make_error(errc::unavailable,
                                     "daemon status unavailable: " + error_message(err));
               });
    return result;
  };
}

} // namespace hal9000
