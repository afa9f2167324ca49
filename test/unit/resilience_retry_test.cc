#include "systems/resilience/retry.h"

#include <gtest/gtest.h>

namespace fxconnect::systems {
namespace {

using std::chrono::milliseconds;
using Kind = AttemptFailure::Kind;

const Clock::time_point kNow{std::chrono::hours(1)};
const Clock::time_point kFarDeadline = kNow + std::chrono::hours(24);
// 2015-10-21 07:28:00 UTC, the RFC's example date.
const std::chrono::system_clock::time_point kWallNow =
    std::chrono::sys_days{std::chrono::year(2015) / 10 / 21} + std::chrono::hours(7) + std::chrono::minutes(28);

AttemptFailure status(int code, std::optional<std::string> retry_after = std::nullopt) {
  return {.kind = Kind::status, .status = code, .retry_after = std::move(retry_after)};
}

// next_wait with a far deadline and a fixed seed: whether the failure is retried at all.
std::optional<milliseconds> wait_after(const RetryPolicy& policy, int attempt, const AttemptFailure& failure,
                                       bool idempotent = true) {
  std::mt19937_64 random(42);
  return policy.next_wait(attempt, failure, idempotent, kNow, kFarDeadline, milliseconds(0), random, kWallNow);
}

TEST(RetryPolicy, BackoffIsFullJitterUnderTheCappedExponentialBound) {
  RetryPolicy policy({.attempts = 10, .backoff = milliseconds(100), .max_backoff = milliseconds(2'000)});
  std::mt19937_64 random(7);
  for (int attempt = 1; attempt <= 8; ++attempt) {
    const milliseconds bound = std::min(milliseconds(2'000), milliseconds(100) * (1 << (attempt - 1)));
    milliseconds lowest = milliseconds::max();
    milliseconds highest = milliseconds::min();
    for (int draw = 0; draw < 2'000; ++draw) {
      auto wait = policy.next_wait(attempt, {.kind = Kind::connect}, true, kNow, kFarDeadline, milliseconds(0), random,
                                   kWallNow);
      ASSERT_TRUE(wait.has_value());
      lowest = std::min(lowest, *wait);
      highest = std::max(highest, *wait);
    }
    EXPECT_LE(highest, bound) << "attempt " << attempt;
    EXPECT_GE(highest, bound * 9 / 10) << "attempt " << attempt << ": the whole range is used";
    EXPECT_LE(lowest, bound / 10) << "attempt " << attempt << ": full jitter reaches down to 0";
    EXPECT_GE(lowest, milliseconds(0));
  }
}

TEST(RetryPolicy, TheSameSeedGivesTheSameWaits) {
  RetryPolicy policy({});
  std::mt19937_64 a(123);
  std::mt19937_64 b(123);
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(policy.next_wait(2, {.kind = Kind::timeout}, true, kNow, kFarDeadline, milliseconds(0), a, kWallNow),
              policy.next_wait(2, {.kind = Kind::timeout}, true, kNow, kFarDeadline, milliseconds(0), b, kWallNow));
  }
}

TEST(RetryPolicy, AHugeAttemptNumberStaysAtTheCap) {
  RetryPolicy policy({.attempts = 1'000, .backoff = milliseconds(100), .max_backoff = milliseconds(2'000)});
  std::mt19937_64 random(1);
  for (int i = 0; i < 200; ++i) {
    auto wait =
        policy.next_wait(999, {.kind = Kind::connect}, true, kNow, kFarDeadline, milliseconds(0), random, kWallNow);
    ASSERT_TRUE(wait.has_value());
    EXPECT_LE(*wait, milliseconds(2'000));
  }
}

TEST(RetryPolicy, StopsWhenTheAttemptsAreUsedUp) {
  RetryPolicy three({.attempts = 3});
  EXPECT_TRUE(wait_after(three, 1, {.kind = Kind::connect}).has_value());
  EXPECT_TRUE(wait_after(three, 2, {.kind = Kind::connect}).has_value());
  EXPECT_FALSE(wait_after(three, 3, {.kind = Kind::connect}).has_value()) << "three attempts in all";
  RetryPolicy one({.attempts = 1});
  EXPECT_FALSE(wait_after(one, 1, {.kind = Kind::connect}).has_value()) << "1 means no retry";
}

TEST(RetryPolicy, RetriesOnlyTheListedConditions) {
  RetryPolicy defaults({});  // connect, timeout, 429, 502, 503, 504
  EXPECT_TRUE(wait_after(defaults, 1, {.kind = Kind::connect}).has_value());
  EXPECT_TRUE(wait_after(defaults, 1, {.kind = Kind::timeout}).has_value());
  EXPECT_TRUE(wait_after(defaults, 1, status(503)).has_value());
  EXPECT_TRUE(wait_after(defaults, 1, status(429)).has_value());
  EXPECT_FALSE(wait_after(defaults, 1, {.kind = Kind::broken}).has_value());
  EXPECT_FALSE(wait_after(defaults, 1, status(500)).has_value());
  EXPECT_FALSE(wait_after(defaults, 1, status(404)).has_value());

  RetryPolicy custom({.on = {"broken", "500"}});
  EXPECT_TRUE(wait_after(custom, 1, {.kind = Kind::broken}).has_value());
  EXPECT_TRUE(wait_after(custom, 1, status(500)).has_value());
  EXPECT_FALSE(wait_after(custom, 1, {.kind = Kind::connect}).has_value());
  EXPECT_FALSE(wait_after(custom, 1, status(503)).has_value());
}

TEST(RetryPolicy, NeverRetriesAFailedCertificateVerification) {
  RetryPolicy policy({.on = {"connect", "timeout", "broken", "tls"}, .retry_non_idempotent = true});
  EXPECT_FALSE(wait_after(policy, 1, {.kind = Kind::tls}).has_value());
}

TEST(RetryPolicy, RetriesANonIdempotentMethodOnlyWhenNothingWasSent) {
  RetryPolicy policy({.on = {"connect", "timeout", "broken", "503"}});
  EXPECT_TRUE(wait_after(policy, 1, {.kind = Kind::connect}, false).has_value());
  EXPECT_FALSE(wait_after(policy, 1, {.kind = Kind::timeout}, false).has_value());
  EXPECT_FALSE(wait_after(policy, 1, {.kind = Kind::broken}, false).has_value());
  EXPECT_FALSE(wait_after(policy, 1, status(503), false).has_value());

  RetryPolicy anyway({.on = {"connect", "timeout", "broken", "503"}, .retry_non_idempotent = true});
  EXPECT_TRUE(wait_after(anyway, 1, {.kind = Kind::timeout}, false).has_value());
  EXPECT_TRUE(wait_after(anyway, 1, status(503), false).has_value());
}

TEST(RetryPolicy, HonoursARetryAfterLongerThanTheBackoffEvenAboveTheCap) {
  RetryPolicy policy({.backoff = milliseconds(100), .max_backoff = milliseconds(2'000)});
  EXPECT_EQ(wait_after(policy, 1, status(503, "3")), milliseconds(3'000));
  EXPECT_EQ(wait_after(policy, 1, status(429, "30")), milliseconds(30'000)) << "max_backoff caps the backoff only";
  EXPECT_EQ(wait_after(policy, 1, status(503, "Wed, 21 Oct 2015 07:28:10 GMT")), milliseconds(10'000));
}

TEST(RetryPolicy, KeepsTheBackoffWhenRetryAfterIsShorterOrMalformed) {
  RetryPolicy policy({.backoff = milliseconds(1'000), .max_backoff = milliseconds(2'000)});
  const auto plain = wait_after(policy, 2, status(503));  // same seed: the same draw
  ASSERT_TRUE(plain.has_value());
  ASSERT_GT(*plain, milliseconds(0)) << "seed 42 draws a non-zero wait (the test needs one)";
  EXPECT_EQ(wait_after(policy, 2, status(503, "0")), plain);
  EXPECT_EQ(wait_after(policy, 2, status(503, "Wed, 21 Oct 2015 07:27:00 GMT")), plain) << "a past date is 0";
  EXPECT_EQ(wait_after(policy, 2, status(503, "soon")), plain);
  EXPECT_EQ(wait_after(policy, 2, status(503, "-5")), plain);
}

TEST(RetryPolicy, DoesNotRetryWhenTheWaitAndAnAttemptWouldPassTheDeadline) {
  RetryPolicy policy({});
  std::mt19937_64 random(1);
  const auto failure = status(503, "2");  // a wait of exactly 2 s
  const auto deadline = kNow + milliseconds(2'500);
  EXPECT_EQ(policy.next_wait(1, failure, true, kNow, deadline, milliseconds(500), random, kWallNow),
            milliseconds(2'000))
      << "now + wait + min_attempt == deadline still fits";
  EXPECT_FALSE(policy.next_wait(1, failure, true, kNow, deadline, milliseconds(501), random, kWallNow).has_value());
  EXPECT_FALSE(policy
                   .next_wait(1, failure, true, kNow, kNow + std::chrono::microseconds(2'499'999), milliseconds(500),
                              random, kWallNow)
                   .has_value())
      << "a deadline short by a microsecond";
  EXPECT_FALSE(
      policy
          .next_wait(1, {.kind = Kind::connect}, true, kNow, kNow - milliseconds(1), milliseconds(0), random, kWallNow)
          .has_value())
      << "a deadline already passed";
}

TEST(RetryAfter, ReadsDeltaSeconds) {
  EXPECT_EQ(parse_retry_after("120", kWallNow), milliseconds(120'000));
  EXPECT_EQ(parse_retry_after("0", kWallNow), milliseconds(0));
  EXPECT_EQ(parse_retry_after(" 5\t", kWallNow), milliseconds(5'000)) << "surrounding whitespace";
  EXPECT_EQ(parse_retry_after("99999999999999999999999", kWallNow), max_retry_after) << "saturates";
}

TEST(RetryAfter, ReadsAnImfFixdateRelativeToTheWallClock) {
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:29:30 GMT", kWallNow), milliseconds(90'000));
  EXPECT_EQ(parse_retry_after("Thu, 22 Oct 2015 07:28:00 GMT", kWallNow), milliseconds(86'400'000));
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:28:01 GMT", kWallNow - std::chrono::microseconds(1'500)),
            milliseconds(1'002))
      << "rounded up, never early";
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:27:59 GMT", kWallNow), milliseconds(0)) << "past";
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", kWallNow), milliseconds(0)) << "past";
}

TEST(RetryAfter, ReadsTheObsoleteDateFormatsTheRfcRequiresRecipientsToAccept) {
  EXPECT_EQ(parse_retry_after("Wednesday, 21-Oct-15 07:28:05 GMT", kWallNow), milliseconds(5'000));
  EXPECT_EQ(parse_retry_after("Wed Oct 21 07:28:05 2015", kWallNow), milliseconds(5'000));
  const auto nov_1 = std::chrono::sys_days{std::chrono::year(2015) / 11 / 1};
  EXPECT_EQ(parse_retry_after("Mon Nov  2 00:00:00 2015", nov_1), milliseconds(86'400'000)) << "one-digit day";
  EXPECT_EQ(parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", kWallNow), milliseconds(0))
      << "'94 is 1994: 2094 would be more than 50 years ahead";
  EXPECT_GT(*parse_retry_after("Sunday, 01-Jan-40 00:00:00 GMT", kWallNow), milliseconds(0)) << "'40 is 2040";
}

TEST(RetryAfter, RefusesWhatIsMalformed) {
  for (const char* bad : {"",
                          " ",
                          "abc",
                          "-5",
                          "+5",
                          "1.5",
                          "5s",
                          "5 5",
                          "Wed, 21 Oct 2015 07:28:00 UTC",
                          "Wed, 21 Oct 2015 07:28:00 gmt",
                          "wed, 21 Oct 2015 07:28:00 GMT",
                          "Wed, 21 oct 2015 07:28:00 GMT",
                          "Wed, 21 Oct 15 07:28:00 GMT",
                          "Wed,21 Oct 2015 07:28:00 GMT",
                          "Wed, 1 Oct 2015 07:28:00 GMT",
                          "Wed, 31 Feb 2015 07:28:00 GMT",
                          "Wed, 21 Oct 2015 24:00:00 GMT",
                          "Wed, 21 Oct 2015 07:60:00 GMT",
                          "Wed, 21 Oct 2015 07:28:00 GMT x",
                          "Wed, 21 Oct 2015 7:28:00 GMT",
                          "Wednesday, 21 Oct 2015 07:28:00 GMT",
                          "Wed Oct 21 07:28:00 15"}) {
    EXPECT_FALSE(parse_retry_after(bad, kWallNow).has_value()) << "'" << bad << "'";
  }
}

TEST(IdempotentMethod, FollowsRfc9110AndIsCaseSensitive) {
  for (const char* yes : {"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})
    EXPECT_TRUE(idempotent_method(yes)) << yes;
  for (const char* no : {"POST", "PATCH", "CONNECT", "get", "Put", "", "GET "})
    EXPECT_FALSE(idempotent_method(no)) << no;
}

TEST(RetryConditions, AcceptsTheKnownConditionsAndStatuses) {
  EXPECT_EQ(check_retry_conditions({"connect", "timeout", "broken", "429", "503", "100", "599"}), std::nullopt);
  EXPECT_EQ(check_retry_conditions({}), std::nullopt) << "no condition: never retried";
}

TEST(RetryConditions, NamesTheFirstBadEntryAndWhatIsValid) {
  auto problem = check_retry_conditions({"connect", "abc", "xyz"});
  ASSERT_TRUE(problem.has_value());
  EXPECT_NE(problem->find("'abc'"), std::string::npos) << *problem;
  EXPECT_EQ(problem->find("xyz"), std::string::npos) << *problem;
  EXPECT_NE(problem->find("expected connect, timeout, broken or an HTTP status"), std::string::npos) << *problem;

  auto tls = check_retry_conditions({"tls"});
  ASSERT_TRUE(tls.has_value());
  EXPECT_NE(tls->find("certificate"), std::string::npos) << *tls;

  for (const char* bad : {"600", "099", "99", "0503", "5xx", "Connect", " 503", ""}) {
    EXPECT_TRUE(check_retry_conditions({bad}).has_value()) << "'" << bad << "'";
  }
}

}  // namespace
}  // namespace fxconnect::systems
