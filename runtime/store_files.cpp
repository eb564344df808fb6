#include "runtime/store_files.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "messages/error.hpp"
#include "runtime/atomic_file.hpp"
#include "runtime/home_layout.hpp"
#include "runtime/records_json.hpp"
#include "runtime/time_format.hpp"
#include "runtime/validate.hpp"

namespace hal9000 {

namespace {

namespace fs = std::filesystem;

constexpr const char* suffix = ".json";
constexpr size_t suffix_len = 5;
constexpr size_t max_file_size = 1 << 20;  // ours are < 1 KiB

bool ends_with(const std::string& s, const char* tail, size_t n) {
  return s.size() >= n && s.compare(s.size() - n, n, tail) == 0;
}

// Loads every <id>.json in dir through parse; files that fail go to
// dir/corrupt/. parse returns the record or an error saying why.
template <class Record, class Parse, class Key>
void load_dir(const std::string& dir, const char* kind, Parse parse, Key key,
              std::map<std::string, Record>& out, store_load_report& report) {
  std::error_code ec;
  fs::directory_iterator it{dir, ec};
  if (ec) {
    report.error = "cannot list " + dir + ": " + ec.message();
    return;
  }
  std::vector<std::string> names;
  for (; it != fs::directory_iterator{}; it.increment(ec)) {
    if (ec) {
      report.error = "cannot list " + dir + ": " + ec.message();
      return;
    }
    names.push_back(it->path().filename().string());
  }
  for (auto& file : names) {
    auto path = dir + "/" + file;
    if (file == "corrupt")
      continue;
    if (file[0] == '.') {
      // Only our own temporary files are removed; other hidden files stay.
      if (file.find(".tmp.") != std::string::npos)
        if (auto err = remove_file(path))
          spdlog::warn("session store: {}", error_message(err));
      continue;
    }
    if (!ends_with(file, suffix, suffix_len))
      continue;
    auto stem = file.substr(0, file.size() - suffix_len);
    auto why = [&]() -> std::string {
      struct stat st;
      if (::lstat(path.c_str(), &st) != 0)
        return "cannot stat it";
      if (!S_ISREG(st.st_mode))
        return "not a regular file";
      if (static_cast<size_t>(st.st_size) > max_file_size)
        return "larger than 1 MiB";
      if (auto err = valid_name(stem))
        return "file name: " + error_message(err);
      auto text = read_file(path);
      if (!text)
        return error_message(text.error());
      auto j = nlohmann::json::parse(*text, nullptr, false);
      if (j.is_discarded())
        return "invalid JSON (truncated?)";
      auto rec = parse(j);
      if (!rec)
        return error_message(rec.error());
      if (key(*rec) != stem)
        return "it names '" + key(*rec) + "' but is called " + file;
      out.emplace(stem, std::move(*rec));
      return {};
    }();
    if (why.empty())
      continue;
    auto moved = move_aside(path, dir + "/corrupt");
    if (!moved) {
      // Left in place: the next load tries again; never fatal.
      spdlog::warn("session store: {} {} is unreadable ({}) and could not be moved aside: {}",
                   kind, path, why, error_message(moved.error()));
      report.moved.push_back(path + " -> (not moved: " + error_message(moved.error())
                             + "): " + why);
      continue;
    }
    spdlog::warn("session store: {} {} is unreadable ({}); moved to {}", kind,
                 path, why, *moved);
    report.moved.push_back(path + " -> " + *moved + ": " + why);
  }
}

caf::error bad_record(const std::string& why) {
  return make_error(errc::invalid_argument, why);
}

} // namespace

store_files::store_files(std::string hal9000_home)
  : home_(std::move(hal9000_home)),
    sessions_dir_(home_layout::sessions_dir(home_)),
    workers_dir_(home_layout::workers_dir(home_)) {
}

store_load_report store_files::load() {
  store_load_report report;
  sessions_.clear();
  workers_.clear();
  broken_.clear();
  if (home_.empty()) {
    broken_ = report.error = "HAL9000_HOME is empty";
    return report;
  }
  for (auto* dir : {&sessions_dir_, &workers_dir_})
    if (auto err = make_dirs(*dir, 0700)) {
      broken_ = report.error = error_message(err);
      return report;
    }
  load_dir<session_record>(
    sessions_dir_, "session file",
    [](const nlohmann::json& j) { return session_from_json(j); },
    [](const session_record& x) { return x.name; }, sessions_, report);
  load_dir<worker_record>(
    workers_dir_, "worker file",
    [](const nlohmann::json& j) { return worker_from_json(j); },
    [](const worker_record& x) { return x.id; }, workers_, report);
  if (!report.error.empty())
    broken_ = report.error;
  report.sessions = static_cast<uint32_t>(sessions_.size());
  report.workers = static_cast<uint32_t>(workers_.size());
  return report;
}

caf::error store_files::usable() const {
  if (!broken_.empty())
    return make_error(errc::unavailable, "session store unavailable: " + broken_);
  return caf::none;
}

caf::error store_files::write_session(const session_record& x, bool durable) {
  return write_file_atomic(sessions_dir_ + "/" + x.name + suffix,
                           to_json(x).dump(2) + "\n", 0600, durable);
}

caf::error store_files::sync_sessions(const std::vector<std::string>& names) {
  if (auto err = usable())
    return err;
  std::vector<std::pair<std::string, int>> files;
  caf::error first;
  for (auto& n : names) {
    auto path = sessions_dir_ + "/" + n + suffix;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (!first)
        first = make_error(errc::internal, "cannot sync " + path + ": open: "
                                             + std::strerror(errno));
      continue;
    }
    // Start this file's writeback now; the fsyncs below then mostly wait.
    ::sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
    files.emplace_back(path, fd);
  }
  for (auto& [path, fd] : files) {
    if (::fsync(fd) != 0 && !first)
      first = make_error(errc::internal, "cannot sync " + path + ": fsync: "
                                           + std::strerror(errno));
    ::close(fd);
  }
  if (first)
    return first;
  return sync_dir(sessions_dir_);
}

