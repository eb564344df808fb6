#include "runtime/volumes.hpp"

#include <caf/scoped_actor.hpp>

#include "messages/error.hpp"

namespace hal9000 {

std::vector<volume_report> ensure_volumes_blocking(caf::actor_system& sys,
                                                   const docker::docker_actor& docker,
                                                   const std::vector<std::string>& names,
                                                   const std::map<std::string, std::string>& labels,
                                                   std::chrono::milliseconds timeout) {
  std::vector<volume_report> out;
  caf::scoped_actor self{sys};
  for (auto& name : names) {
    volume_report r{name, volume_state::unknown, {}};
    self->request(docker, timeout, docker::volume_inspect_req{name})
      .receive([&](docker::volume_info&) { r.state = volume_state::exists; },
               [&](caf::error& err) {
                 if (error_code(err) != errc::not_found) {
                   r.state = volume_state::missing;
                   r.error = error_message(err);
                 }
               });
    if (r.state == volume_state::unknown)
      self->request(docker, timeout, docker::volume_create_req{name, labels})
        .receive([&](docker::volume_info&) { r.state = volume_state::created; },
                 [&](caf::error& err) {
                   r.state = volume_state::missing;
                   r.error = "cannot create volume " + name + ": " + error_message(err);
                 });
    out.push_back(std::move(r));
  }
  return out;
}

} // namespace hal9000
