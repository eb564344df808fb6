#include "support/fake_engine_actor.hpp"

#include <algorithm>

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "messages/error.hpp"

namespace hal9000::test {

namespace {

docker::docker_actor::behavior_type fake_engine_fun(docker::docker_actor::pointer,
                                                    std::shared_ptr<fake_engine> fe) {
  using namespace docker;
  auto no = [] { return make_error(errc::internal, "fake engine: not used"); };
  return {
    [=](ping_req) -> caf::result<std::string> { return no(); },
    [=](version_req) -> caf::result<version_info> { return no(); },
    [=](info_req) -> caf::result<std::string> { return no(); },
    [=](image_inspect_req) -> caf::result<image_info> { return no(); },
    [=](image_pull_req) -> caf::result<image_info> { return no(); },
    [=](image_import_req) -> caf::result<image_info> { return no(); },
    [=](image_remove_req) -> caf::result<void> { return no(); },
    [=](create_req& r) -> caf::result<container_created> {
      if (fe->fail_create)
        return fe->fail_create;
      fe->created.push_back(r.spec.name);
      return container_created{"c-" + r.spec.name, {}};
    },
    [=](start_req) -> caf::result<void> { return caf::unit; },
    [=](stop_req) -> caf::result<void> { return no(); },
    [=](kill_req) -> caf::result<void> { return no(); },
    [=](remove_req& r) -> caf::result<void> {
      fe->removed.push_back(r.id);
      auto& cs = fe->containers;
      cs.erase(std::remove_if(cs.begin(), cs.end(),
                              [&](const container_summary& c) { return c.id == r.id; }),
               cs.end());
      return caf::unit;
    },
    [=](inspect_req) -> caf::result<container_info> { return no(); },
    [=](list_req) -> caf::result<std::vector<container_summary>> {
      ++fe->lists;
      return fe->containers;
    },
    [=](rename_req& r) -> caf::result<void> {
      fe->renamed.push_back(r.new_name);
      return caf::unit;
    },
    [=](update_req) -> caf::result<void> {
      ++fe->updates;
      return caf::unit;
    },
    [=](exec_req) -> caf::result<exec_result> { return no(); },
    [=](wait_req) -> caf::result<int64_t> { return no(); },
    [=](logs_req) -> caf::result<std::string> { return no(); },
    [=](volume_create_req) -> caf::result<volume_info> { return no(); },
    [=](volume_inspect_req) -> caf::result<volume_info> { return no(); },
    [=](volume_remove_req) -> caf::result<void> { return no(); },
    [=](subscribe_req) -> caf::result<void> { return caf::unit; },
    [=](unsubscribe_req) -> caf::result<void> { return caf::unit; },
  };
}

} // namespace

docker::docker_actor spawn_fake_engine(caf::actor_system& sys,
                                       std::shared_ptr<fake_engine> engine) {
  return sys.spawn(fake_engine_fun, std::move(engine));
}

} // namespace hal9000::test
