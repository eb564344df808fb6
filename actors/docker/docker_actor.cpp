// Placeholder until the docker actor lands: every call fails as unavailable.
#include "actors/docker/docker_actor.hpp"

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "messages/error.hpp"
#include "runtime/config.hpp"

namespace hal9000::docker {

options options_from(const hal9000::config& cfg) {
  options o;
  o.host = cfg.docker_host;
  o.tls_verify = cfg.docker_tls_verify;
  o.cert_path = cfg.docker_cert_path;
  o.concurrency = cfg.docker_concurrency;
  return o;
}

docker_actor spawn_docker(caf::actor_system& sys, options) {
  return sys.spawn([](docker_actor::pointer) -> docker_actor::behavior_type {
    auto na = [] { return make_error(errc::unavailable, "not implemented"); };
    return {
      [=](ping_req) -> caf::result<std::string> { return na(); },
      [=](version_req) -> caf::result<version_info> { return na(); },
      [=](info_req) -> caf::result<std::string> { return na(); },
      [=](image_inspect_req) -> caf::result<image_info> { return na(); },
      [=](image_pull_req) -> caf::result<image_info> { return na(); },
      [=](image_import_req) -> caf::result<image_info> { return na(); },
      [=](image_remove_req) -> caf::result<void> { return na(); },
      [=](create_req) -> caf::result<container_created> { return na(); },
      [=](start_req) -> caf::result<void> { return na(); },
      [=](stop_req) -> caf::result<void> { return na(); },
      [=](kill_req) -> caf::result<void> { return na(); },
      [=](remove_req) -> caf::result<void> { return na(); },
      [=](inspect_req) -> caf::result<container_info> { return na(); },
      [=](list_req) -> caf::result<std::vector<container_summary>> { return na(); },
      [=](rename_req) -> caf::result<void> { return na(); },
      [=](update_req) -> caf::result<void> { return na(); },
      [=](exec_req) -> caf::result<exec_result> { return na(); },
      [=](wait_req) -> caf::result<int64_t> { return na(); },
      [=](logs_req) -> caf::result<std::string> { return na(); },
      [=](volume_create_req) -> caf::result<volume_info> { return na(); },
      [=](volume_inspect_req) -> caf::result<volume_info> { return na(); },
      [=](volume_remove_req) -> caf::result<void> { return na(); },
      [=](subscribe_req) -> caf::result<void> { return na(); },
      [=](unsubscribe_req) -> caf::result<void> { return na(); },
    };
  });
}

} // namespace hal9000::docker
