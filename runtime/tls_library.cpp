#include "runtime/tls_library.hpp"

#include <dlfcn.h>

#include <mutex>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include "messages/error.hpp"

#ifndef HAL9000_CAF_OPENSSL_SONAME
#define HAL9000_CAF_OPENSSL_SONAME "libcaf_openssl.so.0.17.6"
#endif

namespace hal9000::tls_library {

namespace {

void* handle = nullptr;
std::string load_error;
std::once_flag once;

// caf::openssl::manager::make(caf::actor_system&, caf::detail::type_list<>)
constexpr const char* make_symbol
  = "_ZN3caf7openssl7manager4makeERNS_12actor_systemENS_6detail9type_listIJEEE";
using make_fn = caf::actor_system::module* (*)(caf::actor_system&, caf::detail::type_list<>);

} // namespace

caf::error load() {
  std::call_once(once, [] {
    // RTLD_GLOBAL: libcaf_io's and libcaf_core's objects and the OpenSSL
    // module then share one symbol scope, as if linked; RTLD_LAZY binds
    // functions at their first call, as the dynamic linker does at start.
    handle = ::dlopen(HAL9000_CAF_OPENSSL_SONAME, RTLD_LAZY | RTLD_GLOBAL);
    if (!handle) {
      auto* why = ::dlerror();
      load_error = why ? why : "unknown reason";
    }
  });
  if (!handle)
    return make_error(errc::unavailable, std::string{"TLS needs "} + HAL9000_CAF_OPENSSL_SONAME
                                           + " (Debian: libcaf-openssl0.17.6): " + load_error);
  return caf::none;
}

void* symbol(const char* name) {
  return handle ? ::dlsym(handle, name) : nullptr;
}

caf::error add_module(caf::actor_system_config& cfg) {
  if (auto err = load())
    return err;
  auto make = reinterpret_cast<make_fn>(symbol(make_symbol));
  if (!make)
    return make_error(errc::unavailable, std::string{HAL9000_CAF_OPENSSL_SONAME}
                                           + " has no OpenSSL manager factory");
  cfg.module_factories.push_back(
    [make](caf::actor_system& sys) { return make(sys, caf::detail::type_list<>{}); });
  return caf::none;
}

} // namespace hal9000::tls_library
