#include "runtime/key_lanes.h"

#include <algorithm>
#include <functional>

namespace fxconnect::runtime {

LaneId KeyLanes::of_key(std::string_view key) { return std::hash<std::string_view>{}(key); }

LaneId KeyLanes::of_partition(std::string_view topic, std::int32_t partition) {
  // The topic's hash mixed with the partition (splitmix64's finalizer), so that partitions of one
  // topic do not land on neighbouring ids.
  std::uint64_t x =
      std::hash<std::string_view>{}(topic) + 0x9e3779b97f4a7c15ULL * (static_cast<std::uint32_t>(partition) + 1);
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

bool KeyLanes::enter(LaneId lane, std::uint64_t id) {
  auto [it, created] = lanes_.try_emplace(lane);
  if (created) {
    it->second.running = id;
    return true;
  }
  it->second.waiting.push_back(id);
  ++waiting_;
  return false;
}

std::optional<std::uint64_t> KeyLanes::leave(LaneId lane_id) {
  auto it = lanes_.find(lane_id);
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

bool KeyLanes::remove_waiting(LaneId lane_id, std::uint64_t id) {
  auto it = lanes_.find(lane_id);
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
