#include "actors/session_store.hpp"

#include <cstdlib>
#include <set>

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <spdlog/spdlog.h>

#include "messages/error.hpp"
#include "runtime/home_layout.hpp"
#include "runtime/pid_lock.hpp"
#include "runtime/store_files.hpp"

namespace hal9000 {

namespace {

struct store_state {
  std::unique_ptr<store_files> files;
  store_load_report report;
  // Session puts written but not yet durable, and their callers: answered
  // together by the next sync (group commit).
  std::vector<std::string> unsynced;
  std::vector<caf::response_promise> waiting;
  // A fake for fault injection (HAL9000_FAKE_HOLD_WRITTEN_SYNC=1): records
  // put with written_atom are never synced (messages/session_store.hpp).
  bool fake_hold_written_sync = false;
  // Sessions whose "starting" record is durable (synced, not replaced since).
  std::set<std::string> durable_starts;
  static constexpr const char* name = "hal9000.session_store";
};

using store_ptr = session_store_actor::stateful_pointer<store_state>;

// Every handler is a thin call into store_files; the actor only serialises
// access (one request at a time, so "check then write" is atomic).
session_store_actor::behavior_type session_store_fun(store_ptr self,
                                                     std::string home) {
  auto pool_pid = home_layout::pool_pid(home);
  self->state.files = std::make_unique<store_files>(std::move(home));
  self->state.report = self->state.files->load();
  auto& r = self->state.report;
  if (!r.error.empty())
    spdlog::error("session store: {}", r.error);
  else
    spdlog::info("session store: loaded {} sessions and {} workers, moved {} aside",
                 r.sessions, r.workers, r.moved.size());
  if (auto* hold = std::getenv("HAL9000_FAKE_HOLD_WRITTEN_SYNC"); hold && *hold == '1') {
    self->state.fake_hold_written_sync = true;
    spdlog::warn("session store: HAL9000_FAKE_HOLD_WRITTEN_SYNC=1 (fault injection): "
                 "the complete record of a start is never synced");
  }
  auto& files = *self->state.files;
  auto unit = [](caf::error err) -> caf::result<void> {
    if (err)
      return err;
    return caf::unit;
  };
  return {
    // Written at once (visible to the next get), answered once durable: the
    // sync goes behind the session puts already queued (a burst of starts:
    // they share it instead of two fsyncs each; the sessions actor sends
    // them with high priority) but ahead of worker records, which a claim
    // writes (unsynced) while its session's record waits for the sync.
    [self, &files](caf::put_atom, const session_record& x) -> caf::result<void> {
      auto& st = self->state;
      // A start's complete record over its own durable "starting" one:
      // answered once written, synced behind the answer (see the interface).
      bool completes = false;
      if (x.state == session_state::running && st.durable_starts.count(x.name) > 0)
        if (auto prev = files.get_session(x.name);
            prev && prev->state == session_state::starting
            && prev->created_at == x.created_at && prev->project_dir == x.project_dir)
          completes = true;
      st.durable_starts.erase(x.name);
      if (auto err = files.put_session(x, false))
        return err;
      if (completes) {
        if (st.fake_hold_written_sync)
          return caf::unit;
        if (st.unsynced.empty())
          self->send<caf::message_priority::high>(self, sync_atom::value);
        st.unsynced.push_back(x.name);
        return caf::unit;
      }
      if (st.unsynced.empty())
        self->send<caf::message_priority::high>(self, sync_atom::value);
      st.unsynced.push_back(x.name);
      auto rp = self->make_response_promise();
      st.waiting.push_back(rp);
      return rp;
    },
    [self, &files](sync_atom) {
      auto& st = self->state;
      if (st.unsynced.empty())
        return;
      auto names = std::move(st.unsynced);
      auto waiting = std::move(st.waiting);
      st.unsynced.clear();
      st.waiting.clear();
      auto err = files.sync_sessions(names);
      if (err)
        spdlog::error("session store: {}", error_message(err));
      else
        for (auto& n : names)
          if (auto x = files.get_session(n); x && x->state == session_state::starting)
            st.durable_starts.insert(n);
      for (auto& rp : waiting)
        if (err)
          rp.deliver(err);
        else
          rp.deliver(caf::unit);
    },
    [&files](caf::get_atom, const std::string& name) -> caf::result<session_record> {
      auto r = files.get_session(name);
      if (!r)
        return std::move(r.error());
      return std::move(*r);
    },
    [&files](list_atom) -> std::vector<session_record> {
      return files.sessions();
    },
    [&files](caf::get_atom, const std::string& name,
             const std::string& project_dir) -> caf::result<std::vector<session_record>> {
      auto r = files.live_matching(name, project_dir);
      if (!r)
        return std::move(r.error());
      return std::move(*r);
    },
    [&files](end_atom, const std::string& name, const end_reason& reason,
             const std::string& ended_at) -> caf::result<session_record> {
      auto r = files.end_session(name, reason, ended_at);
      if (!r)
        return std::move(r.error());
      return std::move(*r);
    },
    [&files](end_atom, const std::string& name, const end_reason& reason,
             const std::string& ended_at,
             const std::string& worker_id) -> caf::result<session_record> {
      auto r = files.end_session(name, reason, ended_at, worker_id);
      if (!r)
        return std::move(r.error());
      return std::move(*r);
    },
    [&files, unit](usage_atom, const std::string& name,
                   const session_usage& u) -> caf::result<void> {
      auto r = files.get_session(name);
      if (!r)
        return std::move(r.error());
      r->usage = u;
      return unit(files.put_session(*r));
    },
    [&files](const session_note& note) -> caf::result<session_record> {
      auto r = files.note_session(note);
      if (!r)
        return std::move(r.error());
      return std::move(*r);
    },
    [&files, unit](caf::put_atom, const worker_record& x) -> caf::result<void> {
      return unit(files.put_worker(x));
    },
    [&files, unit](caf::delete_atom, workers_atom,
                   const std::string& id) -> caf::result<void> {
      return unit(files.delete_worker(id));
    },
    [&files](list_atom, workers_atom) -> std::vector<worker_record> {
      return files.workers();
    },
    [unit, pool_pid](caf::put_atom, pid_atom, bool running) -> caf::result<void> {
      return unit(running ? write_pid_file(pool_pid) : remove_pid_file(pool_pid));
    },
    [self](load_atom) -> store_load_report {
      return self->state.report;
    },
  };
}

} // namespace

session_store_actor spawn_session_store(caf::actor_system& sys,
                                        std::string hal9000_home) {
  return sys.spawn<caf::detached>(session_store_fun, std::move(hal9000_home));
}

} // namespace hal9000
