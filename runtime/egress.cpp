#include "runtime/egress.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>

#include <caf/expected.hpp>

#include "messages/error.hpp"
#include "runtime/netns.hpp"

namespace hal9000::egress {

caf::expected<std::vector<std::string>> parse_allow(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  auto flush = [&]() -> caf::error {
    if (cur.empty())
      return caf::none;
    auto host = cur.rfind("*.", 0) == 0 ? cur.substr(2) : cur;
    bool ok = cur == "*" || (!host.empty() && host.size() <= 253);
    if (cur != "*")
      for (auto c : host)
        ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-');
    if (!ok)
      return make_error(errc::invalid_argument,
                        "invalid HAL9000_EGRESS_ALLOW entry '" + cur
                          + "': use host names, *.domain or *");
    out.push_back(cur);
    cur.clear();
    return caf::none;
  };
  for (auto c : text) {
    if (c == ',' || c == ' ' || c == '\t' || c == '\n') {
      if (auto err = flush())
        return err;
    } else {
      cur += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  if (auto err = flush())
    return err;
  return out;
}

bool is_open(const std::vector<std::string>& allow) {
  for (auto& a : allow)
    if (a == "*")
      return true;
  return false;
}

std::string rules_v4(bool open, uint16_t report_port) {
  std::string filter = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n";
  std::string nat = "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
                    ":POSTROUTING ACCEPT [0:0]\n";
  if (!open) {
    auto uid = std::to_string(filter_uid);
    // The hook's output device is fixed before nat OUTPUT reroutes a
    // redirected packet to lo: it is told by its new destination instead.
    filter += "-A OUTPUT -o lo -j ACCEPT\n"
              "-A OUTPUT -d 127.0.0.0/8 -j ACCEPT\n"
              "-A OUTPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT\n"
              "-A OUTPUT -m owner --uid-owner " + uid + " -j ACCEPT\n"
              "-A OUTPUT -p tcp -j REJECT --reject-with tcp-reset\n"
              "-A OUTPUT -j REJECT --reject-with icmp-port-unreachable\n";
    nat += "-A OUTPUT -p tcp ! -o lo -m owner ! --uid-owner " + uid
           + " -j REDIRECT --to-ports " + std::to_string(report_port) + "\n";
  }
  return filter + "COMMIT\n" + nat + "COMMIT\n";
}

std::string rules_v6(bool open) {
  std::string filter = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n";
  if (!open)
    filter += "-A OUTPUT -o lo -j ACCEPT\n"
              "-A OUTPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT\n"
              "-A OUTPUT -m owner --uid-owner " + std::to_string(filter_uid) + " -j ACCEPT\n"
              "-A OUTPUT -j REJECT\n";
  return filter + "COMMIT\n";
}

namespace {

// Runs tool (a path) with input on stdin from the calling thread (whose
// network namespace the child inherits); its output on failure.
caf::error run_restore(const char* tool, const std::string& input) {
  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) != 0)
    return make_error(errc::internal, std::string{"pipe: "} + std::strerror(errno));
  if (::pipe2(out, O_CLOEXEC) != 0) {
    ::close(in[0]);
    ::close(in[1]);
    return make_error(errc::internal, std::string{"pipe: "} + std::strerror(errno));
  }
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    ::dup2(out[1], 2);
    const char* argv[] = {tool, "-w", "5", nullptr};
    ::execv(tool, const_cast<char* const*>(argv));
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  if (pid < 0) {
    ::close(in[1]);
    ::close(out[0]);
    return make_error(errc::internal, std::string{"fork: "} + std::strerror(errno));
  }
  (void)!::write(in[1], input.data(), input.size());
  ::close(in[1]);
  std::string text;
  char buf[512];
  for (ssize_t n; (n = ::read(out[0], buf, sizeof buf)) > 0;)
    text.append(buf, static_cast<size_t>(n));
  ::close(out[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
    return caf::none;
  return make_error(errc::internal, std::string{tool} + " failed: " + text);
}

const char* find_tool(const char* name) {
  static thread_local std::string found;
  for (auto dir : {"/usr/sbin/", "/sbin/", "/usr/bin/", "/bin/"}) {
    found = std::string{dir} + name;
    if (::access(found.c_str(), X_OK) == 0)
      return found.c_str();
  }
  return nullptr;
}

} // namespace

caf::error apply(const std::string& netns, bool open, uint16_t report_port) {
  caf::error result;
  auto err = proxy::in_netns(netns, [&] {
    std::string v4tool, v6tool;
    if (auto t = find_tool("iptables-restore"))
      v4tool = t;
    if (auto t = find_tool("ip6tables-restore"))
      v6tool = t;
    if (v4tool.empty()) {
      result = make_error(errc::internal,
                          "iptables-restore not found: apt-get install iptables");
      return;
    }
    result = run_restore(v4tool.c_str(), rules_v4(open, report_port));
    if (!result && !v6tool.empty())
      (void)run_restore(v6tool.c_str(), rules_v6(open));  // no IPv6 there: fine
  });
  return err ? err : result;
}

std::string policy_note(const std::vector<std::string>& allow) {
  std::string list;
  for (auto& a : allow)
    list += (list.empty() ? "" : ",") + a;
  return "hal9000 egress policy: workers reach only ChromaDB, the credential proxy and "
         "the hosts in HAL9000_EGRESS_ALLOW (now: " + list
         + ") through the filtering proxy; add the host to HAL9000_EGRESS_ALLOW "
           "(or set it to * for open egress) and restart the daemon to allow it";
}

} // namespace hal9000::egress
