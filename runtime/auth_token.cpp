#include "runtime/auth_token.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "messages/error.hpp"

namespace hal9000 {

namespace {

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' '))
    s.pop_back();
  return s;
}

} // namespace

std::string token_path(const std::string& home) {
  return home + "/auth/token";
}

caf::expected<std::string> random_token() {
  // The kernel's CSPRNG (blocks only before it is seeded at boot).
  unsigned char raw[32];
  size_t got = 0;
  while (got < sizeof(raw)) {
    auto n = ::getrandom(raw + got, sizeof(raw) - got, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return make_error(errc::internal, std::string{"no randomness for a token: "}
                                          + std::strerror(errno));
    got += static_cast<size_t>(n);
  }
  static constexpr char hex[] = "0123456789abcdef";
  std::string token;
  for (auto b : raw) {
    token += hex[b >> 4];
    token += hex[b & 0xf];
  }
  return token;
}

caf::expected<std::string> read_token(const std::string& path) {
  std::ifstream in{path};
  if (!in) {
    auto code = errno == ENOENT ? errc::not_found : errc::unauthenticated;
    return make_error(code, "cannot read the control token " + path + ": "
                              + std::strerror(errno));
  }
  std::string token;
  std::getline(in, token);
  token = trim(token);
  if (token.size() != 64)
    return make_error(errc::unauthenticated,
                      "the control token in " + path + " is malformed");
  return token;
}

caf::expected<std::string> ensure_token(const std::string& home) {
  auto dir = home + "/auth";
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return make_error(errc::internal, "cannot create " + dir + ": "
                                        + std::strerror(errno));
  ::chmod(dir.c_str(), 0700);
  auto path = token_path(home);
  if (::access(path.c_str(), F_OK) == 0)
    return read_token(path);
  auto fresh = random_token();
  if (!fresh)
    return fresh.error();
  auto token = std::move(*fresh);
  // O_EXCL: two daemons racing at first start never overwrite each other.
  auto tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    return make_error(errc::internal, "cannot write " + tmp + ": "
                                        + std::strerror(errno));
  auto line = token + "\n";
  bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size())
            && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::link(tmp.c_str(), path.c_str()) != 0) {
    auto err = errno;
    ::unlink(tmp.c_str());
    if (err == EEXIST)
      return read_token(path);
    return make_error(errc::internal, "cannot write " + path + ": "
                                        + std::strerror(err));
  }
  ::unlink(tmp.c_str());
  return token;
}

bool token_equals(const std::string& a, const std::string& b) {
  if (a.size() != b.size())
    return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i)
    diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

} // namespace hal9000
