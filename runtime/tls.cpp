#include "runtime/tls.hpp"

#include <memory>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <unistd.h>

#include "messages/error.hpp"
#include "runtime/tls_library.hpp"

namespace hal9000 {

namespace {

// The OpenSSL calls the check makes, looked up in the libraries
// tls_library loads (so that a process that never uses TLS never loads
// them). decltype keeps every pointer's type OpenSSL's own.
#define HAL9000_SSL_CALLS(X)                                                            \
  X(ERR_get_error)                                                                      \
  X(ERR_clear_error)                                                                    \
  X(ERR_error_string_n)                                                                 \
  X(TLS_method)                                                                         \
  X(SSL_CTX_new)                                                                        \
  X(SSL_CTX_free)                                                                       \
  X(SSL_CTX_use_certificate_chain_file)                                                 \
  X(SSL_CTX_use_PrivateKey_file)                                                        \
  X(SSL_CTX_check_private_key)                                                          \
  X(SSL_CTX_load_verify_locations)                                                      \
  X(SSL_CTX_get0_certificate)                                                           \
  X(SSL_CTX_get_cert_store)                                                             \
  X(X509_STORE_CTX_new)                                                                 \
  X(X509_STORE_CTX_free)                                                                \
  X(X509_STORE_CTX_init)                                                                \
  X(X509_STORE_CTX_get_error)                                                           \
  X(X509_verify_cert)                                                                   \
  X(X509_verify_cert_error_string)

struct ssl_calls {
#define HAL9000_SSL_MEMBER(f) decltype(&::f) f = nullptr;
  HAL9000_SSL_CALLS(HAL9000_SSL_MEMBER)
#undef HAL9000_SSL_MEMBER
};

// Every call, or the error saying which is missing.
caf::expected<ssl_calls> load_calls() {
  if (auto err = tls_library::load())
    return err;
  ssl_calls c;
  std::string missing;
#define HAL9000_SSL_LOOKUP(f)                                                           \
  c.f = reinterpret_cast<decltype(&::f)>(tls_library::symbol(#f));                      \
  if (!c.f)                                                                             \
    missing += std::string{missing.empty() ? "" : ", "} + #f;
  HAL9000_SSL_CALLS(HAL9000_SSL_LOOKUP)
#undef HAL9000_SSL_LOOKUP
  if (!missing.empty())
    return make_error(errc::unavailable, "the OpenSSL libraries lack " + missing);
  return c;
}

std::string ssl_reason(const ssl_calls& c) {
  auto code = c.ERR_get_error();
  c.ERR_clear_error();
  if (code == 0)
    return "unknown OpenSSL error";
  char buf[256];
  c.ERR_error_string_n(code, buf, sizeof(buf));
  return buf;
}

caf::error readable(const std::string& path, const char* what) {
  if (path.empty())
    return make_error(errc::invalid_argument, std::string{"no "} + what + " file given");
  if (::access(path.c_str(), R_OK) != 0)
    return make_error(errc::not_found, std::string{what} + " file " + path
                                         + " is missing or unreadable");
  return caf::none;
}

} // namespace

caf::error check_tls_files(const tls_files& f) {
  if (auto err = readable(f.cert, "certificate"))
    return err;
  if (auto err = readable(f.key, "private key"))
    return err;
  if (auto err = readable(f.ca, "CA certificate"))
    return err;
  auto calls = load_calls();
  if (!calls)
    return calls.error();
  auto& c = *calls;
  std::unique_ptr<SSL_CTX, decltype(&::SSL_CTX_free)> ctx{c.SSL_CTX_new(c.TLS_method()),
                                                          c.SSL_CTX_free};
  if (!ctx)
    return make_error(errc::internal, "OpenSSL: " + ssl_reason(c));
  if (c.SSL_CTX_use_certificate_chain_file(ctx.get(), f.cert.c_str()) != 1)
    return make_error(errc::invalid_argument,
                      "cannot load certificate " + f.cert + ": " + ssl_reason(c));
  if (c.SSL_CTX_use_PrivateKey_file(ctx.get(), f.key.c_str(), SSL_FILETYPE_PEM) != 1)
    return make_error(errc::invalid_argument,
                      "cannot load private key " + f.key + ": " + ssl_reason(c));
  if (c.SSL_CTX_check_private_key(ctx.get()) != 1)
    return make_error(errc::invalid_argument,
                      "private key " + f.key + " does not match certificate " + f.cert);
  if (c.SSL_CTX_load_verify_locations(ctx.get(), f.ca.c_str(), nullptr) != 1)
    return make_error(errc::invalid_argument,
                      "cannot load CA certificate " + f.ca + ": " + ssl_reason(c));
  // The certificate must chain to the CA: the peer checks exactly that.
  std::unique_ptr<X509_STORE_CTX, decltype(&::X509_STORE_CTX_free)> vctx{
    c.X509_STORE_CTX_new(), c.X509_STORE_CTX_free};
  auto* cert = c.SSL_CTX_get0_certificate(ctx.get());
  if (!vctx || !cert
      || c.X509_STORE_CTX_init(vctx.get(), c.SSL_CTX_get_cert_store(ctx.get()), cert,
                               nullptr) != 1)
    return make_error(errc::internal, "OpenSSL: " + ssl_reason(c));
  if (c.X509_verify_cert(vctx.get()) != 1)
    return make_error(errc::invalid_argument,
                      "certificate " + f.cert + " is not signed by the CA in " + f.ca
                        + ": "
                        + c.X509_verify_cert_error_string(
                          c.X509_STORE_CTX_get_error(vctx.get())));
  return caf::none;
}

caf::expected<tls_files> server_tls_files(const std::string& home) {
  auto dir = home + "/tls";
  tls_files f{dir + "/server.pem", dir + "/server.key", dir + "/ca.pem"};
  if (::access(f.cert.c_str(), F_OK) != 0)
    return make_error(errc::not_found, "no server certificate in " + dir);
  if (auto err = check_tls_files(f))
    return err;
  return f;
}

caf::expected<tls_files> client_tls_files(const std::string& dir) {
  tls_files f{dir + "/cert.pem", dir + "/key.pem", dir + "/ca.pem"};
  if (auto err = check_tls_files(f))
    return err;
  return f;
}

} // namespace hal9000
