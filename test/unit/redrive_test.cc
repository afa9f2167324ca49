// `dlq redrive --since`: what it accepts, as which instant, and what it refuses.
#include <gtest/gtest.h>

#include "runtime/redrive.h"

namespace fxconnect::runtime {
namespace {

using std::chrono::system_clock;

system_clock::time_point utc(int y, int mo, int d, int h, int mi, int s) {
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  return system_clock::from_time_t(timegm(&tm));
}

TEST(RedriveSince, TakesAnRfc3339TimeInUtcOrWithAnOffset) {
  const auto now = system_clock::now();
  EXPECT_EQ(parse_since("2026-11-30T08:00:00Z", now), utc(2026, 11, 30, 8, 0, 0));
  EXPECT_EQ(parse_since("2026-11-30T10:00:00+02:00", now), utc(2026, 11, 30, 8, 0, 0));
  EXPECT_EQ(parse_since("2026-11-30T05:30:00-02:30", now), utc(2026, 11, 30, 8, 0, 0));
  EXPECT_EQ(parse_since("2026-11-30T08:00:00.250Z", now), utc(2026, 11, 30, 8, 0, 0) + std::chrono::milliseconds(250));
}

TEST(RedriveSince, TakesADurationBackFromNow) {
  const auto now = system_clock::now();
  EXPECT_EQ(parse_since("2h", now), now - std::chrono::hours(2));
  EXPECT_EQ(parse_since("30m", now), now - std::chrono::minutes(30));
}

TEST(RedriveSince, RefusesWhatIsNeither) {
  const auto now = system_clock::now();
  for (const char* bad :
       {"", "yesterday", "2026-11-30", "2026-11-30 08:00:00Z", "2026-11-30T08:00:00", "2026-13-30T08:00:00Z",
        "2026-11-30T25:00:00Z", "2026-11-30T08:00:00+2", "2999-01-01T00:00:00Z", "2026-11-30T08:00:00.Z", "2h30m"})
    EXPECT_FALSE(parse_since(bad, now).has_value()) << bad;
}

}  // namespace
}  // namespace fxconnect::runtime
