#include "systems/resilience/breaker.h"

#include <algorithm>

namespace fxconnect::systems {

std::optional<std::string> check_breaker_settings(const BreakerSettings& settings) {
  if (!(settings.failure_rate > 0.0 && settings.failure_rate <= 1.0)) {
    return "failure_rate must be above 0 and at most 1";
  }
  if (settings.window < 1) return "window must be at least 1 call";
  if (settings.min_calls < 1) return "min_calls must be at least 1";
  if (settings.min_calls > settings.window) {
    return "min_calls (" + std::to_string(settings.min_calls) + ") is larger than window (" +
           std::to_string(settings.window) + "): the breaker would never open";
  }
  if (settings.open_for <= std::chrono::milliseconds(0)) return "open_for must be longer than 0";
  return std::nullopt;
}

bool CircuitBreaker::allow(Clock::time_point now) {
  if (!settings_.enabled) return true;
  switch (state_) {
    case State::closed: return true;
    case State::open:
      if (now < open_until_) return false;
      state_ = State::half_open;
      probe_in_flight_ = false;
      break;
    case State::half_open: break;
  }
  if (probe_in_flight_) return false;
  probe_in_flight_ = true;
  return true;
}

void CircuitBreaker::record(bool success, Clock::time_point now) {
  if (!settings_.enabled) return;
  switch (state_) {
    case State::closed: {
      window_.push_back(!success);
      if (!success) ++failures_;
      const auto size = static_cast<std::size_t>(std::max(settings_.window, 1));
      while (window_.size() > size) {
        if (window_.front()) --failures_;
        window_.pop_front();
      }
      const auto calls = static_cast<int>(window_.size());
      // As a quotient, so that 3 of 10 meets a rate of 0.3 (3 >= 0.3 * 10 would not, in doubles).
      if (calls >= settings_.min_calls && static_cast<double>(failures_) / calls >= settings_.failure_rate) open(now);
      return;
    }
    case State::open: return;  // a call from before it opened
    case State::half_open:
      if (!probe_in_flight_) return;  // likewise
      probe_in_flight_ = false;
      if (success) {
        state_ = State::closed;
        window_.clear();
        failures_ = 0;
      } else {
        open(now);
      }
      return;
  }
}

void CircuitBreaker::cancelled() { probe_in_flight_ = false; }

void CircuitBreaker::open(Clock::time_point now) {
  state_ = State::open;
  open_until_ = now + settings_.open_for;
  probe_in_flight_ = false;
  window_.clear();
  failures_ = 0;
  ++opened_;
}

CircuitBreaker::State CircuitBreaker::state(Clock::time_point now) const {
  if (!settings_.enabled) return State::closed;
  if (state_ == State::open && now >= open_until_) return State::half_open;
  return state_;
}

std::string_view CircuitBreaker::name(State s) {
  switch (s) {
    case State::closed: return "closed";
    case State::open: return "open";
    case State::half_open: return "half_open";
  }
  return "unknown";  // not reached: every state is listed above
}

}  // namespace fxconnect::systems
