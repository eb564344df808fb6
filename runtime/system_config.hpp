#pragma once
// The actor system configuration every hal9000 process uses: the project's
// types, a small sharing scheduler (mostly idle daemon on a small box, see
// shared/notes/caf-0.17.md), the wire version as application identifier, and
// the middleman (plus OpenSSL when TLS files are given). Never parses argv.

#include <string>

#include <caf/actor_system_config.hpp>

namespace hal9000 {

/// Certificate files for mutual TLS; all empty: plain TCP.
struct tls_files {
  std::string cert;
  std::string key;
  std::string ca;
  bool enabled() const { return !cert.empty(); }
};

struct system_config : caf::actor_system_config {
  /// network: load the middleman. tls: also load caf::openssl (needs all
  /// three files, checked beforehand: CAF aborts on bad ones).
  explicit system_config(bool network = false, const tls_files& tls = {});
};

} // namespace hal9000
