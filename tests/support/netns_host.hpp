#pragma once
// A second "host" on this machine for remote-control tests: a network
// namespace linked to the root namespace by a veth pair with a /30 of its
// own. Removed (namespace and link) when the object goes, even when the test
// fails.

#include <string>

namespace hal9000::test {

struct netns_host {
  /// prefix: 3 letters naming the test (names stay under IFNAMSIZ);
  /// octet: the second octet of 10.<octet>.<id>.0/30, one per test file so
  /// tests running side by side never share a subnet.
  netns_host(const std::string& prefix, int octet);
  ~netns_host();
  netns_host(const netns_host&) = delete;
  netns_host& operator=(const netns_host&) = delete;

  std::string ns;       // `ip netns exec <ns> ...`
  std::string host_ip;  // the root namespace's end (where the daemon listens)
  std::string ns_ip;    // the namespace's end
  /// "" when ready; otherwise why not. allowed is false when the machine
  /// refuses network namespaces at all (a reason to skip, said as such).
  std::string error;
  bool allowed = true;

  /// Takes the root namespace's end of the link down (up): packets stop
  /// without a FIN or RST, as when a network drops silently. true on success.
  bool set_link(bool up);

private:
  std::string host_if_;
};

} // namespace hal9000::test
