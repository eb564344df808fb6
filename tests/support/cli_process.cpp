#include "cli_process.hpp"

#include <csignal>
#include <fstream>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test_env.hpp"

namespace hal9000::test {

std::string bin(const std::string& name) {
  return std::string{HAL9000_BIN_DIR} + "/" + name;
}

uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

port_holder::port_holder(uint16_t port) {
  fd = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0
      || ::listen(fd, 1) != 0) {
    ::close(fd);
    fd = -1;
  }
}

port_holder::~port_holder() {
  if (fd >= 0)
    ::close(fd);
}

daemon_env::daemon_env(std::string h) : home(std::move(h)), port(free_port()) {
  static int counter = 0;
  daemon_id = "t" + run_id() + "-" + std::to_string(++counter);
  vars["HAL9000_DAEMON_ID"] = daemon_id;
  vars["HAL9000_MANAGE_PARENT"] = "false";
  // Its own shared volumes (<id>-memorybank, <id>-plugins), never the engine's
  // real hal9000-* ones.
  vars["HAL9000_PARENT_PREFIX"] = daemon_id;
  // A process on the host unless a test asks for the container mode.
  vars["HAL9000_DAEMON_MODE"] = "host";
}

daemon_env::~daemon_env() {
  // A host daemon only: one in its container goes with the containers below
  // (killing it alone would only make Docker restart it).
  auto mode = vars.find("HAL9000_DAEMON_MODE");
  if (mode == vars.end() || mode->second != "container")
    if (auto pid = daemon_pid(); pid > 0 && ::kill(pid, 0) == 0)
      ::kill(pid, SIGKILL);
  sh("ids=$(docker ps -aq --filter label=hal9000.daemon=" + daemon_id
     + " 2>/dev/null); [ -z \"$ids\" ] || docker rm -f $ids >/dev/null 2>&1");
  sh("vols=$(docker volume ls -q --filter label=hal9000.daemon=" + daemon_id
     + " 2>/dev/null); [ -z \"$vols\" ] || docker volume rm -f $vols >/dev/null 2>&1");
}

std::string daemon_env::env_prefix() const {
  std::string out = "env HAL9000_HOME='" + home + "' HAL9000_PORT="
                    + std::to_string(port) + " ";
  for (auto& [k, v] : vars)
    out += k + "='" + v + "' ";
  return out;
}

run_result daemon_env::run(const std::string& cmdline) const {
  run_result r;
  r.out = sh(env_prefix() + cmdline + " </dev/null 2>&1", &r.rc);
  return r;
}

run_result daemon_env::claudy(const std::string& args) const {
  return run(bin("claudy") + " " + args);
}

int daemon_env::daemon_pid() const {
  std::ifstream in{home + "/hal9000d.pid"};
  int pid = 0;
  in >> pid;
  return pid;
}

} // namespace hal9000::test
