#include "runtime/user_tokens.hpp"

#include <cerrno>
#include <cstring>

#include <fstream>

#include <dirent.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include "messages/error.hpp"
#include "runtime/atomic_file.hpp"
#include "runtime/auth_token.hpp"
#include "runtime/idmap.hpp"
#include "runtime/users.hpp"
#include "runtime/validate.hpp"

namespace hal9000 {

namespace {

std::vector<std::string> subdirs(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (auto* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name != "." && name != ".." && name[0] != '.')
        out.push_back(name);
    }
    ::closedir(d);
  }
  return out;
}

bool all_digits(const std::string& s) {
  if (s.empty() || s.size() > 10)
    return false;
  for (auto c : s)
    if (c < '0' || c > '9')
      return false;
  return true;
}

} // namespace

std::string user_token_path(const std::string& home, uid_t uid) {
  return home + "/auth/users/" + std::to_string(uid) + "/token";
}

caf::expected<std::string> issue_user_token(const std::string& home, uid_t uid) {
  auto path = user_token_path(home, uid);
  if (::access(path.c_str(), F_OK) == 0)
    return read_token(path);
  auto users = home + "/auth/users";
  auto dir = users + "/" + std::to_string(uid);
  if (auto err = make_dirs(dir, 0700))
    return err;
  // Traversable, not listable: a user reaches its own token by name only.
  for (auto& p : {home, home + "/auth", users})
    ::chmod(p.c_str(), 0711);
  auto token = random_token();
  if (!token)
    return token.error();
  if (auto err = write_file_atomic(path, *token + "\n", 0400))
    return err;
  if (::chown(path.c_str(), uid, static_cast<gid_t>(-1)) != 0
      || ::chown(dir.c_str(), uid, static_cast<gid_t>(-1)) != 0)
    return make_error(errc::internal, "cannot hand " + path + " to uid "
                                        + std::to_string(uid) + ": " + std::strerror(errno));
  return token;
}

caf::expected<std::string> deliver_user_token(uid_t uid, const std::string& token,
                                              uint16_t port) {
  auto who = idmap::identity_of(uid);
  struct stat st;
  if (who.home.empty() || who.home == "/" || ::stat(who.home.c_str(), &st) != 0
      || !S_ISDIR(st.st_mode))
    return make_error(errc::invalid_argument,
                      "uid " + std::to_string(uid) + " has no home directory to hold its token");
  auto dir = who.home + "/.hal9000";
  auto path = dir + "/auth/token";
  auto conf = dir + "/config.json";
  caf::error err;
  auto ran = idmap::run_as(who, [&] {
    if ((err = make_dirs(dir + "/auth", 0700)))
      return;
    if ((err = write_file_atomic(path, token + "\n", 0600)))
      return;
    // The daemon's port for this user's claudy; the rest of the file stays.
    auto doc = nlohmann::json::object();
    if (std::ifstream in{conf}) {
      auto old = nlohmann::json::parse(in, nullptr, false);
      if (old.is_object())
        doc = std::move(old);
    }
    doc["HAL9000_PORT"] = std::to_string(port);
    err = write_file_atomic(conf, doc.dump(2) + "\n", 0600);
  });
  if (ran)
    return ran;
  if (err)
    return err;
  return path;
}

user_tokens::user_tokens(std::string root_token) {
  entries_.emplace_back(std::move(root_token), "root");
}

std::vector<std::string> user_tokens::load(const std::string& home) {
  std::vector<std::string> notes;
  auto try_add = [&](const std::string& path, const std::string& user) {
    if (::access(path.c_str(), F_OK) != 0)
      return;
    auto token = read_token(path);
    if (!token) {
      notes.push_back("token of " + user + " ignored: " + error_message(token.error()));
      return;
    }
    // An older bundle carrying root's token stays root's.
    if (user_of(*token) == "root")
      return;
    add(*token, user);
  };
  for (auto& uid : subdirs(home + "/auth/users"))
    if (all_digits(uid))
      try_add(home + "/auth/users/" + uid + "/token",
              local_user_id(static_cast<uid_t>(std::stoul(uid))));
  for (auto& name : subdirs(home + "/tls/clients"))
    if (is_valid_name(name) && is_valid_name(tls_user_id(name)))
      try_add(home + "/tls/clients/" + name + "/token", tls_user_id(name));
  return notes;
}

void user_tokens::add(const std::string& token, const std::string& user_id) {
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto& e : entries_)
    if (e.first == token) {
      e.second = user_id;
      return;
    }
  entries_.emplace_back(token, user_id);
}

std::string user_tokens::user_of(const std::string& token) const {
  std::lock_guard<std::mutex> guard{mtx_};
  // Every entry is compared (no early exit), each in constant time.
  std::string found;
  for (auto& e : entries_)
    if (token_equals(token, e.first))
      found = e.second;
  return found;
}

size_t user_tokens::size() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return entries_.size();
}

} // namespace hal9000
