// The bridge's pool commands: forwarded to the pool scaler, each followed by
// the pool's status so claudy prints what the pool looks like afterwards.
#include <nlohmann/json.hpp>

#include "actors/cli_bridge_state.hpp"
#include "actors/pool_scaler.hpp"
#include "messages/error.hpp"
#include "runtime/logging.hpp"

namespace hal9000::bridge {

namespace {

using reply_promise = caf::typed_response_promise<pool_op_reply>;

// Completes reply with the pool's status and delivers it.
void finish(pointer self, reply_promise rp, pool_op_reply reply) {
  self->request(self->state.peers.pool, self->state.opts.peer_timeout, status_atom::value)
    .then(
      [rp, reply](pool_status& st) mutable {
        reply.status = std::move(st);
        rp.deliver(std::move(reply));
      },
      [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
}

// The pool's start and stop reply the status themselves.
void status_op(pointer self, reply_promise rp, const std::string& op) {
  auto on_status = [rp, op](pool_status& st) mutable {
    pool_op_reply reply;
    reply.op = op;
    reply.status = std::move(st);
    rp.deliver(std::move(reply));
  };
  auto on_error = [rp](caf::error& err) mutable { rp.deliver(std::move(err)); };
  auto& pool = self->state.peers.pool;
  auto timeout = self->state.opts.peer_timeout;
  if (op == "start")
    self->request(pool, timeout, start_atom::value).then(on_status, on_error);
  else if (op == "stop")  // replies once every warm worker is gone: its own budget
    self->request(pool, pool_stop_budget(pool_options_from(self->state.opts.cfg)),
                  stop_atom::value)
      .then(on_status, on_error);
  else
    self->request(pool, timeout, status_atom::value).then(on_status, on_error);
}

} // namespace

caf::result<pool_op_reply> pool_op(pointer self, const pool_op_req& req,
                                   const std::string& user) {
  if (!self->state.peers.pool)
    return missing("a pool");
  auto& op = req.op;
  if (op != "status" && op != "start" && op != "stop" && op != "cleanup" && op != "warm")
    return make_error(errc::invalid_argument,
                      "unknown pool command '" + op
                        + "' (expected start, stop, status, scale, cleanup or warm)");
  // Status is anyone's; every change to the pool is root's.
  if (op != "status") {
    auto what = "run `pool " + op + "`";
    if (auto err = root_only(user, req.who, what.c_str()))
      return err;
  }
  auto rp = self->make_response_promise<pool_op_reply>();
  auto timeout = self->state.opts.peer_timeout;
  auto who = user + " (" + req.who.client + ")";
  if (op == "cleanup") {
    self->request(self->state.peers.pool, timeout, cleanup_atom::value)
      .then(
        [self, rp, who](cleanup_reply& c) mutable {
          audit("pool.cleanup", {{"who", who}, {"removed", c.removed},
                                 {"failed_cleared", c.failed_cleared}, {"result", "ok"}});
          pool_op_reply reply;
          reply.op = "cleanup";
          for (auto& id : c.removed)
            reply.done.push_back("removed " + id);
          if (c.failed_cleared > 0)
            reply.done.push_back("cleared " + std::to_string(c.failed_cleared)
                                 + " failure records");
          reply.warnings = std::move(c.warnings);
          finish(self, rp, std::move(reply));
        },
        [rp, who](caf::error& err) mutable {
          audit("pool.cleanup", {{"who", who}, {"result", error_message(err)}});
          rp.deliver(std::move(err));
        });
  } else if (op == "warm") {
    self->request(self->state.peers.pool, timeout, warm_atom::value)
      .then(
        [self, rp](std::string& id) mutable {
          pool_op_reply reply;
          reply.op = "warm";
          reply.done.push_back("creating " + id);
          finish(self, rp, std::move(reply));
        },
        [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
  } else {
    if (op != "status")
      audit("pool." + op, {{"who", who}, {"result", "ok"}});
    status_op(self, rp, op);
  }
  return rp;
}

caf::result<pool_op_reply> pool_scale(pointer self, const pool_scale_req& req,
                                      const std::string& user) {
  if (!self->state.peers.pool)
    return missing("a pool");
  if (req.n < 0)
    return make_error(errc::invalid_argument,
                      "invalid scale " + std::to_string(req.n)
                        + ": expected a number of warm workers, 0 or more");
  auto rp = self->make_response_promise<pool_op_reply>();
  auto who = user + " (" + req.who.client + ")";
  self->request(self->state.peers.pool, self->state.opts.peer_timeout, scale_atom::value, req.n)
    .then(
      [self, rp, who](scale_reply& s) mutable {
        audit("pool.scale", {{"who", who}, {"requested", s.requested},
                             {"target", s.target}, {"result", "ok"}});
        pool_op_reply reply;
        reply.op = "scale";
        reply.done.push_back("target " + std::to_string(s.target) + " warm workers");
        if (s.started > 0)
          reply.done.push_back("started " + std::to_string(s.started) + " workers");
        for (auto& id : s.removed)
          reply.done.push_back("removed " + id);
        reply.warnings = std::move(s.warnings);
        finish(self, rp, std::move(reply));
      },
      [rp, who](caf::error& err) mutable {
        audit("pool.scale", {{"who", who}, {"result", error_message(err)}});
        rp.deliver(std::move(err));
      });
  return rp;
}

} // namespace hal9000::bridge
