#pragma once
// The docker actor's typed interface: the only way into the Docker Engine API.
// Every call may fail with hal9000::errc and a message naming what failed:
//   unavailable        the engine cannot be reached ("cannot reach the Docker
//                      engine at unix:///var/run/docker.sock: ...")
//   not_found          no such image / container / volume ("no such image: x")
//   already_exists     a name is taken ("name already in use: x")
//   conflict           the engine refused because of the object's state
//   invalid_argument   the engine rejected the request (HTTP 400)
//   deadline_exceeded  the call's timeout passed
//   internal           anything else, with Docker's status and message

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "messages/atoms.hpp"

namespace hal9000::docker {

// -- value types ---------------------------------------------------------------

struct version_info {
  std::string version;      // engine version, e.g. "20.10.24+dfsg1"
  std::string api_version;  // the engine's newest API version
  std::string min_api_version;
  std::string negotiated;   // the version our calls use
  std::string os;
  std::string arch;
  std::string kernel;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, version_info& x) {
  return f(caf::meta::type_name("hal9000::docker::version_info"), x.version,
           x.api_version, x.min_api_version, x.negotiated, x.os, x.arch,
           x.kernel);
}

/// A mount in HostConfig.Mounts. type: "bind", "volume" or "tmpfs".
/// propagation (bind only): "", "rprivate", "private", "rshared", "shared",
/// "rslave", "slave".
struct mount_spec {
  std::string type = "bind";
  std::string source;
  std::string target;
  bool read_only = false;
  std::string propagation;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, mount_spec& x) {
  return f(caf::meta::type_name("hal9000::docker::mount_spec"), x.type,
           x.source, x.target, x.read_only, x.propagation);
}

/// Publishes container_port/proto on host_ip:host_port.
struct port_binding {
  uint16_t container_port = 0;
  std::string proto = "tcp";
  std::string host_ip = "127.0.0.1";
  uint16_t host_port = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, port_binding& x) {
  return f(caf::meta::type_name("hal9000::docker::port_binding"),
           x.container_port, x.proto, x.host_ip, x.host_port);
}

/// Everything `create` needs. Only image is required; zero or empty means
/// "engine default" for every other field.
struct container_spec {
  std::string name;
  std::string image;
  std::vector<std::string> cmd;
  std::vector<std::string> entrypoint;
  std::vector<std::string> env;  // "K=V"
  std::map<std::string, std::string> labels;
  std::string working_dir;
  std::string user;
  bool init = false;
  bool tty = false;
  bool open_stdin = false;
  // HostConfig
  int64_t memory = 0;      // bytes
  int64_t nano_cpus = 0;   // 1e9 per CPU
  int64_t pids_limit = 0;  // 0: unlimited
  std::vector<std::string> binds;  // "src:dst[:opts]"
  std::vector<mount_spec> mounts;
  std::string network_mode;        // "bridge", "none", "container:<name>"
  std::vector<port_binding> ports;
  std::vector<std::string> cap_drop;
  std::vector<std::string> cap_add;
  std::vector<std::string> security_opt;
  bool readonly_rootfs = false;
  std::map<std::string, std::string> tmpfs;  // path -> options
  bool auto_remove = false;
  /// HostConfig.RestartPolicy.Name: "" (no), "on-failure", "unless-stopped".
  std::string restart_policy;
  /// HostConfig.PidMode: "" (its own pid namespace) or "host".
  std::string pid_mode;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, container_spec& x) {
  return f(caf::meta::type_name("hal9000::docker::container_spec"), x.name,
           x.image, x.cmd, x.entrypoint, x.env, x.labels, x.working_dir,
           x.user, x.init, x.tty, x.open_stdin, x.memory, x.nano_cpus,
           x.pids_limit, x.binds, x.mounts, x.network_mode, x.ports,
           x.cap_drop, x.cap_add, x.security_opt, x.readonly_rootfs, x.tmpfs,
           x.auto_remove, x.restart_policy, x.pid_mode);
}

/// Reply to a create.
struct container_created {
  std::string id;
  std::vector<std::string> warnings;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, container_created& x) {
  return f(caf::meta::type_name("hal9000::docker::container_created"), x.id,
           x.warnings);
}

/// What `inspect` tells about a container (the parts we use).
struct container_info {
  std::string id;
  std::string name;  // without the leading "/"
  std::string image;
  std::string state;  // created, running, paused, restarting, exited, dead
  bool running = false;
  int64_t exit_code = 0;
  bool oom_killed = false;
  int64_t pid = 0;
  std::string started_at;
  std::string finished_at;
  std::map<std::string, std::string> labels;
  std::vector<std::string> env;
  int64_t memory = 0;
  int64_t nano_cpus = 0;
  int64_t pids_limit = 0;
  std::string network_mode;
  std::vector<mount_spec> mounts;
  std::vector<std::string> cap_add;
  std::vector<std::string> cap_drop;
  std::vector<std::string> security_opt;
  /// HostConfig.PortBindings as created (host_port 0: the engine picked one).
  std::vector<port_binding> ports;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, container_info& x) {
  return f(caf::meta::type_name("hal9000::docker::container_info"), x.id,
           x.name, x.image, x.state, x.running, x.exit_code, x.oom_killed,
           x.pid, x.started_at, x.finished_at, x.labels, x.env, x.memory,
           x.nano_cpus, x.pids_limit, x.network_mode, x.mounts, x.cap_add,
           x.cap_drop, x.security_opt, x.ports);
}

/// One row of a list.
struct container_summary {
  std::string id;
  std::string name;  // without the leading "/"
  std::string image;
  std::string state;
  std::string status;
  int64_t created = 0;  // unix seconds
  std::map<std::string, std::string> labels;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, container_summary& x) {
  return f(caf::meta::type_name("hal9000::docker::container_summary"), x.id,
           x.name, x.image, x.state, x.status, x.created, x.labels);
}

struct image_info {
  std::string id;
  std::vector<std::string> tags;
  int64_t size = 0;
  std::map<std::string, std::string> labels;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, image_info& x) {
  return f(caf::meta::type_name("hal9000::docker::image_info"), x.id, x.tags,
           x.size, x.labels);
}

struct volume_info {
  std::string name;
  std::string driver;
  std::string mountpoint;
  std::map<std::string, std::string> labels;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, volume_info& x) {
  return f(caf::meta::type_name("hal9000::docker::volume_info"), x.name,
           x.driver, x.mountpoint, x.labels);
}

/// A lifecycle event from the engine's /events stream.
struct event {
  std::string action;  // start, die, oom, destroy, kill, stop, create, rename
  std::string id;
  std::string name;
  std::map<std::string, std::string> labels;
  int64_t exit_code = -1;  // set for die
  int64_t time_nano = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, event& x) {
  return f(caf::meta::type_name("hal9000::docker::event"), x.action, x.id,
           x.name, x.labels, x.exit_code, x.time_nano);
}

/// Whether the event stream is connected. Sent to subscribers on every
/// change (lost: up=false with the reason; resubscribed: up=true).
struct engine_status {
  bool up = false;
  std::string reason;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, engine_status& x) {
  return f(caf::meta::type_name("hal9000::docker::engine_status"), x.up,
           x.reason);
}

/// Progress of a pull, sent to the pull's progress sink.
struct pull_progress {
  std::string image;
  std::string layer;
  std::string status;
  int64_t current = 0;
  int64_t total = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, pull_progress& x) {
  return f(caf::meta::type_name("hal9000::docker::pull_progress"), x.image,
           x.layer, x.status, x.current, x.total);
}

struct exec_result {
  std::string exec_id;
  int64_t exit_code = -1;  // -1 for a detached exec
  std::string out;         // stdout
  std::string err;         // stderr
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, exec_result& x) {
  return f(caf::meta::type_name("hal9000::docker::exec_result"), x.exec_id,
           x.exit_code, x.out, x.err);
}

// -- subscriber interfaces -------------------------------------------------------

/// Receives Docker events and engine up/down changes.
using event_sink_actor = caf::typed_actor<caf::reacts_to<event>,
                                          caf::reacts_to<engine_status>>;

/// Receives pull progress.
using progress_sink_actor = caf::typed_actor<caf::reacts_to<pull_progress>>;

// -- requests ----------------------------------------------------------------------

#define HAL9000_DOCKER_REQUEST(name, ...)                                      \
  template <class Inspector>                                                   \
  typename Inspector::result_type inspect(Inspector& f, name& x) {             \
    return f(caf::meta::type_name("hal9000::docker::" #name), __VA_ARGS__);    \
  }

struct ping_req { int32_t unused = 0; };
HAL9000_DOCKER_REQUEST(ping_req, x.unused)
struct version_req { int32_t unused = 0; };
HAL9000_DOCKER_REQUEST(version_req, x.unused)
/// Replies with the raw JSON of GET /info.
struct info_req { int32_t unused = 0; };
HAL9000_DOCKER_REQUEST(info_req, x.unused)
struct image_inspect_req { std::string image; };
HAL9000_DOCKER_REQUEST(image_inspect_req, x.image)
/// Pulls image ("repo:tag"); progress goes to sink if it is valid.
struct image_pull_req { std::string image; progress_sink_actor sink; };
HAL9000_DOCKER_REQUEST(image_pull_req, x.image, x.sink)
/// Imports a root filesystem tarball from the daemon's host as repo_tag,
/// with Dockerfile-style changes ("CMD [\"/bin/sh\"]").
struct image_import_req {
  std::string tar_path;
  std::string repo_tag;
  std::vector<std::string> changes;
};
HAL9000_DOCKER_REQUEST(image_import_req, x.tar_path, x.repo_tag, x.changes)
struct image_remove_req { std::string image; bool force = false; };
HAL9000_DOCKER_REQUEST(image_remove_req, x.image, x.force)
struct create_req { container_spec spec; };
HAL9000_DOCKER_REQUEST(create_req, x.spec)
struct start_req { std::string id; };
HAL9000_DOCKER_REQUEST(start_req, x.id)
/// SIGTERM, then SIGKILL after timeout_s.
struct stop_req { std::string id; int32_t timeout_s = 10; };
HAL9000_DOCKER_REQUEST(stop_req, x.id, x.timeout_s)
struct kill_req { std::string id; std::string signal = "KILL"; };
HAL9000_DOCKER_REQUEST(kill_req, x.id, x.signal)
struct remove_req { std::string id; bool force = true; bool volumes = false; };
HAL9000_DOCKER_REQUEST(remove_req, x.id, x.force, x.volumes)
struct inspect_req { std::string id; };
HAL9000_DOCKER_REQUEST(inspect_req, x.id)
/// Lists containers whose labels equal every given key/value exactly
/// (an empty value matches the key's presence).
struct list_req { std::map<std::string, std::string> labels; bool all = true; };
HAL9000_DOCKER_REQUEST(list_req, x.labels, x.all)
struct rename_req { std::string id; std::string new_name; };
HAL9000_DOCKER_REQUEST(rename_req, x.id, x.new_name)
/// Changes the limits of a running container; zero leaves a limit unchanged.
struct update_req {
  std::string id;
  int64_t memory = 0;
  int64_t nano_cpus = 0;
  int64_t pids_limit = 0;
};
HAL9000_DOCKER_REQUEST(update_req, x.id, x.memory, x.nano_cpus, x.pids_limit)
/// Runs cmd in a running container. detach: returns once started, exit_code
/// -1; otherwise waits and returns stdout, stderr and the exit code.
struct exec_req {
  std::string id;
  std::vector<std::string> cmd;
  std::vector<std::string> env;
  std::string user;
  std::string working_dir;
  bool detach = false;
};
HAL9000_DOCKER_REQUEST(exec_req, x.id, x.cmd, x.env, x.user, x.working_dir,
                       x.detach)
/// Waits until the container stops; replies its exit code.
struct wait_req { std::string id; int32_t timeout_s = 60; };
HAL9000_DOCKER_REQUEST(wait_req, x.id, x.timeout_s)
/// The last `tail` lines of stdout and stderr, interleaved.
struct logs_req { std::string id; int32_t tail = 100; };
HAL9000_DOCKER_REQUEST(logs_req, x.id, x.tail)
struct volume_create_req {
  std::string name;
  std::map<std::string, std::string> labels;
};
HAL9000_DOCKER_REQUEST(volume_create_req, x.name, x.labels)
struct volume_inspect_req { std::string name; };
HAL9000_DOCKER_REQUEST(volume_inspect_req, x.name)
struct volume_remove_req { std::string name; bool force = false; };
HAL9000_DOCKER_REQUEST(volume_remove_req, x.name, x.force)
/// Subscribes sink to events of containers carrying these labels (exact
/// match; empty: all containers). The sink gets engine_status right away.
/// Subscribers are monitored and dropped when they exit.
struct subscribe_req {
  event_sink_actor sink;
  std::map<std::string, std::string> labels;
};
HAL9000_DOCKER_REQUEST(subscribe_req, x.sink, x.labels)
struct unsubscribe_req { event_sink_actor sink; };
HAL9000_DOCKER_REQUEST(unsubscribe_req, x.sink)

#undef HAL9000_DOCKER_REQUEST

// -- the interface -------------------------------------------------------------------

using docker_actor = caf::typed_actor<
  /// "OK" when the engine answers /_ping.
  caf::replies_to<ping_req>::with<std::string>,
  caf::replies_to<version_req>::with<version_info>,
  caf::replies_to<info_req>::with<std::string>,
  /// not_found naming the image when it is not present.
  caf::replies_to<image_inspect_req>::with<image_info>,
  /// not_found when the registry has no such image; unavailable when no
  /// registry is reachable.
  caf::replies_to<image_pull_req>::with<image_info>,
  caf::replies_to<image_import_req>::with<image_info>,
  caf::replies_to<image_remove_req>::with<void>,
  /// already_exists when the name is taken; not_found for a missing image.
  caf::replies_to<create_req>::with<container_created>,
  caf::replies_to<start_req>::with<void>,
  caf::replies_to<stop_req>::with<void>,
  caf::replies_to<kill_req>::with<void>,
  caf::replies_to<remove_req>::with<void>,
  caf::replies_to<inspect_req>::with<container_info>,
  caf::replies_to<list_req>::with<std::vector<container_summary>>,
  caf::replies_to<rename_req>::with<void>,
  caf::replies_to<update_req>::with<void>,
  caf::replies_to<exec_req>::with<exec_result>,
  caf::replies_to<wait_req>::with<int64_t>,
  caf::replies_to<logs_req>::with<std::string>,
  caf::replies_to<volume_create_req>::with<volume_info>,
  caf::replies_to<volume_inspect_req>::with<volume_info>,
  caf::replies_to<volume_remove_req>::with<void>,
  caf::replies_to<subscribe_req>::with<void>,
  caf::replies_to<unsubscribe_req>::with<void>>;

} // namespace hal9000::docker
