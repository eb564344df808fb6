#pragma once
// Every label key and every container or volume name the daemon gives, in
// one place. Names derived from HAL9000_PARENT_PREFIX (config.parent_prefix,
// default "hal9000") come only from the functions below:
//   <prefix>-parent       the network-namespace owner (never restarted) when
//                         hal9000d runs on the host; hal9000d's own container
//                         in container mode (HAL9000_DAEMON_MODE=container)
//   <prefix>-netns        the network-namespace owner in container mode: it
//                         outlives the daemon's container (never restarted)
//   <prefix>-chromadb     the ChromaDB container and its data volume
//   <prefix>-memorybank   the Memory Bank volume
//   <prefix>-plugins      the plugins volume
// Pool containers are named hal9000-warm-<worker id> (warm, unclaimed) and
// hal9000-cold-<worker id> (a cold claim before its rename); a claimed
// worker is renamed to its session's name. Discovery is by exact labels,
// never by these names.

#include <string>

namespace hal9000::names {

// -- labels ------------------------------------------------------------------------

constexpr const char* label_managed = "hal9000.managed";  // "true"
constexpr const char* label_role = "hal9000.role";        // parent | chromadb | worker
constexpr const char* label_daemon = "hal9000.daemon";    // HAL9000_DAEMON_ID
constexpr const char* label_worker = "hal9000.worker";    // the worker id

// -- pool containers ---------------------------------------------------------------

constexpr const char* warm_prefix = "hal9000-warm-";
constexpr const char* cold_prefix = "hal9000-cold-";

// -- names from HAL9000_PARENT_PREFIX ------------------------------------------------

inline std::string parent_container(const std::string& prefix) {
  return prefix + "-parent";
}

inline std::string netns_container(const std::string& prefix) {
  return prefix + "-netns";
}

/// The prefix of a namespace owner's name ("x" for "x-netns"); "" when name
/// is none.
inline std::string prefix_of_netns(const std::string& name) {
  static const std::string suffix = "-netns";
  if (name.size() <= suffix.size()
      || name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
    return {};
  return name.substr(0, name.size() - suffix.size());
}

inline std::string chromadb_container(const std::string& prefix) {
  return prefix + "-chromadb";
}

inline std::string chromadb_volume(const std::string& prefix) {
  return prefix + "-chromadb";
}

inline std::string membank_volume(const std::string& prefix) {
  return prefix + "-memorybank";
}

inline std::string plugins_volume(const std::string& prefix) {
  return prefix + "-plugins";
}

/// True for a name the daemon keeps for its own containers: the pool's
/// prefixes and the parent's, the namespace owner's and ChromaDB's names
/// under prefix. A session may not take one.
inline bool is_reserved(const std::string& name, const std::string& prefix) {
  return name.rfind(warm_prefix, 0) == 0 || name.rfind(cold_prefix, 0) == 0
         || name == parent_container(prefix) || name == netns_container(prefix)
         || name == chromadb_container(prefix);
}

/// True for the parent container under prefix or one of its variants
/// (<prefix>-parent-*), or the namespace owner <prefix>-netns: a restart
/// would cut every worker off its network.
inline bool is_parent(const std::string& name, const std::string& prefix) {
  auto p = parent_container(prefix);
  return name == p || name.rfind(p + "-", 0) == 0 || name == netns_container(prefix);
}

} // namespace hal9000::names
