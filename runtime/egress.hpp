#pragma once
// The egress policy in the parent's network namespace, as the kernel's packet
// filter enforces it (iptables-restore run inside that namespace):
//
//   filter OUTPUT: loopback (ChromaDB, the credential proxy, the filtering
//                  proxy; also 127.0.0.0/8 destinations, which is how a
//                  redirected packet shows here) -> accept; replies of accepted connections (the
//                  host reaching the published CHROMADB_PORT) -> accept;
//                  the filtering proxy's uid (64991, images/egress) -> accept;
//                  everything else -> reject (TCP reset, ICMP otherwise)
//   nat OUTPUT:    TCP leaving by any interface but loopback from any other
//                  uid -> REDIRECT to the reporter (runtime/proxy_server.hpp),
//                  which learns the destination, answers 403 and reports it
//   ip6tables:     the same filter, no redirect (IPv6 rejected outright)
// HAL9000_EGRESS_ALLOW=* applies empty tables: open egress as before.
// UDP (DNS included) is rejected without an event: workers resolve nothing
// themselves; the filtering proxy resolves the names it allows.

#include <cstdint>
#include <string>
#include <vector>

#include <caf/error.hpp>

namespace hal9000::egress {

/// The uid the filtering proxy runs as (images/egress/setup.sh).
constexpr uint32_t filter_uid = 64991;

/// Default HAL9000_EGRESS_ALLOW (config.egress_allow's default, README): the
/// Anthropic API, Claude's platform (Claude Code's login asks it at start),
/// the npm registry, GitHub.
constexpr const char* default_allow
  = "api.anthropic.com,platform.claude.com,registry.npmjs.org,github.com,*.github.com,"
    "*.githubusercontent.com";

/// Splits HAL9000_EGRESS_ALLOW (comma- or space-separated) into host
/// patterns. invalid_argument for an entry that is neither "*" nor a host
/// name, optionally starting with "*." ([A-Za-z0-9.-], 1-253 chars).
caf::expected<std::vector<std::string>> parse_allow(const std::string& text);

/// Whether the list opens egress ("*" among them).
bool is_open(const std::vector<std::string>& allow);

/// iptables-restore input for the policy (IPv4). open: empty tables.
std::string rules_v4(bool open, uint16_t report_port);
/// ip6tables-restore input.
std::string rules_v6(bool open);

/// Applies both inside the network namespace at netns ("/proc/<pid>/ns/net"):
/// runs iptables-restore and ip6tables-restore with the thread inside it.
/// Blocks (fork+exec, ~10-30 ms): never on the scheduler. IPv6 failing (no
/// IPv6 in the namespace) is no error; IPv4 failing is (internal, with the
/// tool's output).
caf::error apply(const std::string& netns, bool open, uint16_t report_port);

/// "hal9000 egress policy: ... HAL9000_EGRESS_ALLOW ...": what a refused
/// connection is told.
std::string policy_note(const std::vector<std::string>& allow);

} // namespace hal9000::egress
