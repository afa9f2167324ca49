#include "kafka/offset_tracker.h"

#include <algorithm>

namespace fxconnect::kafka {

bool OffsetTracker::add(std::int64_t offset) {
  if (offset < 0 || offset < next_) return false;
  window_.push_back(Slot{offset, false});
  next_ = offset + 1;
  ++pending_;
  return true;
}

bool OffsetTracker::complete(std::int64_t offset) {
  auto it = std::lower_bound(window_.begin(), window_.end(), offset,
                             [](const Slot& s, std::int64_t o) { return s.offset < o; });
  if (it == window_.end() || it->offset != offset || it->done) return false;
  it->done = true;
  --pending_;
  while (!window_.empty() && window_.front().done) window_.pop_front();
  return true;
}

std::optional<std::int64_t> OffsetTracker::committable() const {
  if (next_ < 0) return std::nullopt;
  return window_.empty() ? next_ : window_.front().offset;
}

}  // namespace fxconnect::kafka
