#include <caf/actor_system_config.hpp>

#include "messages/cli_bridge.hpp"
#include "messages/chroma.hpp"
#include "messages/docker.hpp"
#include "messages/error.hpp"
#include "messages/pool.hpp"
#include "messages/events.hpp"
#include "messages/parent.hpp"
#include "messages/reconcile.hpp"
#include "messages/sandbox.hpp"
#include "messages/session_store.hpp"
#include "messages/sessions.hpp"
#include "messages/terminal.hpp"
#include "messages/wire.hpp"

namespace hal9000 {

namespace {

void register_docker_types(caf::actor_system_config& cfg) {
  using namespace docker;
  cfg.add_message_type<version_info>("hal9000::docker::version_info")
    .add_message_type<mount_spec>("hal9000::docker::mount_spec")
    .add_message_type<port_binding>("hal9000::docker::port_binding")
    .add_message_type<container_spec>("hal9000::docker::container_spec")
    .add_message_type<container_created>("hal9000::docker::container_created")
    .add_message_type<container_info>("hal9000::docker::container_info")
    .add_message_type<container_summary>("hal9000::docker::container_summary")
    .add_message_type<image_info>("hal9000::docker::image_info")
    .add_message_type<volume_info>("hal9000::docker::volume_info")
    .add_message_type<event>("hal9000::docker::event")
    .add_message_type<engine_status>("hal9000::docker::engine_status")
    .add_message_type<pull_progress>("hal9000::docker::pull_progress")
    .add_message_type<exec_result>("hal9000::docker::exec_result")
    .add_message_type<event_sink_actor>("hal9000::docker::event_sink_actor")
    .add_message_type<progress_sink_actor>("hal9000::docker::progress_sink_actor")
    .add_message_type<ping_req>("hal9000::docker::ping_req")
    .add_message_type<version_req>("hal9000::docker::version_req")
    .add_message_type<info_req>("hal9000::docker::info_req")
    .add_message_type<image_inspect_req>("hal9000::docker::image_inspect_req")
    .add_message_type<image_pull_req>("hal9000::docker::image_pull_req")
    .add_message_type<image_import_req>("hal9000::docker::image_import_req")
    .add_message_type<image_remove_req>("hal9000::docker::image_remove_req")
    .add_message_type<create_req>("hal9000::docker::create_req")
    .add_message_type<start_req>("hal9000::docker::start_req")
    .add_message_type<stop_req>("hal9000::docker::stop_req")
    .add_message_type<kill_req>("hal9000::docker::kill_req")
    .add_message_type<remove_req>("hal9000::docker::remove_req")
    .add_message_type<inspect_req>("hal9000::docker::inspect_req")
    .add_message_type<list_req>("hal9000::docker::list_req")
    .add_message_type<rename_req>("hal9000::docker::rename_req")
    .add_message_type<update_req>("hal9000::docker::update_req")
    .add_message_type<exec_req>("hal9000::docker::exec_req")
    .add_message_type<wait_req>("hal9000::docker::wait_req")
    .add_message_type<logs_req>("hal9000::docker::logs_req")
    .add_message_type<volume_create_req>("hal9000::docker::volume_create_req")
    .add_message_type<volume_inspect_req>("hal9000::docker::volume_inspect_req")
    .add_message_type<volume_remove_req>("hal9000::docker::volume_remove_req")
    .add_message_type<subscribe_req>("hal9000::docker::subscribe_req")
    .add_message_type<unsubscribe_req>("hal9000::docker::unsubscribe_req")
    .add_message_type<docker_actor>("hal9000::docker::docker_actor");
}

// -- other actors' types: one function per messages/ header, called below ---

void register_pool_types(caf::actor_system_config& cfg) {
  // resource_limits: registered with the session store's types.
  cfg.add_message_type<claim_request>("hal9000::claim_request")
    .add_message_type<claim_reply>("hal9000::claim_reply")
    .add_message_type<worker_transition>("hal9000::worker_transition")
    .add_message_type<worker_status>("hal9000::worker_status")
    .add_message_type<pool_status>("hal9000::pool_status")
    .add_message_type<scale_reply>("hal9000::scale_reply")
    .add_message_type<cleanup_reply>("hal9000::cleanup_reply")
    .add_message_type<worker_observer_actor>("hal9000::worker_observer_actor")
    .add_message_type<worker_actor>("hal9000::worker_actor")
    .add_message_type<adopted_session>("hal9000::adopted_session")
    .add_message_type<pool_actor>("hal9000::pool_actor");
}

void register_cli_bridge_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<credentials>("hal9000::credentials")
    .add_message_type<daemon_status>("hal9000::daemon_status")
    .add_message_type<daemon_status_req>("hal9000::daemon_status_req")
    .add_message_type<user_setup_req>("hal9000::user_setup_req")
    .add_message_type<user_setup_reply>("hal9000::user_setup_reply")
    .add_message_type<daemon_stop_req>("hal9000::daemon_stop_req")
    .add_message_type<daemon_stop_reply>("hal9000::daemon_stop_reply")
    .add_message_type<pool_op_req>("hal9000::pool_op_req")
    .add_message_type<pool_op_reply>("hal9000::pool_op_reply")
    .add_message_type<pool_scale_req>("hal9000::pool_scale_req")
    .add_message_type<session_start_req>("hal9000::session_start_req")
    .add_message_type<session_reply>("hal9000::session_reply")
    .add_message_type<sessions_req>("hal9000::sessions_req")
    .add_message_type<session_req>("hal9000::session_req")
    .add_message_type<session_restart_req>("hal9000::session_restart_req")
    .add_message_type<mcp_server_state>("hal9000::mcp_server_state")
    .add_message_type<mcp_check_req>("hal9000::mcp_check_req")
    .add_message_type<mcp_report>("hal9000::mcp_report")
    .add_message_type<cli_bridge_actor>("hal9000::cli_bridge_actor");
}

void register_session_store_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<resource_limits>("hal9000::resource_limits")
    .add_message_type<session_state>("hal9000::session_state")
    .add_message_type<session_usage>("hal9000::session_usage")
    .add_message_type<end_kind>("hal9000::end_kind")
    .add_message_type<end_reason>("hal9000::end_reason")
    .add_message_type<session_note>("hal9000::session_note")
    .add_message_type<session_record>("hal9000::session_record")
    .add_message_type<session_start>("hal9000::session_start")
    .add_message_type<session_ended>("hal9000::session_ended")
    .add_message_type<sessions_actor>("hal9000::sessions_actor")
    .add_message_type<worker_record>("hal9000::worker_record")
    .add_message_type<store_load_report>("hal9000::store_load_report")
    .add_message_type<session_store_actor>("hal9000::session_store_actor");
}

