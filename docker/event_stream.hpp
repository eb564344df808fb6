#pragma once
// Follows the engine's /events stream (container events) on its own
// connection and thread, reconnecting with exponential backoff when the
// engine goes away. Plain C++: the docker actor turns the callbacks into
// messages. Reconnects ask for events `since` the last one seen, so events
// the engine still buffers are not lost across a dropped connection.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "docker/http_client.hpp"
#include "messages/docker.hpp"

namespace hal9000::docker {

class event_stream {
public:
  struct callbacks {
    std::function<void(event)> on_event;
    /// up=true: (re)connected ("connected" or "reconnected"); up=false: lost
    /// or unreachable, with the reason. Called once per change.
    std::function<void(bool up, std::string reason)> on_status;
  };

  event_stream(endpoint ep, std::chrono::milliseconds reconnect_min,
               std::chrono::milliseconds reconnect_max, callbacks cb);

  /// Stops and joins the thread.
  ~event_stream();

  event_stream(const event_stream&) = delete;
  event_stream& operator=(const event_stream&) = delete;

  void start();

  /// Returns promptly: wakes the thread's poll and joins it.
  void stop();

private:
  void run();

  /// One connection: returns why it ended (empty when stopped). Sets up when
  /// the engine accepted the subscription.
  std::string follow(bool& up, bool announce_reconnect);

  endpoint ep_;
  std::chrono::milliseconds min_;
  std::chrono::milliseconds max_;
  callbacks cb_;
  std::atomic<bool> stop_{false};
  std::mutex mtx_;
  std::condition_variable cv_;
  void* multi_ = nullptr;  // CURLM* of the current connection, under mtx_
  std::thread thread_;
  int64_t since_ns_ = 0;  // ask for events from here on (thread only)
};

} // namespace hal9000::docker
