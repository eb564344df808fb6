#pragma once
// CAF's OpenSSL module, and with it libssl and libcrypto, loaded at run time
// (dlopen) by the processes that use TLS, and only then: claudy talking to a
// loopback daemon never maps or relocates them (about 1.3 ms of CPU at
// every start). The daemon links them anyway; loading is then a lookup.
//
// Not a plugin of ours: the libraries are Debian's (libcaf-openssl0.17.6,
// libssl3), the same files the binaries would otherwise name as NEEDED.

#include <caf/error.hpp>

namespace caf {
class actor_system_config;
} // namespace caf

namespace hal9000::tls_library {

/// Loads the libraries once per process (thread-safe). Errors: unavailable,
/// naming the library and dlerror's reason.
caf::error load();

/// A symbol from the loaded libraries (after load() succeeded), else null.
void* symbol(const char* name);

/// Adds CAF's OpenSSL module to cfg, as cfg.load<caf::openssl::manager>()
/// would. Errors: those of load(), or unavailable when the module's factory
/// is missing.
caf::error add_module(caf::actor_system_config& cfg);

} // namespace hal9000::tls_library
