#pragma once
// Why a session ended or could not start: a kind and its detail, one value
// that the worker, the session store, the events and `claudy sessions --all`
// carry as it is. The words users read are derived from it (to_string) and
// never parsed back. The rules that decide it from what the kernel and the
// engine said are plain functions in actors/session_rules.hpp.

#include <cstdint>
#include <string>

#include <caf/meta/type_name.hpp>

namespace hal9000 {

enum class end_kind : uint8_t {
  none = 0,                // not ended
  exited,                  // the main process exited: code (-1: unknown)
  signaled,                // the main process was killed by signal `code`
  oom_killed,              // the kernel's OOM killer killed the main process;
                           // memory_limit ("512m"; "" unlimited or unknown)
  removed_outside,         // its container was removed by someone else
  stopped_by_user,         // `claudy stop NAME`
  stopped_with_daemon,     // `claudy daemon stop --all`
  image_missing,           // detail: the image and what the engine said
  create_failed,           // detail: the engine's message
  start_failed,            // detail: what failed after the container existed
  disappeared_while_down,  // the container was gone when the daemon came back
  replaced,                // `claudy restart NAME` gave it a new container
  other,                   // detail: the words of an older record
};

/// "none", "exited", "signaled", "oom-killed", "removed-outside",
/// "stopped-by-user", "stopped-with-daemon", "image-missing",
/// "create-failed", "start-failed", "disappeared-while-down", "replaced",
/// "other": stable names for files and JSON.
std::string to_string(end_kind x);

/// The inverse of to_string(end_kind); false for an unknown name.
bool from_string(const std::string& name, end_kind& out);

struct end_reason {
  end_kind kind = end_kind::none;
  int32_t code = -1;         // exited: exit code; signaled: signal number
  std::string memory_limit;  // oom_killed: the limit it hit, Docker syntax
  std::string detail;        // extra words (engine message, image, context)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, end_reason& x) {
  return f(caf::meta::type_name("hal9000::end_reason"), x.kind, x.code,
           x.memory_limit, x.detail);
}

inline bool operator==(const end_reason& a, const end_reason& b) {
  return a.kind == b.kind && a.code == b.code && a.memory_limit == b.memory_limit
         && a.detail == b.detail;
}

inline bool operator!=(const end_reason& a, const end_reason& b) {
  return !(a == b);
}

/// What users read: "exited with code 0", "killed by signal 9",
/// "OOM-killed (memory limit 512m)", "removed from outside", "stopped by
/// user", "stopped with the daemon (stop --all)", "image missing: ...",
/// "create failed: <engine message>", "start failed: ...", "container
/// disappeared while the daemon was down", "replaced by claudy restart";
/// detail in parentheses where the kind has its own words. "" for none.
std::string to_string(const end_reason& x);

} // namespace hal9000