caf::error store_files::put_session(const session_record& in, bool durable) {
  // The name becomes a path component: check it before anything else.
  if (auto err = valid_name(in.name))
    return err;
  if (in.project_dir.empty())
    return bad_record("session '" + in.name + "' has no project_dir");
  if (auto err = usable())
    return err;
  auto i = sessions_.find(in.name);
  if (i != sessions_.end() && is_live(i->second.state)
      && i->second.project_dir != in.project_dir)
    return make_error(errc::conflict, "session name '" + in.name
                                        + "' is already used by a running session of "
                                        + i->second.project_dir);
  auto x = in;
  if (x.created_at.empty())
    x.created_at = utc_now();
  if (auto err = write_session(x, durable))
    return err;
  sessions_[x.name] = std::move(x);
  return caf::none;
}

caf::expected<session_record>
store_files::get_session(const std::string& name) const {
  if (auto err = valid_name(name))
    return err;
  if (auto err = usable())
    return err;
  auto i = sessions_.find(name);
  if (i == sessions_.end())
    return make_error(errc::not_found, "no such session: " + name);
  return i->second;
}

std::vector<session_record> store_files::sessions() const {
  std::vector<session_record> out;
  out.reserve(sessions_.size());
  for (auto& kv : sessions_)
    out.push_back(kv.second);
  return out;
}

caf::expected<std::vector<session_record>>
store_files::live_matching(const std::string& name, const std::string& project_dir) const {
  if (auto err = valid_name(name))
    return err;
  if (auto err = usable())
    return err;
  std::vector<session_record> out;
  for (auto& [n, x] : sessions_)
    if (is_live(x.state) && (n == name || x.project_dir == project_dir))
      out.push_back(x);
  return out;
}

caf::expected<session_record>
store_files::end_session(const std::string& name, const end_reason& reason,
                         const std::string& ended_at, const std::string& worker_id) {
  if (auto err = valid_name(name))
    return err;
  if (auto err = usable())
    return err;
  auto i = sessions_.find(name);
  if (i == sessions_.end())
    return make_error(errc::not_found, "no such session: " + name);
  if (i->second.state == session_state::ended)
    return i->second;
  if (!worker_id.empty() && i->second.worker_id != worker_id)
    return i->second;
  auto x = i->second;
  x.state = session_state::ended;
  x.end = reason;
  if (x.end.kind == end_kind::none)
    x.end.kind = end_kind::other;
  x.restore.clear();
  x.ended_at = ended_at.empty() ? utc_now() : ended_at;
  if (auto err = write_session(x))
    return err;
  i->second = x;
  return x;
}

caf::expected<session_record> store_files::note_session(const session_note& note) {
  if (auto err = valid_name(note.name))
    return err;
  if (auto err = usable())
    return err;
  auto i = sessions_.find(note.name);
  if (i == sessions_.end())
    return make_error(errc::not_found, "no such session: " + note.name);
  if (i->second.state == session_state::ended)
    return i->second;
  if (!note.worker_id.empty() && i->second.worker_id != note.worker_id)
    return i->second;
  auto x = i->second;
  if (note.network_lost)
    x.state = session_state::network_lost;
  if (!note.state_reason.empty())
    x.state_reason = note.state_reason;
  if (!note.restore.empty())
    x.restore = note.restore;
  if (note.oom_kills > x.oom_kills)
    x.oom_kills = note.oom_kills;
  if (!note.last_oom_at.empty())
    x.last_oom_at = note.last_oom_at;
  if (auto err = write_session(x))
    return err;
  i->second = x;
  return x;
}

caf::error store_files::put_worker(const worker_record& x) {
  if (auto err = valid_name(x.id))
    return err;
  if (auto err = usable())
    return err;
  // Not synced: a worker record mirrors what Docker knows (the reconciliation
  // asks Docker, never these files), and a claim writes two of them (claimed,
  // busy) through this one store while a session's record waits behind them.
  if (auto err = write_file_atomic(workers_dir_ + "/" + x.id + suffix,
                                   to_json(x).dump(2) + "\n", 0600, false))
    return err;
  workers_[x.id] = x;
  return caf::none;
}

caf::error store_files::delete_worker(const std::string& id) {
  if (auto err = valid_name(id))
    return err;
  if (auto err = usable())
    return err;
  if (auto err = remove_file(workers_dir_ + "/" + id + suffix))
    return err;  // not synced either (see put_worker)
  workers_.erase(id);
  return caf::none;
}

std::vector<worker_record> store_files::workers() const {
  std::vector<worker_record> out;
  out.reserve(workers_.size());
  for (auto& kv : workers_)
    out.push_back(kv.second);
  return out;
}

} // namespace hal9000
