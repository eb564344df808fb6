#include "runtime/tls_certs.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include "messages/error.hpp"
#include "runtime/atomic_file.hpp"
#include "runtime/auth_token.hpp"
#include "runtime/validate.hpp"

namespace hal9000 {

namespace {

using pkey_ptr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using x509_ptr = std::unique_ptr<X509, decltype(&X509_free)>;

caf::error ssl_error(const std::string& what) {
  char buf[256] = "unknown error";
  if (auto code = ERR_get_error())
    ERR_error_string_n(code, buf, sizeof(buf));
  ERR_clear_error();
  return make_error(errc::internal, what + ": " + buf);
}

bool exists(const std::string& path) {
  return ::access(path.c_str(), F_OK) == 0;
}

caf::error make_dir(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST)
    return make_error(errc::internal,
                      "cannot create " + path + ": " + std::strerror(errno));
  return caf::none;
}

template <class Writer>
caf::expected<std::string> to_pem(Writer write) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio{BIO_new(BIO_s_mem()), BIO_free};
  if (!bio || write(bio.get()) != 1)
    return ssl_error("cannot encode PEM");
  char* data = nullptr;
  auto len = BIO_get_mem_data(bio.get(), &data);
  return std::string{data, static_cast<size_t>(len)};
}

caf::error save_key(const std::string& path, EVP_PKEY* key) {
  auto pem = to_pem([&](BIO* b) {
    return PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr);
  });
  if (!pem)
    return pem.error();
  return write_file_atomic(path, *pem, 0600);
}

caf::error save_cert(const std::string& path, X509* cert) {
  auto pem = to_pem([&](BIO* b) { return PEM_write_bio_X509(b, cert); });
  if (!pem)
    return pem.error();
  return write_file_atomic(path, *pem, 0644);
}

caf::expected<pkey_ptr> load_key(const std::string& path) {
  std::unique_ptr<FILE, decltype(&std::fclose)> f{std::fopen(path.c_str(), "r"),
                                                  std::fclose};
  if (!f)
    return make_error(errc::not_found, "cannot read " + path);
  pkey_ptr key{PEM_read_PrivateKey(f.get(), nullptr, nullptr, nullptr),
               EVP_PKEY_free};
  if (!key)
    return ssl_error("cannot load " + path);
  return key;
}

caf::expected<x509_ptr> load_cert(const std::string& path) {
  std::unique_ptr<FILE, decltype(&std::fclose)> f{std::fopen(path.c_str(), "r"),
                                                  std::fclose};
  if (!f)
    return make_error(errc::not_found, "cannot read " + path);
  x509_ptr cert{PEM_read_X509(f.get(), nullptr, nullptr, nullptr), X509_free};
  if (!cert)
    return ssl_error("cannot load " + path);
  return cert;
}

caf::error add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  auto* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!ext)
    return ssl_error("cannot make certificate extension " + value);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  return caf::none;
}

enum class kind { ca, server, client };

