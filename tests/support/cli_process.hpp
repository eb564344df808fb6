#pragma once
// Runs the real claudy and hal9000d binaries as separate processes against a
// daemon of the test's own (own HAL9000_HOME, own port).

#include <cstdint>
#include <map>
#include <string>

namespace hal9000::test {

/// Path of a built binary ("claudy", "hal9000d").
std::string bin(const std::string& name);

/// A loopback TCP port nobody listens on right now.
uint16_t free_port();

/// A listening socket on 127.0.0.1:port for the holder's lifetime (fd -1
/// when the port could not be taken): a port in use, for error-path tests.
struct port_holder {
  int fd = -1;
  explicit port_holder(uint16_t port);
  ~port_holder();
  port_holder(const port_holder&) = delete;
  port_holder& operator=(const port_holder&) = delete;
};

struct run_result {
  int rc = -1;
  std::string out;  // stdout and stderr together
};

/// A daemon's environment: HAL9000_HOME, HAL9000_PORT, a daemon id of its
/// own (so its containers are told apart by label from every other
/// daemon's), no parent unless a test asks for one, and whatever else a test
/// sets; the parent prefix is the daemon id, so its shared volumes are its
/// own, and HAL9000_DAEMON_MODE=host (a container-mode test sets "container").
/// At destruction it kills a daemon left running and removes every
/// container and volume labelled with its daemon id.
struct daemon_env {
  std::string home;
  uint16_t port;
  std::string daemon_id;
  std::map<std::string, std::string> vars;

  explicit daemon_env(std::string home);
  ~daemon_env();

  /// Runs `claudy <args>` with this environment; stdin is /dev/null.
  run_result claudy(const std::string& args) const;

  /// Runs any command line with this environment.
  run_result run(const std::string& cmdline) const;

  /// The pid in HAL9000_HOME/hal9000d.pid, 0 when none.
  int daemon_pid() const;

  std::string env_prefix() const;
};

} // namespace hal9000::test
