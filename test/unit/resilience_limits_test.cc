#include "systems/resilience/limits.h"

#include "core/duration.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace fxconnect::systems {
namespace {

using core::parse_rate;  // the config's rate syntax, what TokenBucket is built from
using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;

const LimitClock::time_point kStart{std::chrono::hours(1)};

TEST(Bulkhead, GivesSlotsUpToItsSizeThenQueues) {
  Bulkhead bulkhead(2);
  EXPECT_TRUE(bulkhead.acquire(1));
  EXPECT_TRUE(bulkhead.acquire(2));
  EXPECT_FALSE(bulkhead.acquire(3));
  EXPECT_EQ(bulkhead.in_use(), 2u);
  EXPECT_EQ(bulkhead.waiting(), 1u);
}

TEST(Bulkhead, HandsAReleasedSlotToTheWaitersInArrivalOrder) {
  Bulkhead bulkhead(1);
  ASSERT_TRUE(bulkhead.acquire(1));
  ASSERT_FALSE(bulkhead.acquire(2));
  ASSERT_FALSE(bulkhead.acquire(3));
  EXPECT_EQ(bulkhead.release(), 2u);
  EXPECT_EQ(bulkhead.in_use(), 1u) << "the slot passed to 2";
  EXPECT_FALSE(bulkhead.acquire(4)) << "a newcomer queues behind 3";
  EXPECT_EQ(bulkhead.release(), 3u);
  EXPECT_EQ(bulkhead.release(), 4u);
  EXPECT_EQ(bulkhead.release(), std::nullopt);
  EXPECT_EQ(bulkhead.in_use(), 0u);
  EXPECT_TRUE(bulkhead.acquire(5));
}

TEST(Bulkhead, AWaiterThatGivesUpLeavesTheQueue) {
  Bulkhead bulkhead(1);
  ASSERT_TRUE(bulkhead.acquire(1));
  ASSERT_FALSE(bulkhead.acquire(2));
  ASSERT_FALSE(bulkhead.acquire(3));
  EXPECT_TRUE(bulkhead.forget(2));
  EXPECT_FALSE(bulkhead.forget(2)) << "already gone";
  EXPECT_FALSE(bulkhead.forget(1)) << "running, not waiting";
  EXPECT_EQ(bulkhead.waiting(), 1u);
  EXPECT_EQ(bulkhead.release(), 3u);
  EXPECT_EQ(bulkhead.release(), std::nullopt);
}

TEST(Bulkhead, ZeroSlotsCountsAsOne) {
  Bulkhead bulkhead(0);
  EXPECT_TRUE(bulkhead.acquire(1));
  EXPECT_FALSE(bulkhead.acquire(2));
}

TEST(TokenBucket, StartsFullAndThenSaysHowLongUntilTheNextToken) {
  TokenBucket bucket(10, 5);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(bucket.take(kStart), std::nullopt) << i;
  EXPECT_EQ(bucket.take(kStart), nanoseconds(milliseconds(100)));
  EXPECT_EQ(bucket.take(kStart + milliseconds(40)), nanoseconds(milliseconds(60)));
  EXPECT_EQ(bucket.take(kStart + milliseconds(100) - nanoseconds(1)), nanoseconds(1));
  EXPECT_EQ(bucket.take(kStart + milliseconds(100)), std::nullopt);
  EXPECT_EQ(bucket.take(kStart + milliseconds(100)), nanoseconds(milliseconds(100)));
}

TEST(TokenBucket, RefillsNoFurtherThanTheBurst) {
  TokenBucket bucket(10, 3);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(bucket.take(kStart), std::nullopt);
  const auto later = kStart + std::chrono::hours(1);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(bucket.take(later), std::nullopt) << i;
  EXPECT_TRUE(bucket.take(later).has_value()) << "an idle hour is worth no more than the burst";
}

TEST(TokenBucket, TimeGoingBackwardsAddsNoTokens) {
  TokenBucket bucket(1, 1);
  ASSERT_EQ(bucket.take(kStart + seconds(10)), std::nullopt);
  EXPECT_TRUE(bucket.take(kStart).has_value());
  EXPECT_EQ(bucket.take(kStart + seconds(10)), nanoseconds(seconds(1))) << "nor does coming back";
}

// Takes as many tokens as it can in [kStart, kStart + span], asking again exactly when told to:
// the times it got one.
std::vector<LimitClock::time_point> greedy_run(TokenBucket& bucket, nanoseconds span) {
  std::vector<LimitClock::time_point> got;
  for (auto now = kStart; now <= kStart + span;) {
    if (auto wait = bucket.take(now)) {
      now += *wait;
    } else {
      got.push_back(now);
    }
  }
  return got;
}

TEST(TokenBucket, KeepsASteadyRateOverSimulatedSeconds) {
  TokenBucket exact(200, 20);
  EXPECT_EQ(greedy_run(exact, seconds(10)).size(), 20u + 200u * 10u);

  // 3 per second is not a whole number of nanoseconds per token: rounded towards fewer tokens.
  TokenBucket thirds(3, 2);
  const auto got = greedy_run(thirds, seconds(100)).size();
  EXPECT_LE(got, 2u + 300u);
  EXPECT_GE(got, 2u + 300u - 1u);

  // 1.5 per second: 666'666'667 ns per token, so the 16th comes 5 ns after the 10 s.
  auto half = parse_rate("1.5/s");
  ASSERT_TRUE(half.has_value());
  TokenBucket fractional(*half, 1);
  EXPECT_EQ(greedy_run(fractional, seconds(10)).size(), 1u + 15u - 1u);
  TokenBucket fractional_again(*half, 1);
  EXPECT_EQ(greedy_run(fractional_again, nanoseconds(seconds(10)) + nanoseconds(5)).size(), 1u + 15u);
}

TEST(TokenBucket, NeverGivesMoreThanBurstPlusRateInAnyStretch) {
  const double rate = 7;
  const double burst = 4;
  TokenBucket bucket(rate, burst);
  // A caller that asks at irregular times, sometimes before it was told to.
  std::mt19937_64 random(3);
  std::uniform_int_distribution<std::int64_t> step_us(0, 400'000);
  std::vector<LimitClock::time_point> got;
  for (auto now = kStart; now <= kStart + seconds(60); now += std::chrono::microseconds(step_us(random))) {
    while (!bucket.take(now)) got.push_back(now);
  }
  ASSERT_GT(got.size(), 300u) << "the caller asked often enough to use most of the rate";
  for (std::size_t i = 0; i < got.size(); ++i) {
    for (const milliseconds stretch : {milliseconds(0), milliseconds(500), milliseconds(1'000), milliseconds(10'000)}) {
      std::size_t in_stretch = 0;
      for (std::size_t j = i; j < got.size() && got[j] <= got[i] + stretch; ++j) ++in_stretch;
      const double allowed = burst + rate * std::chrono::duration<double>(stretch).count();
      ASSERT_LE(static_cast<double>(in_stretch), allowed) << "from token " << i << " over " << stretch.count() << " ms";
    }
  }
}

TEST(Rate, ParsesEachUnitAsCallsPerSecond) {
  EXPECT_EQ(parse_rate("200/s"), 200.0);
  EXPECT_EQ(parse_rate("10/ms"), 10'000.0);
  EXPECT_EQ(parse_rate("600/m"), 10.0);
  EXPECT_EQ(parse_rate("3600/h"), 1.0);
  EXPECT_EQ(parse_rate("1.5/s"), 1.5);
  EXPECT_EQ(parse_rate("0.5/s"), 0.5);
}

TEST(Rate, RefusesWhatIsZeroNegativeOrMalformed) {
  for (const char* bad :
       {"0/s",   "0.0/s", "-1/s", "+5/s", "abc",  "",     "10",   "/s",    "10/",   "10/d",  "10/S",         "10/sec",
        "1e3/s", ".5/s",  "5./s", " 5/s", "5 /s", "5/ s", "5/s ", "1/s/s", "inf/s", "nan/s", "2000000000/s", "1/1s"}) {
    EXPECT_FALSE(parse_rate(bad).has_value()) << "'" << bad << "'";
  }
}

}  // namespace
}  // namespace fxconnect::systems
