// A circuit breaker over a count-based window: when too many recent calls fail, calls are refused
// at once (the legacy system gets time to recover, the process gets a fast, retriable error),
// then one probe is let through to see whether it is back. Pure logic: time is a parameter.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

namespace fxconnect::systems {

struct BreakerSettings {
  double failure_rate = 0.5;                   // open when failures / calls in the window >= this
  int window = 20;                             // the last N calls (< 1 counts as 1)
  int min_calls = 10;                          // no opening before this many calls in the window
  std::chrono::milliseconds open_for{30'000};  // then half-open
  bool enabled = true;
};

// For lint and config loading: nullopt when the settings can work, else the problem. A breaker
// whose min_calls exceeds its window would never open, so that is refused here.
std::optional<std::string> check_breaker_settings(const BreakerSettings& settings);

class CircuitBreaker {
 public:
  using Clock = std::chrono::steady_clock;
  enum class State { closed, open, half_open };

  explicit CircuitBreaker(BreakerSettings settings) : settings_(settings) {}

  // Whether a call may start now. Open: no (until open_for has passed, then half-open). Half-open:
  // one probe at a time; the others are refused until it ends (record() or cancelled()).
  // Disabled: always yes.
  bool allow(Clock::time_point now);
  // The outcome of a call allow() let through. Closed: it enters the window, and the breaker opens
  // once the window holds at least min_calls calls and failure_rate of them failed. Half-open with
  // the probe out: a success closes (window cleared), a failure opens again for open_for. Calls
  // let through before the breaker opened that end while it is open, or half-open with no probe
  // out, are not counted: they say nothing about the system after it opened.
  void record(bool success, Clock::time_point now);
  // A call that was allowed but never made (its request's deadline passed first): frees the probe.
  void cancelled();

  State state(Clock::time_point now) const;  // open turns half_open once open_for has passed
  // 0 closed, 1 open, 2 half-open (the metric's value).
  static int metric_value(State s) { return s == State::closed ? 0 : s == State::open ? 1 : 2; }
  // "closed", "open", "half_open": for logs and metric labels.
  static std::string_view name(State s);
  std::uint64_t opened() const { return opened_; }  // times it opened (from closed or half-open)

 private:
  void open(Clock::time_point now);

  BreakerSettings settings_;
  State state_ = State::closed;
  std::deque<bool> window_;  // true = failure
  int failures_ = 0;
  Clock::time_point open_until_{};
  bool probe_in_flight_ = false;
  std::uint64_t opened_ = 0;
};

}  // namespace fxconnect::systems
