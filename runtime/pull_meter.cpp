#include "runtime/pull_meter.hpp"

#include <cstdio>

namespace hal9000 {

std::string human_bytes(int64_t n) {
  if (n < 1000)
    return std::to_string(n < 0 ? 0 : n) + " B";
  const char* units[] = {"kB", "MB", "GB", "TB"};
  double v = static_cast<double>(n);
  int u = -1;
  while (v >= 1000 && u < 3) {
    v /= 1000;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f %s", v, units[u]);
  return buf;
}

pull_meter::pull_meter(std::string image, std::chrono::milliseconds every)
  : image_(std::move(image)), every_(every) {
}

bool pull_meter::add(const docker::pull_progress& p, clock::time_point now) {
  // Lines without a layer ("Pulling from library/x", "Digest: ...",
  // "Status: Downloaded newer image") carry no bytes.
  if (p.layer.empty() || p.layer == image_)
    return false;
  // A tag line ("latest: Pulling from ...") names the tag, not a layer.
  if (p.status.rfind("Pulling from", 0) == 0)
    return false;
  auto& l = layers_[p.layer];
  bool finished = false;
  if (p.status == "Downloading") {
    l.current = p.current;
    if (p.total > 0)
      l.total = p.total;
  } else if (p.status == "Download complete" || p.status == "Verifying Checksum"
             || p.status == "Extracting") {
    if (l.total > 0)
      l.current = l.total;
  } else if (p.status == "Pull complete" || p.status == "Already exists") {
    if (l.total > 0)
      l.current = l.total;
    finished = !l.done;
    l.done = true;
  }
  auto bytes = current();
  bool due = !shown_once_ || finished
             || (now - last_shown_ >= every_ && bytes != last_shown_bytes_);
  if (due) {
    shown_once_ = true;
    last_shown_ = now;
    last_shown_bytes_ = bytes;
  }
  return due;
}

int64_t pull_meter::current() const {
  int64_t sum = 0;
  for (auto& kv : layers_)
    sum += kv.second.current;
  return sum;
}

int64_t pull_meter::total() const {
  int64_t sum = 0;
  for (auto& kv : layers_)
    sum += kv.second.total;
  return sum;
}

size_t pull_meter::layers_done() const {
  size_t n = 0;
  for (auto& kv : layers_)
    n += kv.second.done ? 1 : 0;
  return n;
}

std::string pull_meter::line() const {
  std::string out = "pulling " + image_ + ": " + human_bytes(current());
  if (total() > 0)
    out += " of " + human_bytes(total());
  out += ", " + std::to_string(layers_done()) + "/" + std::to_string(layers_.size())
         + " layers done";
  return out;
}

} // namespace hal9000
