// Intake control: the bound on what is in flight (requests and bytes). At the bound the runtime
// stops taking from the consumer's queue (immediate, free; librdkafka stops fetching once its
// bounded prefetch queue is full). Group events wait in that queue too, so a bound held for
// `hold_before_pause` (a stuck legacy system, a broker refusing the replies) pauses the
// partitions and takes again: the member serves rebalances and stays in its group however long
// it lasts. (Pausing for every short stretch would cost a re-fetch each time.) Pure logic.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>

namespace fxconnect::runtime {

class Intake {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Action {
    none,
    stop_taking,    // the bound is reached: stop taking messages
    pause,          // held for hold_before_pause: pause every partition, take again
    resume,         // below the bound again: take messages
    resume_paused,  // below the bound again after a pause: resume the partitions and take messages
  };

  Intake(std::size_t max_requests, std::size_t max_bytes, std::chrono::milliseconds hold_before_pause)
      : max_requests_(max_requests), max_bytes_(max_bytes), hold_before_pause_(hold_before_pause) {}

  // The counts changed (a request consumed, a request gone, its memory grew).
  Action changed(std::size_t requests, std::size_t bytes, Clock::time_point now);
  // The time passed: pause when held long enough.
  Action on_time(Clock::time_point now);
  std::optional<Clock::time_point> next_wakeup() const;
  // How many more requests, and bytes, fit below the bound (zero when at or over it).
  std::pair<std::size_t, std::size_t> room(std::size_t requests, std::size_t bytes) const {
    return {requests < max_requests_ ? max_requests_ - requests : 0, bytes < max_bytes_ ? max_bytes_ - bytes : 0};
  }
  // After stopping: no more resuming.
  void stop() { stopped_ = true; }

  bool held() const { return held_; }
  bool paused() const { return paused_; }
  std::uint64_t holds() const { return holds_; }

 private:
  bool over(std::size_t requests, std::size_t bytes) const { return requests >= max_requests_ || bytes >= max_bytes_; }

  std::size_t max_requests_;
  std::size_t max_bytes_;
  std::chrono::milliseconds hold_before_pause_;
  bool held_ = false;    // not taking from the consumer's queue
  bool paused_ = false;  // ... for longer than hold_before_pause: partitions paused
  bool stopped_ = false;
  Clock::time_point held_since_{};
  std::uint64_t holds_ = 0;
};

}  // namespace fxconnect::runtime
