#include "runtime/intake.h"

#include <utility>

namespace fxconnect::runtime {

Intake::Action Intake::changed(std::size_t requests, std::size_t bytes, Clock::time_point now) {
  if (stopped_) return Action::none;
  if (!held_ && over(requests, bytes)) {
    held_ = true;
    held_since_ = now;
    ++holds_;
    return Action::stop_taking;
  }
  if (held_ && !over(requests, bytes)) {
    held_ = false;
    return std::exchange(paused_, false) ? Action::resume_paused : Action::resume;
  }
  return Action::none;
}

Intake::Action Intake::on_time(Clock::time_point now) {
  if (stopped_ || !held_ || paused_ || now < held_since_ + hold_before_pause_) return Action::none;
  paused_ = true;
  return Action::pause;
}

std::optional<Intake::Clock::time_point> Intake::next_wakeup() const {
  if (stopped_ || !held_ || paused_) return std::nullopt;
  return held_since_ + hold_before_pause_;
}

}  // namespace fxconnect::runtime
