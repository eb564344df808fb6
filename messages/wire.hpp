#pragma once
// The wire: its version (CAF's application identifier; bump it whenever a
// message type crossing a process boundary changes) and the one function every
// process calls to register the project's message types.

namespace caf {
class actor_system_config;
}

namespace hal9000 {

// proto-5: session_record.state is a session_state enum; the sessions actor's
// types (messages/sessions.hpp); typed end reasons (messages/end_reason.hpp),
// OOM counts, network-lost sessions, claudy restart.
// proto-6: worker states and how a claim was served are enums
// (worker_state, served_kind); resource_limits carries numbers (bytes, nano
// CPUs, pids) with the spelling for display; worker_transition carries the
// limits instead of a memory limit's text; daemon_status.settings;
// session_record.netns (the namespace owner when it is not the parent).
constexpr const char* wire_version = "hal9000-proto-6";

/// Registers every message type, typed handle and the error category under
/// stable names. Call it once per actor_system_config.
void register_types(caf::actor_system_config& cfg);

} // namespace hal9000
