#include "runtime/key_lanes.h"

#include <algorithm>

namespace fxconnect::runtime {

bool KeyLanes::enter(const std::string& key, std::uint64_t id) {
  auto& lane = lanes_[key];
  lane.push_back(id);
  if (lane.size() > 1) ++waiting_;
  return lane.size() == 1;
}

std::optional<std::uint64_t> KeyLanes::leave(const std::string& key) {
  auto it = lanes_.find(key);
  if (it == lanes_.end() || it->second.empty()) return std::nullopt;
  it->second.pop_front();
  if (it->second.empty()) {
    lanes_.erase(it);
    return std::nullopt;
  }
  --waiting_;
  return it->second.front();
}

bool KeyLanes::remove_waiting(const std::string& key, std::uint64_t id) {
  auto it = lanes_.find(key);
  if (it == lanes_.end()) return false;
  auto& lane = it->second;
  auto pos = std::find(lane.begin() + (lane.empty() ? 0 : 1), lane.end(), id);
  if (lane.empty() || pos == lane.end()) return false;
  lane.erase(pos);
  --waiting_;
  return true;
}

}  // namespace fxconnect::runtime
