#include "netns_host.hpp"

#include <unistd.h>

#include "test_env.hpp"

namespace hal9000::test {

netns_host::netns_host(const std::string& prefix, int octet) {
  auto id = std::to_string(::getpid() % 200 + 20);
  ns = prefix + id;
  host_if_ = prefix + "h" + id;
  auto ns_if = prefix + "n" + id;
  auto net = "10." + std::to_string(octet) + "." + id + ".";
  host_ip = net + "1";
  ns_ip = net + "2";
  int rc = 0;
  sh("ip netns add " + ns + " 2>&1", &rc);
  if (rc != 0) {
    allowed = false;
    error = "this machine does not allow network namespaces";
    return;
  }
  sh("ip link add " + host_if_ + " type veth peer name " + ns_if + " && ip link set " + ns_if
       + " netns " + ns + " && ip addr add " + host_ip + "/30 dev " + host_if_
       + " && ip link set " + host_if_ + " up && ip netns exec " + ns + " ip addr add " + ns_ip
       + "/30 dev " + ns_if + " && ip netns exec " + ns + " ip link set " + ns_if
       + " up && ip netns exec " + ns + " ip link set lo up",
     &rc);
  if (rc != 0)
    error = "cannot wire the veth pair";
}

bool netns_host::set_link(bool up) {
  int rc = 0;
  sh("ip link set " + host_if_ + (up ? " up" : " down") + " 2>&1", &rc);
  return rc == 0;
}

netns_host::~netns_host() {
  sh("ip netns del " + ns + " 2>/dev/null; ip link del " + host_if_ + " 2>/dev/null");
}

} // namespace hal9000::test