// Issues a certificate for key, signed by issuer_key (self-signed when
// issuer is null).
caf::expected<x509_ptr> issue(kind k, const std::string& cn, EVP_PKEY* key,
                              X509* issuer, EVP_PKEY* issuer_key,
                              const std::vector<std::string>& names) {
  x509_ptr cert{X509_new(), X509_free};
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof(serial));
  serial[0] &= 0x7f;
  auto* bn = BN_bin2bn(serial, sizeof(serial), nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()),
                  (k == kind::ca ? 3650L : 825L) * 24 * 3600);
  X509_set_pubkey(cert.get(), key);
  auto* subject = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(subject, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("hal9000"),
                             -1, -1, 0);
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()),
                             -1, -1, 0);
  auto* signer = issuer ? issuer : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
  caf::error err;
  switch (k) {
    case kind::ca:
      err = add_ext(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
      if (!err)
        err = add_ext(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
      break;
    case kind::server: {
      std::string san;
      for (auto& n : names) {
        unsigned char buf[16];
        bool ip = ::inet_pton(AF_INET, n.c_str(), buf) == 1
                  || ::inet_pton(AF_INET6, n.c_str(), buf) == 1;
        san += (san.empty() ? "" : ",") + std::string{ip ? "IP:" : "DNS:"} + n;
      }
      err = add_ext(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE");
      if (!err && !san.empty())
        err = add_ext(cert.get(), signer, NID_subject_alt_name, san);
      if (!err)
        err = add_ext(cert.get(), signer, NID_ext_key_usage, "serverAuth");
      break;
    }
    case kind::client:
      err = add_ext(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE");
      if (!err)
        err = add_ext(cert.get(), signer, NID_ext_key_usage, "clientAuth");
      break;
  }
  if (err)
    return err;
  if (X509_sign(cert.get(), issuer_key, EVP_sha256()) == 0)
    return ssl_error("cannot sign the certificate for " + cn);
  return cert;
}

caf::expected<pkey_ptr> new_key() {
  pkey_ptr key{EVP_RSA_gen(2048), EVP_PKEY_free};
  if (!key)
    return ssl_error("cannot generate an RSA key");
  return key;
}

} // namespace

caf::expected<std::vector<std::string>> create_certs(const cert_request& req) {
  std::vector<std::string> done;
  for (auto& c : req.clients)
    if (auto err = valid_name(c))
      return err;
  auto dir = req.home + "/tls";
  if (auto err = make_dir(req.home); err)
    return err;
  if (auto err = make_dir(dir); err)
    return err;
  // The CA: created once, never replaced (it would orphan every client).
  auto ca_pem = dir + "/ca.pem", ca_key_path = dir + "/ca.key";
  if (!exists(ca_pem) || !exists(ca_key_path)) {
    auto key = new_key();
    if (!key)
      return key.error();
    auto cert = issue(kind::ca, "hal9000 CA", key->get(), nullptr, key->get(), {});
    if (!cert)
      return cert.error();
    if (auto err = save_key(ca_key_path, key->get()))
      return err;
    if (auto err = save_cert(ca_pem, cert->get()))
      return err;
    done.push_back("created " + ca_pem);
  } else {
    done.push_back("kept " + ca_pem);
  }
  auto ca_key = load_key(ca_key_path);
  if (!ca_key)
    return ca_key.error();
  auto ca_cert = load_cert(ca_pem);
  if (!ca_cert)
    return ca_cert.error();
  auto issue_pair = [&](kind k, const std::string& cn, const std::string& cert_path,
                        const std::string& key_path,
                        const std::vector<std::string>& names) -> caf::error {
    auto key = new_key();
    if (!key)
      return key.error();
    auto cert = issue(k, cn, key->get(), ca_cert->get(), ca_key->get(), names);
    if (!cert)
      return cert.error();
    if (auto err = save_key(key_path, key->get()))
      return err;
    return save_cert(cert_path, cert->get());
  };
  auto server_pem = dir + "/server.pem";
  if (req.force_server || !exists(server_pem)) {
    if (auto err = issue_pair(kind::server, "hal9000d", server_pem,
                              dir + "/server.key", req.server_names))
      return err;
    done.push_back("created " + server_pem);
  } else {
    done.push_back("kept " + server_pem);
  }
  auto clients = req.clients;
  // claudy on the daemon's own host uses this one when the daemon is TLS-only.
  if (!exists(dir + "/clients/local/cert.pem"))
    clients.insert(clients.begin(), "local");
  {
    if (auto err = make_dir(dir + "/clients"))
      return err;
    for (auto& name : clients) {
      auto cdir = dir + "/clients/" + name;
      if (auto err = make_dir(cdir))
        return err;
      if (auto err = issue_pair(kind::client, name, cdir + "/cert.pem",
                                cdir + "/key.pem", {}))
        return err;
      auto ca_text = to_pem([&](BIO* b) { return PEM_write_bio_X509(b, ca_cert->get()); });
      if (!ca_text)
        return ca_text.error();
      if (auto err = write_file_atomic(cdir + "/ca.pem", *ca_text, 0644))
        return err;
      // Each bundle its own token: the daemon knows the client by it
      // (user tls-<name>, runtime/user_tokens.hpp).
      auto token = random_token();
      if (!token)
        return token.error();
      if (auto err = write_file_atomic(cdir + "/token", *token + "\n", 0600))
        return err;
      done.push_back("created client bundle " + cdir
                     + " (copy it to the client host; use claudy --tls-dir)");
    }
  }
  return done;
}

} // namespace hal9000
