#include "support/tls_upstream.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace hal9000::test {

namespace {

int run(const std::string& cmd) {
  return std::system((cmd + " >/dev/null 2>&1").c_str());
}

std::string lower(std::string s) {
  for (auto& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

} // namespace

test_ca make_test_ca(const std::string& dir) {
  test_ca out;
  out.ca_cert = dir + "/ca.pem";
  out.server_cert = dir + "/server.pem";
  out.server_key = dir + "/server.key";
  auto ca_key = dir + "/ca.key";
  auto csr = dir + "/server.csr";
  auto ext = dir + "/server.ext";
  std::ofstream{ext} << "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                        "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n"
                        "extendedKeyUsage=serverAuth\n";
  out.ok
    = run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 "
          "-subj /CN=hal9000-test-ca -keyout " + ca_key + " -out " + out.ca_cert) == 0
      && run("openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
             "-subj /CN=localhost -keyout " + out.server_key + " -out " + csr) == 0
      && run("openssl x509 -req -in " + csr + " -CA " + out.ca_cert + " -CAkey " + ca_key
             + " -CAcreateserial -days 2 -extfile " + ext + " -out " + out.server_cert) == 0;
  return out;
}

bool upstream_writer::write(const std::string& s) {
  auto* ssl = static_cast<SSL*>(ssl_);
  size_t off = 0;
  while (off < s.size()) {
    int n = SSL_write(ssl, s.data() + off, static_cast<int>(s.size() - off));
    if (n <= 0)
      return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

bool upstream_writer::respond(int status, const std::string& type, const std::string& body) {
  std::ostringstream h;
  h << "HTTP/1.1 " << status << " X\r\nContent-Type: " << type
    << "\r\nContent-Length: " << body.size() << "\r\n\r\n";
  return write(h.str() + body);
}

bool upstream_writer::begin_chunked(int status, const std::string& type) {
  std::ostringstream h;
  h << "HTTP/1.1 " << status << " X\r\nContent-Type: " << type
    << "\r\nTransfer-Encoding: chunked\r\n\r\n";
  return write(h.str());
}

bool upstream_writer::chunk(const std::string& data) {
  std::ostringstream c;
  c << std::hex << data.size() << "\r\n" << data << "\r\n";
  return write(c.str());
}

bool upstream_writer::end() {
  return write("0\r\n\r\n");
}

tls_upstream::tls_upstream(const test_ca& ca, handler h) : handler_(std::move(h)) {
  auto* ctx = SSL_CTX_new(TLS_server_method());
  ctx_ = ctx;
  if (!ctx || SSL_CTX_use_certificate_chain_file(ctx, ca.server_cert.c_str()) != 1
      || SSL_CTX_use_PrivateKey_file(ctx, ca.server_key.c_str(), SSL_FILETYPE_PEM) != 1)
    return;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 128) != 0) {
    ::close(fd);
    return;
  }
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
  fd_ = fd;
  acceptor_ = std::thread([this] { accept_loop(); });
}

tls_upstream::~tls_upstream() {
  stopping_ = true;
  if (fd_ >= 0)
    ::shutdown(fd_, SHUT_RDWR);
  if (acceptor_.joinable())
    acceptor_.join();
  {
    std::lock_guard<std::mutex> g{mtx_};
    for (int fd : open_fds_)
      ::shutdown(fd, SHUT_RDWR);
  }
  for (auto& t : threads_)
    if (t.joinable())
      t.join();
  if (fd_ >= 0)
    ::close(fd_);
  SSL_CTX_free(static_cast<SSL_CTX*>(ctx_));
}

std::vector<upstream_request> tls_upstream::received() const {
  std::lock_guard<std::mutex> g{mtx_};
  return received_;
}

void tls_upstream::accept_loop() {
  while (!stopping_) {
    int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) {
      if (stopping_)
        return;
      continue;
    }
    int one = 1;
    ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ++connections_;
    std::lock_guard<std::mutex> g{mtx_};
    open_fds_.push_back(c);
    threads_.emplace_back([this, c] { serve(c); });
  }
}

void tls_upstream::serve(int fd) {
  auto* ssl = SSL_new(static_cast<SSL_CTX*>(ctx_));
  SSL_set_fd(ssl, fd);
  if (SSL_accept(ssl) == 1) {
    std::string buf;
    char tmp[16384];
    for (;;) {
      // One request: headers, then Content-Length bytes of body.
      size_t end;
      while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
        int n = SSL_read(ssl, tmp, sizeof tmp);
        if (n <= 0)
          goto done;
        buf.append(tmp, static_cast<size_t>(n));
      }
      upstream_request req;
      std::istringstream head{buf.substr(0, end)};
      std::string line;
      std::getline(head, line);
      std::istringstream first{line};
      std::string version;
      first >> req.method >> req.target >> version;
      while (std::getline(head, line)) {
        if (!line.empty() && line.back() == '\r')
          line.pop_back();
        auto colon = line.find(':');
        if (colon == std::string::npos)
          continue;
        auto value = line.substr(colon + 1);
        while (!value.empty() && value[0] == ' ')
          value.erase(0, 1);
        req.headers[lower(line.substr(0, colon))] = value;
      }
      size_t want = 0;
      if (auto i = req.headers.find("content-length"); i != req.headers.end())
        want = std::stoul(i->second);
      buf.erase(0, end + 4);
      while (buf.size() < want) {
        int n = SSL_read(ssl, tmp, sizeof tmp);
        if (n <= 0)
          goto done;
        buf.append(tmp, static_cast<size_t>(n));
      }
      req.body = buf.substr(0, want);
      buf.erase(0, want);
      {
        std::lock_guard<std::mutex> g{mtx_};
        received_.push_back(req);
      }
      upstream_writer w{ssl};
      handler_(req, w);
    }
  }
done:
  SSL_shutdown(ssl);
  SSL_free(ssl);
  ::close(fd);
  std::lock_guard<std::mutex> g{mtx_};
  for (auto& x : open_fds_)
    if (x == fd)
      x = -1;
}

} // namespace hal9000::test
