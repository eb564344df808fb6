#pragma once
// Sums up an image pull's progress messages (one per layer and step, as the
// engine streams them) into one line a person can follow:
//   "pulling ghcr.io/x/y:worker: 12.3 MB of 45.6 MB, 2/5 layers done"
// and says when that line is worth showing (a layer finished, or a second
// passed with new bytes), so a log is not flooded by per-chunk messages.

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include "messages/docker.hpp"

namespace hal9000 {

/// "0 B", "512 B", "1.5 kB", "12.3 MB", "1.2 GB" (decimal units, as docker).
std::string human_bytes(int64_t n);

class pull_meter {
public:
  using clock = std::chrono::steady_clock;

  explicit pull_meter(std::string image,
                      std::chrono::milliseconds every = std::chrono::seconds(1));

  /// Takes one progress message; true when line() should be shown now.
  bool add(const docker::pull_progress& p, clock::time_point now);

  std::string line() const;

  int64_t current() const;
  int64_t total() const;
  size_t layers() const { return layers_.size(); }
  size_t layers_done() const;

private:
  struct layer {
    int64_t current = 0;
    int64_t total = 0;
    bool done = false;
  };

  std::string image_;
  std::chrono::milliseconds every_;
  std::map<std::string, layer> layers_;
  bool shown_once_ = false;
  clock::time_point last_shown_{};
  int64_t last_shown_bytes_ = -1;
};

} // namespace hal9000
