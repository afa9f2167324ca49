// Messages with the same key run one after another; different keys run concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace fxconnect::runtime {

// A lane is named by a 64-bit hash of its key (of_key) or of its partition (of_partition), not
// by the key's text: no string is copied, allocated or compared per request (the string-keyed
// map alone was 3.6 % of the echo connector's CPU samples, its copies and comparisons more:
// docs/performance.md). Two keys with the same hash share a lane: they then run one after the
// other, which keeps every key's order and only costs concurrency. With 5,000 lanes at once the
// chance that any two of them collide is about 5000² / 2⁶⁵, 7 in 10¹³. The hash (libstdc++'s
// std::hash, unseeded) is not secret: a client that may write to the input topic could choose keys
// whose lanes collide with one another; it can already delay every request behind its own (slow
// or numerous requests fill processing.max_in_flight), so colliding keys give it nothing more.
using LaneId = std::uint64_t;

class KeyLanes {
 public:
  static LaneId of_key(std::string_view key);
  static LaneId of_partition(std::string_view topic, std::int32_t partition);

  // Queues `id` on the lane `lane`. True when the lane was idle: the caller starts `id` now.
  bool enter(LaneId lane, std::uint64_t id);
  // The running message of `lane` finished. Returns the next message to start, if any.
  std::optional<std::uint64_t> leave(LaneId lane);
  // Takes a waiting (not running) message out of its lane. False when it is the running one or
  // not there.
  bool remove_waiting(LaneId lane, std::uint64_t id);
  std::size_t lanes() const { return lanes_.size(); }
  std::size_t waiting() const { return waiting_; }

 private:
  // A lane: the running message and those waiting behind it. Most lanes never have a waiting
  // message: an empty vector allocates nothing (a std::deque allocated 576 bytes per lane, once
  // per request: docs/performance.md).
  struct Lane {
    std::uint64_t running = 0;
    std::vector<std::uint64_t> waiting;  // from `head` on, in order
    std::size_t head = 0;
  };
  std::unordered_map<LaneId, Lane> lanes_;  // the ids are hashes already: std::hash is the identity
  std::size_t waiting_ = 0;
};

}  // namespace fxconnect::runtime
