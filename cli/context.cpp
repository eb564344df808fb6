#include "cli/context.hpp"

#include <cstdio>
#include <iostream>

#include "cli/exit_codes.hpp"
#include "messages/deadlines.hpp"
#include "messages/error.hpp"
#include <unistd.h>

#include "runtime/auth_token.hpp"
#include "runtime/user_tokens.hpp"
#include "runtime/tls.hpp"

namespace hal9000::cli {

caf::expected<endpoint> context::target() const {
  endpoint ep;
  ep.port = cfg.port;
  ep.host = cfg.listen_host == "0.0.0.0" || cfg.listen_host == "::"
              ? "127.0.0.1" : cfg.listen_host;
  if (!host.empty()) {
    auto colon = host.rfind(':');
    ep.host = host.substr(0, colon);
    if (colon != std::string::npos) {
      auto port = host.substr(colon + 1);
      bool digits = !port.empty() && port.size() <= 5;
      for (auto c : port)
        digits = digits && c >= '0' && c <= '9';
      if (!digits || std::stoul(port) == 0 || std::stoul(port) > 65535)
        return make_error(errc::invalid_argument,
                          "invalid --host '" + host + "': expected HOST:PORT");
      ep.port = static_cast<uint16_t>(std::stoul(port));
    }
    if (ep.host.empty())
      return make_error(errc::invalid_argument,
                        "invalid --host '" + host + "': expected HOST:PORT");
  }
  // On the daemon's host, a TLS-only daemon is reached with the local bundle.
  auto bundle = tls_dir;
  if (bundle.empty() && host.empty() && !is_loopback_host(cfg.listen_host))
    bundle = cfg.home + "/tls/clients/local";
  if (!bundle.empty()) {
    auto files = client_tls_files(bundle);
    if (!files)
      return files.error();
    ep.tls = *files;
  }
  // Who we are is the token: root's, or the one the daemon issued to our uid.
  auto own = user_token_path(cfg.home, ::getuid());
  ep.token_file = !token_file.empty() ? token_file
                  : !tls_dir.empty()  ? tls_dir + "/token"
                  : ::getuid() != 0 && ::access(own.c_str(), R_OK) == 0 ? own
                                      : token_path(cfg.home);
  return ep;
}

std::chrono::milliseconds context::start_wait() const {
  return deadlines::session_start_wait(std::chrono::seconds(cfg.claim_timeout_s));
}

std::chrono::milliseconds context::restart_wait() const {
  return deadlines::session_restart_wait(std::chrono::seconds(cfg.claim_timeout_s));
}

caf::expected<std::unique_ptr<connection>>
context::connect(std::chrono::milliseconds connect_timeout) const {
  auto ep = target();
  if (!ep)
    return ep.error();
  auto conn = std::make_unique<connection>(*ep);
  if (auto err = conn->connect(connect_timeout))
    return err;
  return conn;
}

void leave_now(int rc) {
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
  ::_exit(rc);
}

int fail(const caf::error& err) {
  std::cerr << "claudy: " << error_message(err) << "\n";
  return exit_code_for(err);
}

} // namespace hal9000::cli
