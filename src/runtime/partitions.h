// The partitions this member serves, one record per assignment: which requests of each are in
// flight (its offset tracker), what is stored for commit, and, once revoked, how long it may
// drain before it is released. Pure logic: the runtime turns its answers into consumer calls.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "kafka/offset_tracker.h"
#include "kafka/ports.h"

namespace fxconnect::runtime {

using kafka::TopicPartition;
using PartitionClock = std::chrono::steady_clock;

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
  std::optional<std::uint64_t> admit(const TopicPartition& tp, std::int64_t offset);
  // A request's outcome is written. True when its partition's committable offset moved.
  bool completed(const TopicPartition& tp, std::uint64_t generation, std::int64_t offset);

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
  std::map<TopicPartition, Record> records_;
  std::uint64_t next_generation_ = 1;
  std::optional<PartitionClock::time_point> grace_end_;  // of the revoke being drained
};

}  // namespace fxconnect::runtime
