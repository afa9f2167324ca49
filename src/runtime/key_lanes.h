// Messages with the same key run one after another; different keys run concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>

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
  std::unordered_map<std::string, std::deque<std::uint64_t>> lanes_;  // front = running
  std::size_t waiting_ = 0;
};

}  // namespace fxconnect::runtime
