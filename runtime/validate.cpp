#include "runtime/validate.hpp"

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <sys/stat.h>

#include "messages/error.hpp"

namespace hal9000 {

namespace {

constexpr size_t max_name = 63;

bool alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool name_char(char c) {
  return alnum(c) || c == '_' || c == '.' || c == '-';
}

// Printable form of user input in messages: control characters escaped, long
// input cut, so an error line stays one readable line.
std::string shown(const std::string& s) {
  std::string out;
  for (auto c : s.substr(0, 80)) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", static_cast<unsigned char>(c));
      out += buf;
    } else {
      out += c;
    }
  }
  if (s.size() > 80)
    out += "...";
  return out;
}

caf::error bad_name(const std::string& name, const std::string& why) {
  return make_error(errc::invalid_argument,
                    "invalid name '" + shown(name) + "': " + why
                      + " (names match [a-zA-Z0-9][a-zA-Z0-9_.-]{0,62})");
}

std::string real(const std::string& path) {
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf))
    return buf;
  return {};
}

bool inside_or_equal(const std::string& path, const std::string& root) {
  if (root == "/")
    return true;
  return path == root
         || (path.size() > root.size() && path.compare(0, root.size(), root) == 0
             && path[root.size()] == '/');
}

// Both the literal path and its realpath (when it exists): /var/run is a
// symlink to /run on most systems, HAL9000_HOME may be one too.
std::vector<std::string> both_forms(const std::string& p) {
  std::vector<std::string> out{p};
  auto r = real(p);
  if (!r.empty() && r != p)
    out.push_back(r);
  return out;
}

std::string normalized(std::string p) {
  while (p.size() > 1 && p.back() == '/')
    p.pop_back();
  return p;
}

} // namespace

caf::error valid_name(const std::string& name) {
  if (name.empty())
    return bad_name(name, "it is empty");
  if (name.size() > max_name)
    return bad_name(name, "it has " + std::to_string(name.size())
                            + " characters, at most 63 are allowed");
  if (!alnum(name[0]))
    return bad_name(name, "it must start with a letter or a digit");
  for (auto c : name)
    if (!name_char(c))
      return bad_name(name, c == '/' ? std::string{"it contains '/'"}
                                     : "it contains '" + shown(std::string(1, c)) + "'");
  return caf::none;
}

bool is_valid_name(const std::string& name) {
  return !valid_name(name);
}

std::vector<std::string> default_allowed_roots() {
  std::vector<std::string> out{"/home", "/root"};
  if (const char* home = std::getenv("HOME"); home && *home && std::string{home} != "/")
    out.emplace_back(home);
  out.emplace_back("/tmp");
  out.emplace_back("/workspace");
  return out;
}

caf::expected<std::string>
validate_project_path(const std::string& path,
                      const std::vector<std::string>& allowed_roots,
                      const std::string& hal9000_home,
                      const std::string& docker_socket) {
  auto bad = [](std::string msg) { return make_error(errc::invalid_argument, std::move(msg)); };
  if (path.empty())
    return bad("project path is empty");
  char buf[PATH_MAX];
  if (!::realpath(path.c_str(), buf)) {
    if (errno == ENOENT || errno == ENOTDIR)
      return bad("project path does not exist: " + shown(path));
    return bad("cannot resolve project path " + shown(path) + ": " + std::strerror(errno));
  }
  std::string resolved = buf;
  struct stat st;
  if (::stat(resolved.c_str(), &st) != 0)
    return bad("project path does not exist: " + shown(path));
  if (!S_ISDIR(st.st_mode))
    return bad("not a directory: " + shown(path));
  auto sensitive = [&](const std::string& why) {
    return bad(shown(path) + " resolves to " + resolved + ", a sensitive path" + why);
  };
  // Trees nobody may mount, whole.
  for (auto root : {"/etc", "/proc", "/sys", "/dev", "/boot", "/run", "/var/run"})
    for (auto& form : both_forms(root))
      if (inside_or_equal(resolved, form))
        return sensitive(resolved == form ? "" : " (inside " + form + ")");
  if (resolved == "/")
    return sensitive("");
  // Things whose every ancestor is sensitive too: mounting /var would expose
  // the Docker socket, mounting ~ would expose HAL9000_HOME with its token.
  if (!docker_socket.empty())
    for (auto& form : both_forms(docker_socket))
      if (inside_or_equal(form, resolved))
        return sensitive(" (it contains the Docker socket " + form + ")");
  if (!hal9000_home.empty())
    for (auto& form : both_forms(normalized(hal9000_home))) {
      if (inside_or_equal(resolved, form))
        return sensitive(" (HAL9000_HOME " + form + ")");
      if (inside_or_equal(form, resolved))
        return sensitive(" (it contains HAL9000_HOME " + form + ")");
    }
  auto roots = allowed_roots.empty() ? default_allowed_roots() : allowed_roots;
  std::string listed;
  for (auto& root : roots) {
    listed += (listed.empty() ? "" : ", ") + root;
    auto r = real(root);
    if (!r.empty() && inside_or_equal(resolved, r))
      return resolved;
  }
  return bad(shown(path) + (resolved != path ? " (" + resolved + ")" : std::string{})
             + " is outside the allowed roots (" + listed + ")");
}

uint32_t fnv1a_32(const std::string& text) {
  uint32_t h = 2166136261u;
  for (auto c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 16777619u;
  }
  return h;
}

std::string default_session_name(const std::string& project_realpath) {
  auto p = normalized(project_realpath);
  auto slash = p.rfind('/');
  auto base = slash == std::string::npos ? p : p.substr(slash + 1);
  std::string clean;
  for (auto c : base) {
    if (clean.empty() && !alnum(c))
      continue;  // the first character must be a letter or a digit
    clean += name_char(c) ? c : '-';
  }
  constexpr size_t hash_part = 9;  // "-" + 8 hex digits
  if (clean.size() > max_name - hash_part)
    clean.resize(max_name - hash_part);
  if (clean.empty())
    clean = "session";
  char hash[16];
  std::snprintf(hash, sizeof(hash), "%08x", fnv1a_32(p));
  return clean + "-" + hash;
}

} // namespace hal9000
