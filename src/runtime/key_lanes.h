// Messages with the same key run one after another; different keys run concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace fxconnect::runtime {

class KeyLanes {
 public:
  // Queues `id` on the lane of `key`. True when the lane was idle: the caller starts `id` now.
  bool enter(const std::string& key, std::uint64_t id);
  // The running message of `key` finished. Returns the next message to start, if any.
  std::optional<std::uint64_t> leave(const std::string& key);
  // Takes a waiting (not running) message out of its lane. False when it is the running one or
  // not there.
  bool remove_waiting(const std::string& key, std::uint64_t id);
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
  std::unordered_map<std::string, Lane> lanes_;
  std::size_t waiting_ = 0;
};

}  // namespace fxconnect::runtime
