#include "systems/resilience/balancer.h"

#include <gtest/gtest.h>

namespace fxconnect::systems {
namespace {

using Mode = Balancer::Mode;
using std::chrono::milliseconds;
using std::chrono::seconds;

const Balancer::Clock::time_point kNow{std::chrono::hours(1)};

Balancer three(Mode mode) { return Balancer({"http://a", "http://b", "http://c"}, mode, seconds(5)); }

std::vector<std::size_t> picks(Balancer& balancer, int n, Balancer::Clock::time_point at = kNow) {
  std::vector<std::size_t> out;
  for (int i = 0; i < n; ++i) out.push_back(balancer.pick(at));
  return out;
}

TEST(Balancer, RoundRobinCyclesThroughTheEndpoints) {
  Balancer balancer = three(Mode::round_robin);
  EXPECT_EQ(picks(balancer, 7), (std::vector<std::size_t>{0, 1, 2, 0, 1, 2, 0}));
  EXPECT_EQ(balancer.endpoint(1), "http://b");
  EXPECT_EQ(balancer.size(), 3u);
}

TEST(Balancer, RoundRobinSkipsAnEndpointSetAsideUntilItsTimeIsUp) {
  Balancer balancer = three(Mode::round_robin);
  balancer.failed(1, kNow);
  EXPECT_EQ(picks(balancer, 4), (std::vector<std::size_t>{0, 2, 0, 2}));
  EXPECT_EQ(picks(balancer, 3, kNow + seconds(5)), (std::vector<std::size_t>{0, 1, 2})) << "back after down_for";
}

TEST(Balancer, AnAnswerClearsTheMark) {
  Balancer balancer = three(Mode::round_robin);
  balancer.failed(1, kNow);
  balancer.succeeded(1);
  EXPECT_EQ(picks(balancer, 3), (std::vector<std::size_t>{0, 1, 2}));
}

TEST(Balancer, FailoverUsesTheFirstUsableEndpoint) {
  Balancer balancer = three(Mode::failover);
  EXPECT_EQ(picks(balancer, 3), (std::vector<std::size_t>{0, 0, 0}));
  balancer.failed(0, kNow);
  EXPECT_EQ(picks(balancer, 2), (std::vector<std::size_t>{1, 1}));
  balancer.failed(1, kNow + seconds(1));
  EXPECT_EQ(balancer.pick(kNow + seconds(1)), 2u);
  EXPECT_EQ(balancer.pick(kNow + seconds(5)), 0u) << "the first is back";
  balancer.failed(0, kNow + seconds(5));
  EXPECT_EQ(balancer.pick(kNow + seconds(6)), 1u) << "then the second";
}

TEST(Balancer, WhenAllAreDownTriesTheOneBackSoonest) {
  for (Mode mode : {Mode::round_robin, Mode::failover}) {
    Balancer balancer = three(mode);
    balancer.failed(0, kNow + milliseconds(2));
    balancer.failed(1, kNow);
    balancer.failed(2, kNow + milliseconds(1));
    const auto at = kNow + milliseconds(3);
    EXPECT_TRUE(balancer.all_down(at));
    EXPECT_EQ(balancer.pick(at), 1u) << "the least recently failed";
    EXPECT_FALSE(balancer.all_down(kNow + seconds(5))) << "1 is back";
  }
}

TEST(Balancer, AvoidsTheEndpointThePreviousAttemptFailedOnWhenAnotherIsUsable) {
  Balancer failover = three(Mode::failover);
  EXPECT_EQ(failover.pick(kNow, 0), 1u);
  failover.failed(1, kNow);
  EXPECT_EQ(failover.pick(kNow, 0), 2u);
  failover.failed(2, kNow);
  EXPECT_EQ(failover.pick(kNow, 0), 0u) << "the only usable one";

  Balancer round_robin = three(Mode::round_robin);
  EXPECT_EQ(round_robin.pick(kNow), 0u);
  EXPECT_EQ(round_robin.pick(kNow, 1), 2u) << "1 would be next";
  EXPECT_EQ(round_robin.pick(kNow), 0u);

  Balancer single({"http://only"}, Mode::round_robin);
  EXPECT_EQ(single.pick(kNow, 0), 0u);
}

TEST(Balancer, WhenAllAreDownStillAvoidsThePreviousEndpoint) {
  Balancer balancer = three(Mode::failover);
  balancer.failed(0, kNow);
  balancer.failed(1, kNow + milliseconds(1));
  balancer.failed(2, kNow + milliseconds(2));
  EXPECT_EQ(balancer.pick(kNow + milliseconds(3), 0), 1u) << "0 is back soonest, but the call just failed there";
}

}  // namespace
}  // namespace fxconnect::systems
