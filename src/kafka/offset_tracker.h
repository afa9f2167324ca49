// Which offset of one partition may be committed: never past a message without its outcome.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>

namespace fxconnect::kafka {

// Offsets are added in consumption order (increasing, gaps allowed: compaction, transaction
// markers) and completed in any order. The committable offset is the lowest unfinished one, or
// one past the highest seen when all are finished: Kafka's "next offset to read" convention.
class OffsetTracker {
 public:
  // Returns false (and ignores it) when `offset` is not above every offset added before.
  bool add(std::int64_t offset);
  // Returns false when `offset` is not pending (never added, or already completed).
  bool complete(std::int64_t offset);
  // The offset to commit, or nullopt before the first add().
  std::optional<std::int64_t> committable() const;
  // Messages added and not completed.
  std::size_t pending() const { return pending_; }

 private:
  struct Slot {
    std::int64_t offset;
    bool done;
  };
  std::deque<Slot> window_;  // from the lowest unfinished offset up to the last added
  std::int64_t next_ = -1;   // one past the last added
  std::size_t pending_ = 0;
};

}  // namespace fxconnect::kafka
