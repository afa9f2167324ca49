#include "systems/resilience/breaker.h"

#include <gtest/gtest.h>

#include <string>

namespace fxconnect::systems {
namespace {

using State = CircuitBreaker::State;
using std::chrono::milliseconds;

const CircuitBreaker::Clock::time_point kStart{std::chrono::hours(1)};
const BreakerSettings kFourCalls{.failure_rate = 0.5, .window = 4, .min_calls = 4, .open_for = milliseconds(10'000)};

// Records outcomes at `at`, each through allow() as a caller would: "S" success, "F" failure.
void calls(CircuitBreaker& breaker, std::string_view outcomes, CircuitBreaker::Clock::time_point at = kStart) {
  for (char c : outcomes) {
    ASSERT_TRUE(breaker.allow(at));
    breaker.record(c == 'S', at);
  }
}

// Opens a kFourCalls breaker at kStart.
CircuitBreaker opened_breaker() {
  CircuitBreaker breaker(kFourCalls);
  calls(breaker, "FFFF");
  return breaker;
}

TEST(CircuitBreaker, OpensWhenEnoughRecentCallsFail) {
  CircuitBreaker breaker(kFourCalls);
  calls(breaker, "SFS");
  EXPECT_EQ(breaker.state(kStart), State::closed);
  calls(breaker, "F");  // 2 of 4
  EXPECT_EQ(breaker.state(kStart), State::open);
  EXPECT_FALSE(breaker.allow(kStart));
  EXPECT_EQ(breaker.opened(), 1u);
}

TEST(CircuitBreaker, DoesNotOpenBeforeMinCalls) {
  CircuitBreaker breaker({.failure_rate = 0.5, .window = 10, .min_calls = 4, .open_for = milliseconds(10'000)});
  calls(breaker, "FFF");
  EXPECT_EQ(breaker.state(kStart), State::closed) << "3 failures of 3, but fewer than min_calls";
  EXPECT_TRUE(breaker.allow(kStart));
  breaker.record(false, kStart);
  EXPECT_EQ(breaker.state(kStart), State::open);
}

TEST(CircuitBreaker, MeetsAFailureRateExactly) {
  // 7 of 25 is 0.28, though 0.28 * 25 is 7.000000000000001 in doubles.
  CircuitBreaker breaker({.failure_rate = 0.28, .window = 25, .min_calls = 25, .open_for = milliseconds(10'000)});
  calls(breaker, std::string(18, 'S') + "FFFFFF");
  EXPECT_EQ(breaker.state(kStart), State::closed);
  calls(breaker, "F");
  EXPECT_EQ(breaker.state(kStart), State::open);
}

TEST(CircuitBreaker, CountsOnlyTheCallsInTheWindow) {
  CircuitBreaker breaker({.failure_rate = 0.75, .window = 4, .min_calls = 4, .open_for = milliseconds(10'000)});
  calls(breaker, "FFSS");  // 2 of 4
  calls(breaker, "SSSS");  // the failures leave the window
  calls(breaker, "FF");    // S S F F: 2 of 4
  EXPECT_EQ(breaker.state(kStart), State::closed);
  calls(breaker, "F");  // S F F F: 3 of 4, though only 5 of 11 calls ever failed
  EXPECT_EQ(breaker.state(kStart), State::open);
}

TEST(CircuitBreaker, RefusesWhileOpenThenLetsOneProbeThrough) {
  CircuitBreaker breaker = opened_breaker();
  EXPECT_FALSE(breaker.allow(kStart + milliseconds(9'999)));
  EXPECT_EQ(breaker.state(kStart + milliseconds(9'999)), State::open);
  EXPECT_EQ(breaker.state(kStart + milliseconds(10'000)), State::half_open);
  EXPECT_TRUE(breaker.allow(kStart + milliseconds(10'000))) << "the probe";
  EXPECT_FALSE(breaker.allow(kStart + milliseconds(10'001))) << "one probe at a time";
  EXPECT_FALSE(breaker.allow(kStart + milliseconds(20'000)));
}

TEST(CircuitBreaker, ASuccessfulProbeClosesWithACleanWindow) {
  CircuitBreaker breaker = opened_breaker();
  const auto later = kStart + milliseconds(10'000);
  ASSERT_TRUE(breaker.allow(later));
  breaker.record(true, later);
  EXPECT_EQ(breaker.state(later), State::closed);
  calls(breaker, "FFF", later);
  EXPECT_EQ(breaker.state(later), State::closed) << "the failures from before are gone: 3 calls < min_calls";
  calls(breaker, "F", later);
  EXPECT_EQ(breaker.state(later), State::open);
  EXPECT_EQ(breaker.opened(), 2u);
}

TEST(CircuitBreaker, AFailedProbeOpensAgainForOpenFor) {
  CircuitBreaker breaker = opened_breaker();
  const auto probe_at = kStart + milliseconds(12'000);
  ASSERT_TRUE(breaker.allow(probe_at));
  breaker.record(false, probe_at);
  EXPECT_EQ(breaker.state(probe_at), State::open);
  EXPECT_FALSE(breaker.allow(probe_at + milliseconds(9'999)));
  EXPECT_TRUE(breaker.allow(probe_at + milliseconds(10'000)));
  EXPECT_EQ(breaker.opened(), 2u);
}

TEST(CircuitBreaker, ACancelledProbeFreesTheWayForAnother) {
  CircuitBreaker breaker = opened_breaker();
  const auto later = kStart + milliseconds(10'000);
  ASSERT_TRUE(breaker.allow(later));
  ASSERT_FALSE(breaker.allow(later));
  breaker.cancelled();
  EXPECT_EQ(breaker.state(later), State::half_open);
  EXPECT_TRUE(breaker.allow(later));
  EXPECT_FALSE(breaker.allow(later));
}

TEST(CircuitBreaker, IgnoresLateOutcomesOfCallsFromBeforeItOpened) {
  CircuitBreaker breaker(kFourCalls);
  ASSERT_TRUE(breaker.allow(kStart));  // a slow call
  calls(breaker, "FFFF");
  breaker.record(true, kStart + milliseconds(1));  // the slow call ends while open
  EXPECT_EQ(breaker.state(kStart + milliseconds(1)), State::open);
  const auto later = kStart + milliseconds(10'000);
  breaker.record(false, later);  // or when open_for has passed
  EXPECT_EQ(breaker.state(later), State::half_open);
  ASSERT_TRUE(breaker.allow(later));
  breaker.cancelled();
  breaker.record(true, later);  // or half-open with no probe out
  EXPECT_EQ(breaker.state(later), State::half_open);
  EXPECT_TRUE(breaker.allow(later)) << "the probe is still to come";
}

TEST(CircuitBreaker, WhenDisabledAlwaysAllows) {
  CircuitBreaker breaker({.failure_rate = 0.5, .window = 4, .min_calls = 1, .enabled = false});
  calls(breaker, "FFFFFFFF");
  EXPECT_TRUE(breaker.allow(kStart));
  EXPECT_EQ(breaker.state(kStart), State::closed);
  EXPECT_EQ(breaker.opened(), 0u);
}

TEST(CircuitBreaker, NamesItsStatesAndGivesTheirMetricValues) {
  EXPECT_EQ(CircuitBreaker::metric_value(State::closed), 0);
  EXPECT_EQ(CircuitBreaker::metric_value(State::open), 1);
  EXPECT_EQ(CircuitBreaker::metric_value(State::half_open), 2);
  EXPECT_EQ(CircuitBreaker::name(State::closed), "closed");
  EXPECT_EQ(CircuitBreaker::name(State::open), "open");
  EXPECT_EQ(CircuitBreaker::name(State::half_open), "half_open");
}

TEST(BreakerSettings, RefusesSettingsThatCannotWork) {
  EXPECT_EQ(check_breaker_settings({}), std::nullopt);
  auto never = check_breaker_settings({.window = 5, .min_calls = 6});
  ASSERT_TRUE(never.has_value());
  EXPECT_NE(never->find("never open"), std::string::npos) << *never;
  EXPECT_TRUE(check_breaker_settings({.failure_rate = 0}).has_value());
  EXPECT_TRUE(check_breaker_settings({.failure_rate = 1.5}).has_value());
  EXPECT_TRUE(check_breaker_settings({.window = 0, .min_calls = 0}).has_value());
  EXPECT_TRUE(check_breaker_settings({.open_for = milliseconds(0)}).has_value());
  EXPECT_EQ(check_breaker_settings({.failure_rate = 1, .window = 1, .min_calls = 1}), std::nullopt);
}

}  // namespace
}  // namespace fxconnect::systems
