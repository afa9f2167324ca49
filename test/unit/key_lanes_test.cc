#include "runtime/key_lanes.h"

#include <string>
#include <unordered_set>

#include <gtest/gtest.h>

namespace fxconnect::runtime {
namespace {

TEST(KeyLanes, DifferentKeysRunConcurrently) {
  KeyLanes lanes;
  const LaneId a = KeyLanes::of_key("a");
  const LaneId b = KeyLanes::of_key("b");
  const LaneId c = KeyLanes::of_key("c");
  EXPECT_TRUE(lanes.enter(a, 1));
  EXPECT_TRUE(lanes.enter(b, 2));
  EXPECT_TRUE(lanes.enter(c, 3));
  EXPECT_EQ(lanes.lanes(), 3u);
  EXPECT_EQ(lanes.waiting(), 0u);
}

TEST(KeyLanes, SameKeyRunsInArrivalOrder) {
  KeyLanes lanes;
  const LaneId a = KeyLanes::of_key("a");
  EXPECT_TRUE(lanes.enter(a, 1));
  EXPECT_FALSE(lanes.enter(a, 2));
  EXPECT_FALSE(lanes.enter(a, 3));
  EXPECT_EQ(lanes.waiting(), 2u);
  EXPECT_EQ(lanes.leave(a), 2u);
  EXPECT_EQ(lanes.leave(a), 3u);
  EXPECT_EQ(lanes.leave(a), std::nullopt);
  EXPECT_EQ(lanes.lanes(), 0u) << "an idle lane is forgotten";
  EXPECT_TRUE(lanes.enter(a, 4)) << "and a new message starts at once";
}

TEST(KeyLanes, RemovingAWaitingMessageKeepsTheOrderOfTheRest) {
  KeyLanes lanes;
  const LaneId a = KeyLanes::of_key("a");
  const LaneId zzz = KeyLanes::of_key("zzz");
  lanes.enter(a, 1);
  lanes.enter(a, 2);
  lanes.enter(a, 3);
  EXPECT_FALSE(lanes.remove_waiting(a, 1)) << "the running message is not waiting";
  EXPECT_TRUE(lanes.remove_waiting(a, 2));
  EXPECT_FALSE(lanes.remove_waiting(a, 2));
  EXPECT_EQ(lanes.waiting(), 1u);
  EXPECT_EQ(lanes.leave(a), 3u);
  EXPECT_FALSE(lanes.remove_waiting(zzz, 9));
}

TEST(KeyLanes, ALaneKeepsItsOrderWhileMessagesComeAndGo) {
  KeyLanes lanes;
  const LaneId a = KeyLanes::of_key("a");
  EXPECT_TRUE(lanes.enter(a, 1));
  EXPECT_FALSE(lanes.enter(a, 2));
  EXPECT_FALSE(lanes.enter(a, 3));
  EXPECT_EQ(lanes.leave(a), 2u);
  EXPECT_FALSE(lanes.enter(a, 4));
  EXPECT_TRUE(lanes.remove_waiting(a, 3));
  EXPECT_FALSE(lanes.remove_waiting(a, 2)) << "2 runs now";
  EXPECT_EQ(lanes.waiting(), 1u);
  EXPECT_EQ(lanes.leave(a), 4u);
  EXPECT_FALSE(lanes.enter(a, 5));
  EXPECT_TRUE(lanes.remove_waiting(a, 5));
  EXPECT_EQ(lanes.waiting(), 0u);
  EXPECT_EQ(lanes.leave(a), std::nullopt);
  EXPECT_EQ(lanes.lanes(), 0u);
}

TEST(KeyLanes, LanesAreNamedByTheirKeyOrPartition) {
  EXPECT_EQ(KeyLanes::of_key("a5f0c2d4-7d3e-4b1a-9a61-0c2f3e4d5b6a"),
            KeyLanes::of_key("a5f0c2d4-7d3e-4b1a-9a61-0c2f3e4d5b6a"));
  EXPECT_NE(KeyLanes::of_key("a5f0c2d4-7d3e-4b1a-9a61-0c2f3e4d5b6a"),
            KeyLanes::of_key("a5f0c2d4-7d3e-4b1a-9a61-0c2f3e4d5b6b"));
  EXPECT_EQ(KeyLanes::of_partition("in", 3), KeyLanes::of_partition("in", 3));
  EXPECT_NE(KeyLanes::of_partition("in", 3), KeyLanes::of_partition("in", 4));
  EXPECT_NE(KeyLanes::of_partition("in", 3), KeyLanes::of_partition("in2", 3));
  // 10,000 keys as the benchmark sends them, and 1,000 partitions of 10 topics: no two share a lane.
  std::unordered_set<LaneId> ids;
  for (int i = 0; i < 10'000; ++i) ids.insert(KeyLanes::of_key("key-" + std::to_string(i)));
  EXPECT_EQ(ids.size(), 10'000u);
  ids.clear();
  for (int t = 0; t < 10; ++t) {
    for (int p = 0; p < 100; ++p) ids.insert(KeyLanes::of_partition("topic." + std::to_string(t), p));
  }
  EXPECT_EQ(ids.size(), 1'000u);
}

TEST(KeyLanes, KeysSharingALaneKeepTheirOrder) {
  // Two keys whose hashes collide share a lane (the runtime names lanes by hash): each key's order
  // holds, they only stop running concurrently. The same lane id stands for both here.
  KeyLanes lanes;
  LaneId shared = KeyLanes::of_key("x");
  EXPECT_TRUE(lanes.enter(shared, 1));   // key A
  EXPECT_FALSE(lanes.enter(shared, 2));  // key B waits behind A
  EXPECT_FALSE(lanes.enter(shared, 3));  // key A again
  EXPECT_EQ(lanes.leave(shared), 2u);
  EXPECT_EQ(lanes.leave(shared), 3u);
  EXPECT_EQ(lanes.leave(shared), std::nullopt);
}

}  // namespace
}  // namespace fxconnect::runtime
