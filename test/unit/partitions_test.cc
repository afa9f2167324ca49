#include "runtime/partitions.h"

#include <algorithm>

#include <gtest/gtest.h>

namespace fxconnect::runtime {
namespace {

using std::chrono::seconds;
const TopicPartition kP0{"in", 0};
const TopicPartition kP1{"in", 1};

TEST(Partitions, StoresOnlyUpToTheFirstUnfinishedRequest) {
  Partitions parts;
  parts.assigned({kP0});
  auto gen = parts.admit(kP0, 10);
  ASSERT_TRUE(gen);
  parts.admit(kP0, 11);
  parts.admit(kP0, 12);
  EXPECT_FALSE(parts.completed(kP0, *gen, 11)) << "10 is still unfinished: nothing moves";
  auto first = parts.to_store();
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].second, 10) << "never past 10";
  EXPECT_TRUE(parts.completed(kP0, *gen, 10));
  auto stored = parts.to_store();
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].second, 12) << "the next offset to read: 12 is unfinished";
  EXPECT_TRUE(parts.to_store().empty()) << "stored once";
}

// Requests look their partition up by a view of their topic (PartitionRef): each view finds its
// own topic's partition, never one of a topic it is a prefix of, or another partition.
TEST(Partitions, AViewOfTheTopicFindsExactlyItsPartition) {
  Partitions parts;
  const std::vector<TopicPartition> tps{{"orders", 0}, {"orders", 1}, {"orders.v2", 0}, {"order", 0}};
  parts.assigned(tps);
  std::vector<std::uint64_t> generations;
  for (const auto& tp : tps) {
    const std::string topic = tp.first;  // a string of its own, not the key's
    auto gen = parts.admit(PartitionRef(topic, tp.second), 3);
    ASSERT_TRUE(gen) << tp.first << "/" << tp.second;
    generations.push_back(*gen);
  }
  auto distinct = generations;
  std::sort(distinct.begin(), distinct.end());
  EXPECT_EQ(std::unique(distinct.begin(), distinct.end()), distinct.end()) << "four partitions, four records";
  EXPECT_FALSE(parts.admit(PartitionRef("orders.v", 0), 4)) << "not assigned";
  EXPECT_FALSE(parts.admit(PartitionRef("orders", 2), 4)) << "not assigned";
  EXPECT_TRUE(parts.completed(PartitionRef(std::string_view("orders.v2"), 0), generations[2], 3));
  const TopicPartition finished{"orders.v2", 0};
  for (const auto& [tp, offset] : parts.to_store()) {
    EXPECT_EQ(offset, tp == finished ? 4 : 3) << tp.first << "/" << tp.second << ": only orders.v2/0 finished";
  }
}

TEST(Partitions, ACompletionFromAnEarlierAssignmentNeverTouchesTheNewOne) {
  Partitions parts;
  parts.assigned({kP0});
  auto old_gen = parts.admit(kP0, 5);
  parts.revoked({kP0}, /*lost=*/true, PartitionClock::now());
  parts.assigned({kP0});  // back, a new assignment (its next owner may have gone on meanwhile)
  auto new_gen = parts.admit(kP0, 3);
  ASSERT_TRUE(old_gen && new_gen);
  EXPECT_NE(*old_gen, *new_gen);
  EXPECT_FALSE(parts.completed(kP0, *old_gen, 5)) << "the generation guard";
  auto stored = parts.to_store();
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].second, 3) << "offset 3 is unfinished: nothing past it (not 6)";
}

TEST(Partitions, ALostPartitionIsForgottenAtOnceAndStoresNothing) {
  Partitions parts;
  parts.assigned({kP0});
  auto gen = parts.admit(kP0, 0);
  parts.revoked({kP0}, true, PartitionClock::now());
  EXPECT_FALSE(parts.completed(kP0, *gen, 0));
  EXPECT_TRUE(parts.to_store().empty());
  EXPECT_TRUE(parts.assigned_partitions(true).empty());
  EXPECT_FALSE(parts.admit(kP0, 1)) << "no longer served here";
}

TEST(Partitions, ARevokedPartitionDrainsThenIsReleased) {
  Partitions parts;
  parts.assigned({kP0, kP1});
  auto gen = parts.admit(kP0, 7);
  auto now = PartitionClock::now();
  EXPECT_EQ(parts.revoked({kP0}, false, now + seconds(20)), 1u);
  EXPECT_FALSE(parts.admit(kP0, 8)) << "a draining partition takes nothing new: its next owner reads it";
  EXPECT_FALSE(parts.releasable(now)) << "a request still in flight";
  EXPECT_EQ(parts.next_wakeup(), now + seconds(20));
  parts.completed(kP0, *gen, 7);
  auto release = parts.releasable(now);
  ASSERT_TRUE(release);
  EXPECT_EQ(release->partitions, std::vector<TopicPartition>{kP0});
  EXPECT_EQ(release->unfinished, 0u);
  auto stored = parts.to_store(&release->partitions);
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].second, 8) << "exactly past what was answered";
  parts.forget(release->partitions);
  EXPECT_EQ(parts.assigned_partitions(true), std::vector<TopicPartition>{kP1});
  EXPECT_FALSE(parts.next_wakeup());
}

TEST(Partitions, ARevokeGraceThatExpiresReleasesWithWhatIsUnfinished) {
  Partitions parts;
  parts.assigned({kP0});
  parts.admit(kP0, 0);
  auto now = PartitionClock::now();
  parts.revoked({kP0}, false, now + seconds(20));
  EXPECT_FALSE(parts.releasable(now + seconds(19)));
  auto release = parts.releasable(now + seconds(20));
  ASSERT_TRUE(release);
  EXPECT_EQ(release->unfinished, 1u);
  auto stored = parts.to_store(&release->partitions);
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].second, 0) << "nothing answered: not past the unfinished request";
}

}  // namespace
}  // namespace fxconnect::runtime
