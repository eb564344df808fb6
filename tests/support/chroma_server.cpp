#include "chroma_server.hpp"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <httplib.h>

#include "test_env.hpp"

namespace hal9000::test {

namespace {

std::string cache_root() {
  if (auto* c = std::getenv("HAL9000_TEST_CACHE"); c && *c)
    return c;
  if (auto* x = std::getenv("XDG_CACHE_HOME"); x && *x)
    return std::string{x} + "/hal9000-test";
  auto* home = std::getenv("HOME");
  return std::string{home && *home ? home : "/tmp"} + "/.cache/hal9000-test";
}

std::string recipe_dir() {
  return std::string{HAL9000_SOURCE_DIR} + "/images/chromadb";
}

// Where the pinned server lives: keyed by the lockfile's hash.
std::string install_dir() {
  static const std::string dir = [] {
    auto hash = sh("sha256sum '" + recipe_dir() + "/package-lock.json' | cut -c1-16");
    while (!hash.empty() && (hash.back() == '\n' || hash.back() == ' '))
      hash.pop_back();
    return cache_root() + "/chromadb-" + hash;
  }();
  return dir;
}

std::string chroma_bin() {
  return install_dir() + "/node_modules/.bin/chroma";
}

std::string tail_file(const std::string& path, size_t max = 2000) {
  std::ifstream in{path};
  std::stringstream ss;
  ss << in.rdbuf();
  auto s = ss.str();
  return s.size() <= max ? s : s.substr(s.size() - max);
}

} // namespace

uint16_t free_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0
      && ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

std::string chroma_server::install() {
  if (::access(chroma_bin().c_str(), X_OK) == 0)
    return {};
  // One installer at a time; into a temp dir renamed into place when done.
  auto dir = install_dir();
  int rc = 0;
  auto out = sh("set -e; mkdir -p '" + cache_root() + "'; exec 9>'" + dir + ".lock'; flock 9; "
                "[ -x '" + chroma_bin() + "' ] && exit 0; "
                "tmp=$(mktemp -d '" + dir + ".tmp.XXXXXX'); "
                "cp '" + recipe_dir() + "/package.json' '" + recipe_dir()
                + "/package-lock.json' \"$tmp\"/; "
                "(cd \"$tmp\" && npm ci --no-fund --no-audit --omit=dev) 2>&1; "
                "mv \"$tmp\" '" + dir + "'",
                &rc);
  if (rc != 0)
    return "npm ci of the pinned ChromaDB server into " + dir + " failed (rc "
           + std::to_string(rc) + "): " + out;
  return {};
}

chroma_server::chroma_server(std::string data_dir) : data_dir_(std::move(data_dir)) {
  ::mkdir(data_dir_.c_str(), 0755);
  log_ = data_dir_ + ".log";
}

chroma_server::~chroma_server() {
  kill9();
}

void chroma_server::kill9() {
  if (pid_ <= 0)
    return;
  // The server runs in its own process group: take any helper with it.
  ::kill(-pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

std::string chroma_server::start(std::chrono::milliseconds deadline) {
  if (auto err = install(); !err.empty())
    return err;
  std::string err;
  // A free port can be taken by someone else before the server binds it.
  for (int attempt = 0; attempt < 3; ++attempt) {
    err = start_once(deadline);
    if (err.empty())
      return err;
  }
  return err;
}

std::string chroma_server::start_once(std::chrono::milliseconds deadline) {
  kill9();
  if (port_ == 0)
    port_ = free_loopback_port();
  auto port = std::to_string(port_);
  auto bin = chroma_bin();
  pid_t pid = ::fork();
  if (pid < 0)
    return std::string{"fork: "} + std::strerror(errno);
  if (pid == 0) {
    ::setpgid(0, 0);
    int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    ::execl(bin.c_str(), bin.c_str(), "run", "--host", "127.0.0.1", "--port",
            port.c_str(), "--path", data_dir_.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  pid_ = pid;
  bool exited = false;
  auto up = wait_for(
    [&] {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
        exited = true;
        return true;
      }
      return http_get(url(), "/api/v2/heartbeat").first == 200;
    },
    deadline);
  if (up && !exited)
    return {};
  if (exited) {
    pid_ = -1;
    port_ = 0;  // maybe taken: the next attempt picks another
  } else {
    kill9();
  }
  return "ChromaDB on port " + port + (exited ? " exited" : " did not answer in time")
         + "; log " + log_ + ":\n" + tail_file(log_);
}

std::pair<int, std::string> http_get(const std::string& url, const std::string& path) {
  httplib::Client cli{url};
  cli.set_connection_timeout(1, 0);
  cli.set_read_timeout(2, 0);
  auto res = cli.Get(path.c_str());
  if (!res)
    return {0, httplib::to_string(res.error())};
  return {res->status, res->body};
}

std::pair<int, std::string> http_post(const std::string& url, const std::string& path,
                                      const std::string& json) {
  httplib::Client cli{url};
  cli.set_connection_timeout(1, 0);
  cli.set_read_timeout(5, 0);
  auto res = cli.Post(path.c_str(), json, "application/json");
  if (!res)
    return {0, httplib::to_string(res.error())};
  return {res->status, res->body};
}

} // namespace hal9000::test
