// Protection of a legacy system: a bulkhead (at most N calls at once; the others wait their turn,
// in order, until their deadline) and a token bucket (at most R calls per second on average).
// Pure logic: time is a parameter, waiting is the caller's (it asks when to look again).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string_view>

namespace fxconnect::systems {

using LimitClock = std::chrono::steady_clock;

class Bulkhead {
 public:
  // `slots` calls at once (0 counts as 1: a bulkhead that lets nothing through is a config error).
  explicit Bulkhead(std::size_t slots) : slots_(slots == 0 ? 1 : slots) {}

  // A slot for call `id` now (true), or it joins the end of the queue (false) and gets one from
  // release(). A call never jumps the queue, even when a slot is free.
  bool acquire(std::uint64_t id);
  // A slot is free again: the next waiting call that is still waiting takes it (its id, and the
  // slot stays in use), or the slot becomes free (nullopt).
  std::optional<std::uint64_t> release();
  // A waiting call gives up (its deadline passed): it leaves the queue. False if it was not waiting.
  bool forget(std::uint64_t id);

  std::size_t in_use() const { return in_use_; }
  std::size_t waiting() const { return waiting_.size(); }

 private:
  std::size_t slots_;
  std::size_t in_use_ = 0;
  std::deque<std::uint64_t> waiting_;
};

class TokenBucket {
 public:
  // `per_second` calls per second on average; `burst` calls at once at most (>= 1; less counts as
  // 1). It starts full. The rate is kept as a whole number of nanoseconds per token, rounded up,
  // so the bucket never gives more than burst + per_second * T tokens in T seconds (and at most
  // 1e9 per second). A rate that is not positive counts as one token per ~31.7 years.
  TokenBucket(double per_second, double burst);

  // A token now (nullopt), or how long until one is there (the caller waits, then asks again).
  // Time going backwards adds no tokens.
  std::optional<std::chrono::nanoseconds> take(LimitClock::time_point now);

 private:
  // Integer arithmetic in nanoseconds of credit, exact over any run: a token costs interval_ns_,
  // credit grows by one per nanosecond up to capacity_ns_ (burst tokens' worth).
  std::int64_t interval_ns_;
  std::int64_t capacity_ns_;
  std::int64_t credit_ns_;
  LimitClock::time_point last_{};
  bool started_ = false;
};

}  // namespace fxconnect::systems
