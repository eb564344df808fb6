#include "runtime/system_config.hpp"

#include <caf/io/middleman.hpp>

#include "messages/wire.hpp"
#include "runtime/tls_library.hpp"

namespace hal9000 {

system_config::system_config(bool network, const tls_files& tls) {
  register_types(*this);
  set("scheduler.max-threads", 2);
  set("scheduler.policy", caf::atom("sharing"));
  set("logger.verbosity", caf::atom("quiet"));
  if (!network)
    return;
  load<caf::io::middleman>();
  set("middleman.workers", 0);
  set("middleman.app-identifiers", std::vector<std::string>{wire_version});
  // Notices a hung peer: a down_msg about 1.4 s after it stops answering.
  set("middleman.heartbeat-interval", caf::timespan{std::chrono::milliseconds(500)});
  if (tls.enabled()) {
    // Loaded at run time (runtime/tls_library.hpp); the callers checked the
    // files first, which loaded it. Should it still fail, the system has no
    // OpenSSL manager and connecting says so (has_openssl_manager()).
    if (auto err = tls_library::add_module(*this))
      return;
    set("openssl.certificate", tls.cert);
    set("openssl.key", tls.key);
    set("openssl.cafile", tls.ca);
  }
}

} // namespace hal9000
