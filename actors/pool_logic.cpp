#include "actors/pool_logic.hpp"

#include <algorithm>

#include "messages/error.hpp"

namespace hal9000 {

namespace {

constexpr std::chrono::milliseconds backoff_min{100};
constexpr std::chrono::milliseconds backoff_max{30000};

// States only move forward; a late report never undoes a later decision
// (e.g. a "warm" sent before the worker got our stop).
int rank(worker_state s) {
  switch (s) {
    case worker_state::none:  // never a worker's own state
    case worker_state::creating: return 0;
    case worker_state::warm: return 1;
    case worker_state::claimed: return 2;
    case worker_state::busy: return 3;
    case worker_state::stopping:
    case worker_state::failed: return 4;
    case worker_state::gone: return 5;
  }
  return 0;
}

bool ready(const pool_logic::worker_rec& w) {
  return w.state == worker_state::warm;
}

} // namespace

pool_logic::pool_logic(pool_settings s) : settings_(s) {
  settings_.min = std::min(settings_.min, settings_.max);
}

void pool_logic::start() {
  running_ = true;
  failures_ = 0;
  retry_at_ = {};
}

std::vector<std::string> pool_logic::stop() {
  running_ = false;
  std::vector<std::string> out;
  for (auto& [id, w] : workers_)
    if (!w.cold && (w.state == worker_state::warm || w.state == worker_state::creating))
      out.push_back(id);
  return out;
}

caf::expected<pool_logic::scale_result> pool_logic::scale(int32_t n) {
  if (n < 0)
    return make_error(errc::invalid_argument,
                      "scale count must be 0 or more, got " + std::to_string(n));
  scale_result r;
  r.target = static_cast<uint32_t>(n);
  if (r.target > settings_.max) {
    r.warnings.push_back("requested " + std::to_string(n)
                         + " warm workers; capped at MAX_WARM_WORKERS ("
                         + std::to_string(settings_.max) + ")");
    r.target = settings_.max;
  }
  settings_.min = r.target;
  auto have = pool_count(worker_state::warm) + pool_count(worker_state::creating);
  if (have > r.target) {
    auto surplus = have - r.target;
    for (auto& [id, w] : workers_)
      if (surplus > 0 && !w.cold && w.state == worker_state::creating) {
        r.victims.push_back(id);
        --surplus;
      }
    for (auto* w : warm_pool_oldest_first())
      if (surplus > 0) {
        r.victims.push_back(w->id);
        --surplus;
      }
  }
  return r;
}

std::vector<std::string> pool_logic::cleanup() {
  std::vector<std::string> out;
  auto warm = warm_pool_oldest_first();
  for (size_t i = 0; i + settings_.min < warm.size(); ++i)
    out.push_back(warm[i]->id);
  return out;
}

void pool_logic::add_worker(const std::string& id, bool cold, claim_id claim,
                            time_point now) {
  worker_rec w;
  w.id = id;
  w.cold = cold;
  w.claim = claim;
  w.spawned = now;
  w.since = now;
  workers_[id] = w;
}

void pool_logic::set_state(const std::string& id, worker_state to, time_point now) {
  auto i = workers_.find(id);
  if (i == workers_.end())
    return;
  auto& w = i->second;
  if (w.state == to || rank(to) < rank(w.state))
    return;
  if (to == worker_state::failed && w.state == worker_state::creating) {
    ++failures_;
    auto pause = backoff_min * (1u << std::min(failures_ - 1, 16u));
    retry_at_ = now + std::min<std::chrono::milliseconds>(pause, backoff_max);
  }
  if (to == worker_state::warm) {
    failures_ = 0;
    w.warm_since = now;
  }
  // A worker the pool already claimed stays claimed until the worker says
  // otherwise (its own warm -> claimed may arrive after our decision).
  w.state = to;
  w.since = now;
}

void pool_logic::forget(const std::string& id) {
  workers_.erase(id);
}

const pool_logic::worker_rec* pool_logic::find(const std::string& id) const {
  auto i = workers_.find(id);
  return i == workers_.end() ? nullptr : &i->second;
}

uint32_t pool_logic::pool_count(worker_state s) const {
  uint32_t n = 0;
  for (auto& [id, w] : workers_)
    n += !w.cold && w.state == s ? 1 : 0;
  return n;
}

uint32_t pool_logic::cold_creating() const {
  uint32_t n = 0;
  for (auto& [id, w] : workers_)
    n += w.cold && w.state == worker_state::creating ? 1 : 0;
  return n;
}

void pool_logic::enqueue(claim_id id, bool cold_only) {
  queue_.push_back(queued_claim{id, cold_only || !settings_.late_bind, false});
}

void pool_logic::requeue_front(claim_id id, bool cold_only) {
  queue_.push_front(queued_claim{id, cold_only || !settings_.late_bind, false});
}

bool pool_logic::drop_claim(claim_id id) {
  auto i = std::find_if(queue_.begin(), queue_.end(),
                        [&](const queued_claim& q) { return q.id == id; });
  if (i == queue_.end())
    return false;
  queue_.erase(i);
  return true;
}

bool pool_logic::queued(claim_id id) const {
  return std::any_of(queue_.begin(), queue_.end(),
                     [&](const queued_claim& q) { return q.id == id; });
}

std::vector<pool_logic::assignment> pool_logic::assign(time_point now) {
  std::vector<assignment> out;
  auto take = [&](worker_rec& w, claim_id c) {
    drop_claim(c);
    w.state = worker_state::claimed;
    w.claim = c;
    w.since = now;
    out.push_back({w.id, c});
  };
  // Cold workers serve exactly the claim they were made for.
  for (auto& [id, w] : workers_)
    if (w.cold && ready(w) && queued(w.claim))
      take(w, w.claim);
  // Warm workers, oldest first, take the oldest claim without its own cold
  // create in flight, else the oldest claim that may use a warm worker.
  for (auto* cw : warm_pool_oldest_first()) {
    auto& w = workers_[cw->id];
    auto pick = std::find_if(queue_.begin(), queue_.end(), [](const queued_claim& q) {
      return !q.cold_only && !q.cold_in_flight;
    });
    if (pick == queue_.end())
      pick = std::find_if(queue_.begin(), queue_.end(),
                          [](const queued_claim& q) { return !q.cold_only; });
    if (pick == queue_.end())
      break;
    take(w, pick->id);
  }
  return out;
}

std::vector<std::string> pool_logic::orphaned_cold() const {
  std::vector<std::string> out;
  for (auto& [id, w] : workers_)
    if (w.cold && ready(w) && !queued(w.claim))
      out.push_back(id);
  return out;
}

uint32_t pool_logic::in_flight() const {
  return pool_count(worker_state::creating) + cold_creating();
}

std::vector<pool_logic::claim_id> pool_logic::cold_creates() {
  std::vector<claim_id> out;
  auto slots = settings_.max_creating > in_flight()
                 ? settings_.max_creating - in_flight()
                 : 0u;
  // Warm-pool workers being created will serve the oldest eligible claims.
  auto covered = pool_count(worker_state::creating);
  for (int pass = 0; pass < 2; ++pass)
    for (auto& q : queue_) {
      if (q.cold_in_flight || slots == 0)
        continue;
      if (pass == 0 && q.cold_only) {
        q.cold_in_flight = true;
        out.push_back(q.id);
        --slots;
      } else if (pass == 1 && !q.cold_only) {
        if (covered > 0) {
          --covered;
          continue;
        }
        if (!settings_.cold_fallback)
          continue;
        q.cold_in_flight = true;
        out.push_back(q.id);
        --slots;
      }
    }
  return out;
}

uint32_t pool_logic::refill(time_point now) const {
  if (!running_ || !settings_.late_bind)
    return 0;
  if (failures_ > 0 && now < retry_at_)
    return 0;
  uint32_t waiting = 0;
  for (auto& q : queue_)
    waiting += q.cold_only || q.cold_in_flight ? 0 : 1;
  auto want = std::min(settings_.max, settings_.min + waiting);
  auto have = pool_count(worker_state::warm) + pool_count(worker_state::creating);
  if (have >= want)
    return 0;
  // Cold-only claims waiting for a slot go first.
  uint32_t cold_waiting = 0;
  for (auto& q : queue_)
    cold_waiting += q.cold_only && !q.cold_in_flight ? 1 : 0;
  auto busy_slots = in_flight() + cold_waiting;
  if (busy_slots >= settings_.max_creating)
    return 0;
  auto n = std::min(want - have, settings_.max_creating - busy_slots);
  // After failures, probe with one creation at a time.
  return failures_ > 0 ? std::min(n, 1u) : n;
}

std::optional<pool_logic::time_point> pool_logic::backoff_until() const {
  if (failures_ == 0)
    return std::nullopt;
  return retry_at_;
}

std::vector<std::string> pool_logic::idle_victims(time_point now) const {
  std::vector<std::string> out;
  auto warm = warm_pool_oldest_first();
  if (warm.size() <= settings_.min)
    return out;
  auto surplus = warm.size() - settings_.min;
  for (auto* w : warm)
    if (surplus > 0 && now - w->warm_since >= settings_.idle_timeout) {
      out.push_back(w->id);
      --surplus;
    }
  return out;
}

bool pool_logic::can_warm() const {
  return settings_.late_bind
         && pool_count(worker_state::warm) + pool_count(worker_state::creating)
              < settings_.max;
}

std::vector<const pool_logic::worker_rec*>
pool_logic::warm_pool_oldest_first() const {
  std::vector<const worker_rec*> out;
  for (auto& [id, w] : workers_)
    if (!w.cold && ready(w))
      out.push_back(&w);
  std::stable_sort(out.begin(), out.end(), [](auto* a, auto* b) {
    return a->warm_since < b->warm_since;
  });
  return out;
}

} // namespace hal9000
