#include "kafka/offset_tracker.h"

#include <gtest/gtest.h>

namespace fxconnect::kafka {
namespace {

TEST(OffsetTracker, NothingToCommitBeforeTheFirstMessage) {
  OffsetTracker t;
  EXPECT_FALSE(t.committable().has_value());
  EXPECT_EQ(t.pending(), 0u);
}

TEST(OffsetTracker, CommitsNothingPastAnUnfinishedMessage) {
  OffsetTracker t;
  for (int o = 10; o < 15; ++o) ASSERT_TRUE(t.add(o));
  EXPECT_EQ(t.committable(), 10);
  // Completions out of order: 11..14 done, 10 still running.
  for (int o : {14, 12, 11, 13}) ASSERT_TRUE(t.complete(o));
  EXPECT_EQ(t.committable(), 10) << "offset 10 has no outcome yet";
  EXPECT_EQ(t.pending(), 1u);
  ASSERT_TRUE(t.complete(10));
  EXPECT_EQ(t.committable(), 15) << "all done: commit one past the last";
  EXPECT_EQ(t.pending(), 0u);
}

TEST(OffsetTracker, StopsAtTheLowestHole) {
  OffsetTracker t;
  for (int o = 0; o < 6; ++o) t.add(o);
  t.complete(0);
  t.complete(1);
  t.complete(3);
  t.complete(5);
  EXPECT_EQ(t.committable(), 2);
  t.complete(2);
  EXPECT_EQ(t.committable(), 4);
}

TEST(OffsetTracker, HandlesGapsInOffsets) {
  // Compacted topics and transaction markers leave offsets that are never delivered.
  OffsetTracker t;
  t.add(3);
  t.add(7);
  t.add(20);
  t.complete(7);
  EXPECT_EQ(t.committable(), 3);
  t.complete(3);
  EXPECT_EQ(t.committable(), 20);
  t.complete(20);
  EXPECT_EQ(t.committable(), 21);
}

TEST(OffsetTracker, RefusesUnknownDuplicateAndBackwardOffsets) {
  OffsetTracker t;
  t.add(5);
  EXPECT_FALSE(t.add(5)) << "same offset twice";
  EXPECT_FALSE(t.add(4)) << "going backwards";
  EXPECT_FALSE(t.complete(6)) << "never added";
  EXPECT_TRUE(t.complete(5));
  EXPECT_FALSE(t.complete(5)) << "completed twice";
  EXPECT_EQ(t.committable(), 6);
}

TEST(OffsetTracker, LargeWindowCompletedInReverse) {
  OffsetTracker t;
  const int n = 10'000;
  for (int o = 0; o < n; ++o) t.add(o);
  for (int o = n - 1; o >= 1; --o) {
    t.complete(o);
    ASSERT_EQ(t.committable(), 0);
  }
  t.complete(0);
  EXPECT_EQ(t.committable(), n);
}

}  // namespace
}  // namespace fxconnect::kafka
