#include "runtime/key_lanes.h"

#include <gtest/gtest.h>

namespace fxconnect::runtime {
namespace {

TEST(KeyLanes, DifferentKeysRunConcurrently) {
  KeyLanes lanes;
  EXPECT_TRUE(lanes.enter("a", 1));
  EXPECT_TRUE(lanes.enter("b", 2));
  EXPECT_TRUE(lanes.enter("c", 3));
  EXPECT_EQ(lanes.lanes(), 3u);
  EXPECT_EQ(lanes.waiting(), 0u);
}

TEST(KeyLanes, SameKeyRunsInArrivalOrder) {
  KeyLanes lanes;
  EXPECT_TRUE(lanes.enter("a", 1));
  EXPECT_FALSE(lanes.enter("a", 2));
  EXPECT_FALSE(lanes.enter("a", 3));
  EXPECT_EQ(lanes.waiting(), 2u);
  EXPECT_EQ(lanes.leave("a"), 2u);
  EXPECT_EQ(lanes.leave("a"), 3u);
  EXPECT_EQ(lanes.leave("a"), std::nullopt);
  EXPECT_EQ(lanes.lanes(), 0u) << "an idle lane is forgotten";
  EXPECT_TRUE(lanes.enter("a", 4)) << "and a new message starts at once";
}

TEST(KeyLanes, RemovingAWaitingMessageKeepsTheOrderOfTheRest) {
  KeyLanes lanes;
  lanes.enter("a", 1);
  lanes.enter("a", 2);
  lanes.enter("a", 3);
  EXPECT_FALSE(lanes.remove_waiting("a", 1)) << "the running message is not waiting";
  EXPECT_TRUE(lanes.remove_waiting("a", 2));
  EXPECT_FALSE(lanes.remove_waiting("a", 2));
  EXPECT_EQ(lanes.waiting(), 1u);
  EXPECT_EQ(lanes.leave("a"), 3u);
  EXPECT_FALSE(lanes.remove_waiting("zzz", 9));
}

TEST(KeyLanes, ALaneKeepsItsOrderWhileMessagesComeAndGo) {
  KeyLanes lanes;
  EXPECT_TRUE(lanes.enter("a", 1));
  EXPECT_FALSE(lanes.enter("a", 2));
  EXPECT_FALSE(lanes.enter("a", 3));
  EXPECT_EQ(lanes.leave("a"), 2u);
  EXPECT_FALSE(lanes.enter("a", 4));
  EXPECT_TRUE(lanes.remove_waiting("a", 3));
  EXPECT_FALSE(lanes.remove_waiting("a", 2)) << "2 runs now";
  EXPECT_EQ(lanes.waiting(), 1u);
  EXPECT_EQ(lanes.leave("a"), 4u);
  EXPECT_FALSE(lanes.enter("a", 5));
  EXPECT_TRUE(lanes.remove_waiting("a", 5));
  EXPECT_EQ(lanes.waiting(), 0u);
  EXPECT_EQ(lanes.leave("a"), std::nullopt);
  EXPECT_EQ(lanes.lanes(), 0u);
}

}  // namespace
}  // namespace fxconnect::runtime
