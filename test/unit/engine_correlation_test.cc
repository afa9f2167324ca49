#include "engine/correlation.h"

#include <gtest/gtest.h>

#include "engine/report.h"

namespace fxconnect::engine {
namespace {

using Match = Correlator::Match;

TEST(EngineCorrelation, MatchesByInstanceContextAndTopic) {
  Correlator c;
  c.expect({"u1", "main", "t.out"}, 1);
  c.expect({"u1", "main:4", "t.out"}, 2);  // an embedded subprocess of the same instance
  EXPECT_EQ(c.take({"u1", "main", "other.out"}).match, Match::unmatched) << "topic differs";
  EXPECT_EQ(c.take({"u2", "main", "t.out"}).match, Match::unmatched) << "instance differs";
  auto sub = c.take({"u1", "main:4", "t.out"});
  EXPECT_EQ(sub.match, Match::matched);
  EXPECT_EQ(sub.instance, 2u);
  auto main = c.take({"u1", "main", "t.out"});
  EXPECT_EQ(main.match, Match::matched);
  EXPECT_EQ(main.instance, 1u);
  EXPECT_EQ(c.waiting(), 0u);
}

TEST(EngineCorrelation, TellsDuplicatesAndLateRepliesApart) {
  Correlator c;
  c.expect({"u1", "main", "t"}, 1);
  EXPECT_EQ(c.take({"u1", "main", "t"}).match, Match::matched);
  EXPECT_EQ(c.take({"u1", "main", "t"}).match, Match::duplicate);
  c.expect({"u2", "main", "t"}, 2);
  c.expire({"u2", "main", "t"});  // its receive node timed out
  EXPECT_EQ(c.take({"u2", "main", "t"}).match, Match::late);
  EXPECT_EQ(c.waiting(), 0u);
}

TEST(EngineCorrelation, HeadersMustComeBackUnchangedExceptTraceContext) {
  Headers sent{{"processInstanceUuid", "u"},
               {"dup", "1"},
               {"dup", "2"},
               {"traceparent", "00-a-b-01"},
               {"bin", std::string("\0\xff", 2)}};
  EXPECT_TRUE(headers_came_back(sent, sent));
  Headers rewritten = sent;
  rewritten[3].value = "00-c-d-01";
  rewritten.push_back({"x-added", "by the connector"});
  EXPECT_TRUE(headers_came_back(sent, rewritten)) << "trace context may change, headers may be added";
  Headers changed = sent;
  changed[4].value = std::string("\0\xfe", 2);
  EXPECT_FALSE(headers_came_back(sent, changed));
  Headers reordered{sent[0], sent[2], sent[1], sent[3], sent[4]};
  EXPECT_FALSE(headers_came_back(sent, reordered));
  Headers dropped{sent[0], sent[1], sent[3], sent[4]};
  EXPECT_FALSE(headers_came_back(sent, dropped)) << "a duplicate header lost";
  Headers nulled = sent;
  nulled[1].value.reset();
  EXPECT_FALSE(headers_came_back(sent, nulled));
}

TEST(EngineReport, PercentilesByNearestRank) {
  std::vector<double> samples;
  for (int i = 1; i <= 1000; ++i) samples.push_back(i);
  auto s = summarize(samples);
  EXPECT_EQ(s.count, 1000u);
  EXPECT_EQ(s.p50, 500);
  EXPECT_EQ(s.p90, 900);
  EXPECT_EQ(s.p99, 990);
  EXPECT_EQ(s.p999, 999);
  EXPECT_EQ(s.max, 1000);
  EXPECT_EQ(summarize({}).count, 0u);
}

}  // namespace
}  // namespace fxconnect::engine
