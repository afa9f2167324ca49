#include "runtime/partitions.h"

#include <algorithm>

namespace fxconnect::runtime {

void Partitions::assigned(const std::vector<TopicPartition>& partitions) {
  for (const auto& tp : partitions) {
    Record fresh;
    fresh.generation = next_generation_++;
    records_[tp] = std::move(fresh);
  }
}

std::size_t Partitions::revoked(const std::vector<TopicPartition>& partitions, bool lost,
                                PartitionClock::time_point grace_end) {
  std::size_t in_flight = 0;
  for (const auto& tp : partitions) {
    auto it = records_.find(tp);
    if (it == records_.end()) continue;
    if (lost) {
      records_.erase(it);
      continue;
    }
    it->second.revoking = true;
    in_flight += it->second.tracker.pending();
  }
  if (!lost && draining()) {
    // One grace for what is draining: a later revoke during a drain extends it.
    grace_end_ = grace_end_ ? std::max(*grace_end_, grace_end) : grace_end;
  }
  if (!draining()) grace_end_.reset();
  return in_flight;
}

std::optional<std::uint64_t> Partitions::admit(PartitionRef tp, std::int64_t offset) {
  auto it = records_.find(tp);
  if (it == records_.end() || it->second.revoking) return std::nullopt;
  if (!it->second.tracker.add(offset)) return std::nullopt;  // not above what was consumed: a replay
  return it->second.generation;
}

bool Partitions::completed(PartitionRef tp, std::uint64_t generation, std::int64_t offset) {
  auto it = records_.find(tp);
  if (it == records_.end() || it->second.generation != generation) return false;  // an earlier assignment's
  auto before = it->second.tracker.committable();
  it->second.tracker.complete(offset);
  return it->second.tracker.committable() != before;
}

std::vector<std::pair<TopicPartition, std::int64_t>> Partitions::to_store(const std::vector<TopicPartition>* only) {
  std::vector<std::pair<TopicPartition, std::int64_t>> out;
  for (auto& [tp, r] : records_) {
    if (only && std::find(only->begin(), only->end(), tp) == only->end()) continue;
    auto offset = r.tracker.committable();
    if (!offset || *offset <= r.stored) continue;
    out.emplace_back(tp, *offset);
    r.stored = *offset;
  }
  return out;
}

void Partitions::committed(const TopicPartition& tp, std::int64_t offset) {
  if (auto it = records_.find(tp); it != records_.end()) it->second.committed = std::max(it->second.committed, offset);
}

std::optional<Partitions::Release> Partitions::releasable(PartitionClock::time_point now) const {
  Release release;
  for (const auto& [tp, r] : records_) {
    if (!r.revoking) continue;
    release.partitions.push_back(tp);
    release.unfinished += r.tracker.pending();
  }
  if (release.partitions.empty()) return std::nullopt;
  if (release.unfinished > 0 && (!grace_end_ || now < *grace_end_)) return std::nullopt;
  return release;
}

void Partitions::forget(const std::vector<TopicPartition>& partitions) {
  for (const auto& tp : partitions) records_.erase(tp);
  if (!draining()) grace_end_.reset();
}

std::optional<PartitionClock::time_point> Partitions::next_wakeup() const { return grace_end_; }

std::vector<TopicPartition> Partitions::assigned_partitions(bool include_revoking) const {
  std::vector<TopicPartition> out;
  for (const auto& [tp, r] : records_) {
    if (include_revoking || !r.revoking) out.push_back(tp);
  }
  return out;
}

std::vector<TopicPartition> Partitions::revoking() const {
  std::vector<TopicPartition> out;
  for (const auto& [tp, r] : records_) {
    if (r.revoking) out.push_back(tp);
  }
  return out;
}

bool Partitions::draining() const {
  return std::any_of(records_.begin(), records_.end(), [](const auto& entry) { return entry.second.revoking; });
}

std::vector<std::pair<TopicPartition, std::int64_t>> Partitions::committed_offsets() const {
  std::vector<std::pair<TopicPartition, std::int64_t>> out;
  for (const auto& [tp, r] : records_) {
    if (r.committed >= 0) out.emplace_back(tp, r.committed);
  }
  return out;
}

}  // namespace fxconnect::runtime
