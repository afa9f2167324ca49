#include "systems/resilience/limits.h"

#include <algorithm>
#include <cmath>

namespace fxconnect::systems {
namespace {

// One token per ~31.7 years at the slowest; keeps capacity arithmetic far from overflow.
constexpr double kMaxIntervalNs = 1e18;
constexpr double kMaxCapacityNs = 4e18;

std::int64_t interval_for(double per_second) {
  if (!(per_second > 0.0)) return static_cast<std::int64_t>(kMaxIntervalNs);  // NaN included
  const double ns = std::ceil(1e9 / per_second);
  return static_cast<std::int64_t>(std::clamp(ns, 1.0, kMaxIntervalNs));
}

}  // namespace

bool Bulkhead::acquire(std::uint64_t id) {
  if (in_use_ < slots_ && waiting_.empty()) {
    ++in_use_;
    return true;
  }
  waiting_.push_back(id);
  return false;
}

std::optional<std::uint64_t> Bulkhead::release() {
  if (!waiting_.empty()) {
    const std::uint64_t next = waiting_.front();
    waiting_.pop_front();
    return next;  // the slot passes to it: in_use_ unchanged
  }
  if (in_use_ > 0) --in_use_;
  return std::nullopt;
}

bool Bulkhead::forget(std::uint64_t id) {
  auto it = std::find(waiting_.begin(), waiting_.end(), id);
  if (it == waiting_.end()) return false;
  waiting_.erase(it);
  return true;
}

TokenBucket::TokenBucket(double per_second, double burst) : interval_ns_(interval_for(per_second)) {
  if (!(burst >= 1.0)) burst = 1.0;  // NaN included
  const double capacity = std::min(std::floor(burst * static_cast<double>(interval_ns_)), kMaxCapacityNs);
  capacity_ns_ = std::max(static_cast<std::int64_t>(capacity), interval_ns_);
  credit_ns_ = capacity_ns_;
}

std::optional<std::chrono::nanoseconds> TokenBucket::take(LimitClock::time_point now) {
  if (!started_) {
    started_ = true;
    last_ = now;
  } else if (now > last_) {
    const std::int64_t elapsed = std::chrono::duration_cast<std::chrono::nanoseconds>(now - last_).count();
    credit_ns_ = elapsed >= capacity_ns_ - credit_ns_ ? capacity_ns_ : credit_ns_ + elapsed;
    last_ = now;
  }
  if (credit_ns_ >= interval_ns_) {
    credit_ns_ -= interval_ns_;
    return std::nullopt;
  }
  return std::chrono::nanoseconds(interval_ns_ - credit_ns_);
}

}  // namespace fxconnect::systems
