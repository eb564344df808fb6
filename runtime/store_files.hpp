#pragma once
// The session store's disk layer as a plain class (no actor, no CAF
// scheduling): the layout and rules are in messages/session_store.hpp. The
// session_store actor wraps one instance; tests and tools may use it directly
// on a HAL9000_HOME no daemon is using. Every call blocks on file I/O.

#include <map>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "messages/session_store.hpp"

namespace hal9000 {

class store_files {
public:
  explicit store_files(std::string hal9000_home);

  /// Creates the directories (0700) and loads every file; a file that fails
  /// to load is moved to corrupt/ with a spdlog warning and listed in the
  /// report. Leftover temporary files of interrupted writes are removed.
  /// When the directories cannot be created, report.error says why and every
  /// later call fails with unavailable.
  store_load_report load();

  /// durable=false: written atomically but not synced; sync_sessions makes
  /// a batch of such writes durable at once.
  caf::error put_session(const session_record& x, bool durable = true);
  /// Makes the named session files and the directory's renames durable:
  /// writeback of every file started first, then each fsynced and the
  /// directory once, so a batch costs about one journal commit, not two
  /// fsyncs per file.
  caf::error sync_sessions(const std::vector<std::string>& names);
  caf::expected<session_record> get_session(const std::string& name) const;
  std::vector<session_record> sessions() const;
  /// Live (not ended) sessions named name or running project_dir.
  caf::expected<std::vector<session_record>>
  live_matching(const std::string& name, const std::string& project_dir) const;
  /// worker_id non-empty: only when the session is still served by that
  /// worker (a late end of a replaced worker leaves its successor alone).
  caf::expected<session_record> end_session(const std::string& name,
                                            const end_reason& reason,
                                            const std::string& ended_at,
                                            const std::string& worker_id = {});
  /// Applies a note to a session that has not ended (see session_note).
  caf::expected<session_record> note_session(const session_note& note);

  caf::error put_worker(const worker_record& x);
  caf::error delete_worker(const std::string& id);
  std::vector<worker_record> workers() const;

  const std::string& sessions_dir() const { return sessions_dir_; }
  const std::string& workers_dir() const { return workers_dir_; }

private:
  caf::error usable() const;
  caf::error write_session(const session_record& x, bool durable = true);

  std::string home_;
  std::string sessions_dir_;
  std::string workers_dir_;
  std::string broken_;  // why the store cannot work, empty when it can
  std::map<std::string, session_record> sessions_;
  std::map<std::string, worker_record> workers_;
};

} // namespace hal9000
