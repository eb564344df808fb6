#include "runtime/tls.hpp"

#include <memory>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <unistd.h>

#include "messages/error.hpp"

namespace hal9000 {

namespace {

std::string ssl_reason() {
  auto code = ERR_get_error();
  ERR_clear_error();
  if (code == 0)
    return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof(buf));
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
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx{SSL_CTX_new(TLS_method()),
                                                        SSL_CTX_free};
  if (!ctx)
    return make_error(errc::internal, "OpenSSL: " + ssl_reason());
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), f.cert.c_str()) != 1)
    return make_error(errc::invalid_argument,
                      "cannot load certificate " + f.cert + ": " + ssl_reason());
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), f.key.c_str(), SSL_FILETYPE_PEM) != 1)
    return make_error(errc::invalid_argument,
                      "cannot load private key " + f.key + ": " + ssl_reason());
  if (SSL_CTX_check_private_key(ctx.get()) != 1)
    return make_error(errc::invalid_argument,
                      "private key " + f.key + " does not match certificate " + f.cert);
  if (SSL_CTX_load_verify_locations(ctx.get(), f.ca.c_str(), nullptr) != 1)
    return make_error(errc::invalid_argument,
                      "cannot load CA certificate " + f.ca + ": " + ssl_reason());
  // The certificate must chain to the CA: the peer checks exactly that.
  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> vctx{
    X509_STORE_CTX_new(), X509_STORE_CTX_free};
  auto* cert = SSL_CTX_get0_certificate(ctx.get());
  if (!vctx || !cert
      || X509_STORE_CTX_init(vctx.get(), SSL_CTX_get_cert_store(ctx.get()), cert,
                             nullptr) != 1)
    return make_error(errc::internal, "OpenSSL: " + ssl_reason());
  if (X509_verify_cert(vctx.get()) != 1)
    return make_error(errc::invalid_argument,
                      "certificate " + f.cert + " is not signed by the CA in " + f.ca
                        + ": "
                        + X509_verify_cert_error_string(
                          X509_STORE_CTX_get_error(vctx.get())));
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
