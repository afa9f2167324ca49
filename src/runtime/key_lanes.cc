#include "runtime/key_lanes.h"

#include <algorithm>

namespace fxconnect::runtime {

bool KeyLanes::enter(const std::string& key, std::uint64_t id) {
  auto [it, created] = lanes_.try_emplace(key);
  if (created) {
    it->second.running = id;
    return true;
  }
  it->second.waiting.push_back(id);
  ++waiting_;
  return false;
}

std::optional<std::uint64_t> KeyLanes::leave(const std::string& key) {
  auto it = lanes_.find(key);
  if (it == lanes_.end()) return std::nullopt;
  Lane& lane = it->second;
  if (lane.head == lane.waiting.size()) {
    lanes_.erase(it);
    return std::nullopt;
  }
  lane.running = lane.waiting[lane.head++];
  if (lane.head == lane.waiting.size()) {
    lane.waiting.clear();
    lane.head = 0;
  }
  --waiting_;
  return lane.running;
}

bool KeyLanes::remove_waiting(const std::string& key, std::uint64_t id) {
  auto it = lanes_.find(key);
  if (it == lanes_.end()) return false;
  Lane& lane = it->second;
  auto first = lane.waiting.begin() + static_cast<std::ptrdiff_t>(lane.head);
  auto pos = std::find(first, lane.waiting.end(), id);
  if (pos == lane.waiting.end()) return false;
  lane.waiting.erase(pos);
  if (lane.head == lane.waiting.size()) {
    lane.waiting.clear();
    lane.head = 0;
  }
  --waiting_;
  return true;
}

}  // namespace fxconnect::runtime
