// The partitions this member serves, one record per assignment: which requests of each are in
// flight (its offset tracker), what is stored for commit, and, once revoked, how long it may
// drain before it is released. Pure logic: the runtime turns its answers into consumer calls.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "kafka/offset_tracker.h"
#include "kafka/ports.h"

namespace fxconnect::runtime {

using kafka::TopicPartition;
using PartitionClock = std::chrono::steady_clock;

// A partition named without a copy of its topic: what each request's lookups take (a topic name
// is usually longer than std::string's 15 inline bytes: a TopicPartition per lookup allocated).
struct PartitionRef {
  PartitionRef(std::string_view topic, std::int32_t partition) : topic(topic), partition(partition) {}
  // Implicit: every TopicPartition names a partition.
  PartitionRef(const TopicPartition& tp) : topic(tp.first), partition(tp.second) {}
  std::string_view topic;
  std::int32_t partition;
};

class Partitions {
 public:
  // Partitions assigned to this member: each gets a fresh record and a new generation (a
  // request of an earlier assignment of the same partition never touches it).
  void assigned(const std::vector<TopicPartition>& partitions);
  // Partitions taken away. `lost`: forgotten at once (another member may own them already;
  // nothing of theirs may be stored). Otherwise they drain until `grace_end`: returns how many
  // of their requests are in flight.
  std::size_t revoked(const std::vector<TopicPartition>& partitions, bool lost, PartitionClock::time_point grace_end);

  // A consumed message: its assignment's generation, or nullopt when the partition is not
  // served (not assigned, or revoked and draining: its next owner reads it).
  std::optional<std::uint64_t> admit(PartitionRef tp, std::int64_t offset);
  // A request's outcome is written. True when its partition's committable offset moved.
  bool completed(PartitionRef tp, std::uint64_t generation, std::int64_t offset);

  // Committable offsets not stored yet (of `only`, else of every partition); marked stored.
  std::vector<std::pair<TopicPartition, std::int64_t>> to_store(const std::vector<TopicPartition>* only = nullptr);
  // A commit of `offset` succeeded (for the lag metric).
  void committed(const TopicPartition& tp, std::int64_t offset);

  struct Release {
    std::vector<TopicPartition> partitions;  // forgotten here; the caller stores their offsets first
    std::size_t unfinished = 0;              // their requests still in flight (grace expired)
  };
  // Revoked partitions that may be released at `now`: all of them once none has a request in
  // flight or the grace is over. Their offsets must be stored before release().
  std::optional<Release> releasable(PartitionClock::time_point now) const;
  // Forgets released partitions.
  void forget(const std::vector<TopicPartition>& partitions);
  // When a revoke's grace ends (nullopt: no revoke pending).
  std::optional<PartitionClock::time_point> next_wakeup() const;

  // Assigned partitions (with or without those draining after a revoke).
  std::vector<TopicPartition> assigned_partitions(bool include_revoking) const;
  std::vector<TopicPartition> revoking() const;
  // Whether any partition is draining after a revoke (revoking() not empty), without building the list.
  bool draining() const;
  bool empty() const { return records_.empty(); }
  // (partition, last committed offset) of each assigned partition with a commit.
  std::vector<std::pair<TopicPartition, std::int64_t>> committed_offsets() const;

 private:
  struct Record {
    kafka::OffsetTracker tracker;
    std::uint64_t generation = 0;
    std::int64_t stored = -1;     // last offset stored for commit
    std::int64_t committed = -1;  // last offset reported committed
    bool revoking = false;
  };
  // Orders TopicPartitions and finds them by PartitionRef too.
  struct Less {
    using is_transparent = void;
    bool operator()(PartitionRef a, PartitionRef b) const {
      const int c = a.topic.compare(b.topic);
      return c < 0 || (c == 0 && a.partition < b.partition);
    }
  };
  std::map<TopicPartition, Record, Less> records_;
  std::uint64_t next_generation_ = 1;
  std::optional<PartitionClock::time_point> grace_end_;  // of the revoke being drained
};

}  // namespace fxconnect::runtime
