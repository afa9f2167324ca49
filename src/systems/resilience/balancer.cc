#include "systems/resilience/balancer.h"

#include <algorithm>
#include <utility>

namespace fxconnect::systems {

Balancer::Balancer(std::vector<std::string> endpoints, Mode mode, std::chrono::milliseconds down_for)
    : endpoints_(std::move(endpoints)),
      mode_(mode),
      down_for_(down_for),
      down_until_(endpoints_.size(), Clock::time_point::min()) {}

std::size_t Balancer::pick(Clock::time_point now, std::optional<std::size_t> not_this) {
  const std::size_t n = endpoints_.size();
  if (n == 0) return 0;  // refused by config validation; nothing sensible to give
  const std::size_t start = mode_ == Mode::round_robin ? next_ % n : 0;
  const auto avoided = [&](std::size_t i) { return not_this && *not_this == i && n > 1; };

  std::optional<std::size_t> chosen;
  for (std::size_t k = 0; k < n && !chosen; ++k) {
    const std::size_t i = (start + k) % n;
    if (usable(i, now) && !avoided(i)) chosen = i;
  }
  if (!chosen && not_this && *not_this < n && usable(*not_this, now)) chosen = *not_this;  // the only usable one
  if (!chosen) {
    // All set aside: the one back soonest, in order from the start on a tie.
    for (std::size_t k = 0; k < n; ++k) {
      const std::size_t i = (start + k) % n;
      if (avoided(i)) continue;
      if (!chosen || down_until_[i] < down_until_[*chosen]) chosen = i;
    }
  }
  const std::size_t picked = chosen.value_or(start);  // always set: n >= 1, and at most one is avoided
  if (mode_ == Mode::round_robin) next_ = (picked + 1) % n;
  return picked;
}

void Balancer::failed(std::size_t i, Clock::time_point now) {
  if (i < down_until_.size()) down_until_[i] = now + down_for_;
}

void Balancer::succeeded(std::size_t i) {
  if (i < down_until_.size()) down_until_[i] = Clock::time_point::min();
}

bool Balancer::all_down(Clock::time_point now) const {
  for (std::size_t i = 0; i < endpoints_.size(); ++i) {
    if (usable(i, now)) return false;
  }
  return !endpoints_.empty();
}

}  // namespace fxconnect::systems
