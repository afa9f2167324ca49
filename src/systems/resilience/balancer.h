// Which endpoint of a legacy system the next attempt goes to. `round_robin` spreads calls over
// the endpoints; `failover` uses the first healthy one. An endpoint that failed to connect is set
// aside for a while (`down_for`); when all are down, the least recently failed one is tried.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace fxconnect::systems {

class Balancer {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Mode { round_robin, failover };

  // `endpoints` must not be empty (config validation refuses a system without one).
  Balancer(std::vector<std::string> endpoints, Mode mode, std::chrono::milliseconds down_for = std::chrono::seconds(5));

  // The endpoint for an attempt, avoiding `not_this` (the one the previous attempt of the same
  // call failed on) when another is usable. Usable: not set aside at `now`. Round robin: the next
  // usable one after the last pick. Failover: the first usable one in order. When none is usable,
  // the one whose time aside ends soonest (the least recently failed; on a tie, the first in the
  // mode's order), again avoiding `not_this` when there are others.
  std::size_t pick(Clock::time_point now, std::optional<std::size_t> not_this = std::nullopt);
  // The attempt on endpoint `i` could not connect (set aside until now + down_for) or got an
  // answer (healthy again). An `i` out of range is ignored.
  void failed(std::size_t i, Clock::time_point now);
  void succeeded(std::size_t i);

  const std::string& endpoint(std::size_t i) const { return endpoints_[i]; }
  std::size_t size() const { return endpoints_.size(); }
  bool all_down(Clock::time_point now) const;  // every endpoint set aside at `now` (false if none)

 private:
  bool usable(std::size_t i, Clock::time_point now) const { return down_until_[i] <= now; }

  std::vector<std::string> endpoints_;
  Mode mode_;
  std::chrono::milliseconds down_for_;
  std::vector<Clock::time_point> down_until_;  // time_point::min() when healthy
  std::size_t next_ = 0;                       // round robin: where the next search starts
};

}  // namespace fxconnect::systems