void register_chroma_types(caf::actor_system_config& cfg) {
  using namespace chroma;
  cfg.add_message_type<health>("hal9000::chroma::health")
    .add_message_type<status>("hal9000::chroma::status")
    .add_message_type<event_kind>("hal9000::chroma::event_kind")
    .add_message_type<event>("hal9000::chroma::event")
    .add_message_type<restart_req>("hal9000::chroma::restart_req")
    .add_message_type<restarter_actor>("hal9000::chroma::restarter_actor")
    .add_message_type<sink_actor>("hal9000::chroma::sink_actor")
    .add_message_type<subscribe_req>("hal9000::chroma::subscribe_req")
    .add_message_type<unsubscribe_req>("hal9000::chroma::unsubscribe_req")
    .add_message_type<check_req>("hal9000::chroma::check_req")
    .add_message_type<monitor_actor>("hal9000::chroma::monitor_actor");
}

void register_event_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<lifecycle_event>("hal9000::lifecycle_event")
    .add_message_type<event_sink>("hal9000::event_sink")
    .add_message_type<events_subscribe_req>("hal9000::events_subscribe_req")
    .add_message_type<events_subscribe_reply>("hal9000::events_subscribe_reply")
    .add_message_type<events_unsubscribe_req>("hal9000::events_unsubscribe_req")
    .add_message_type<event_hub_actor>("hal9000::event_hub_actor");
}

void register_sandbox_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<sandbox_session>("hal9000::sandbox_session")
    .add_message_type<sandbox_status>("hal9000::sandbox_status")
    .add_message_type<sandbox_grant_req>("hal9000::sandbox_grant_req")
    .add_message_type<sandbox_grant>("hal9000::sandbox_grant")
    .add_message_type<sandbox_actor>("hal9000::sandbox_actor");
}

void register_parent_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<container_state>("hal9000::container_state")
    .add_message_type<volume_state>("hal9000::volume_state")
    .add_message_type<volume_report>("hal9000::volume_report")
    .add_message_type<parent_status>("hal9000::parent_status")
    .add_message_type<parent_stop_req>("hal9000::parent_stop_req")
    .add_message_type<parent_stop_reply>("hal9000::parent_stop_reply")
    .add_message_type<parent_change>("hal9000::parent_change")
    .add_message_type<parent_watcher_actor>("hal9000::parent_watcher_actor")
    .add_message_type<parent_watch_req>("hal9000::parent_watch_req")
    .add_message_type<parent_actor>("hal9000::parent_actor");
}

void register_terminal_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<term_output>("hal9000::term_output")
    .add_message_type<term_ack>("hal9000::term_ack")
    .add_message_type<term_closed>("hal9000::term_closed")
    .add_message_type<terminal_sink>("hal9000::terminal_sink")
    .add_message_type<term_input>("hal9000::term_input")
    .add_message_type<term_resize>("hal9000::term_resize")
    .add_message_type<term_consumed>("hal9000::term_consumed")
    .add_message_type<term_detach>("hal9000::term_detach")
    .add_message_type<terminal_actor>("hal9000::terminal_actor")
    .add_message_type<terminal_open_req>("hal9000::terminal_open_req")
    .add_message_type<terminal_open_reply>("hal9000::terminal_open_reply")
    .add_message_type<terminal_authed_req>("hal9000::terminal_authed_req")
    .add_message_type<terminals_actor>("hal9000::terminals_actor");
}

void register_reconcile_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<reconcile_action>("hal9000::reconcile_action")
    .add_message_type<reconcile_report>("hal9000::reconcile_report")
    .add_message_type<reconciler_actor>("hal9000::reconciler_actor");
}

} // namespace

void register_types(caf::actor_system_config& cfg) {
  // The templated add_error_category<T> does not compile in 0.17.6.
  cfg.add_error_category(caf::atom("hal9000"),
                         [](uint8_t code, caf::atom_value, const caf::message& ctx) {
                           auto text = "hal9000: " + to_string(static_cast<errc>(code));
                           if (ctx.size() == 1 && ctx.match_element<std::string>(0))
                             text += ": " + ctx.get_as<std::string>(0);
                           return text;
                         });
  register_docker_types(cfg);
  register_cli_bridge_types(cfg);
  register_session_store_types(cfg);
  register_chroma_types(cfg);
  register_pool_types(cfg);
  register_event_types(cfg);
  register_parent_types(cfg);
  register_sandbox_types(cfg);
  register_reconcile_types(cfg);
  register_terminal_types(cfg);
}

} // namespace hal9000
