#include "observability/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace fxconnect::observability {
namespace {

using ::testing::HasSubstr;

TEST(Metrics, HistogramBucketsAreCumulativeWithInfAndSum) {
  ConnectorMetrics m;
  for (double v : {0.0005, 0.003, 0.003, 2.0, 100.0}) m.handler_seconds.observe(v);
  auto page = m.render();
  EXPECT_THAT(page, HasSubstr("fxconnect_handler_duration_seconds_bucket{le=\"0.001\"} 1\n"));
  EXPECT_THAT(page, HasSubstr("fxconnect_handler_duration_seconds_bucket{le=\"0.005\"} 3\n"));
  EXPECT_THAT(page, HasSubstr("fxconnect_handler_duration_seconds_bucket{le=\"2.5\"} 4\n"));
  EXPECT_THAT(page, HasSubstr("fxconnect_handler_duration_seconds_bucket{le=\"60\"} 4\n"))
      << "100 s is above every bound";
  EXPECT_THAT(page, HasSubstr("fxconnect_handler_duration_seconds_bucket{le=\"+Inf\"} 5\n"));
  EXPECT_THAT(page, HasSubstr("fxconnect_handler_duration_seconds_count 5\n"));
}

TEST(Metrics, EveryFamilyHasHelpAndTypeAndLabelsAreEscaped) {
  ConnectorMetrics m;
  m.consumed = 7;
  m.replies = {5, 1, 1};
  m.committed_lag[{"we\"ird\\topic", 2}] = 42;
  auto page = m.render();
  EXPECT_THAT(page,
              HasSubstr("# TYPE fxconnect_requests_consumed_total counter\nfxconnect_requests_consumed_total 7\n"));
  EXPECT_THAT(page, HasSubstr("fxconnect_replies_total{outcome=\"error\"} 1\n"));
  EXPECT_THAT(page, HasSubstr("fxconnect_committed_offset_lag{topic=\"we\\\"ird\\\\topic\",partition=\"2\"} 42\n"));
  for (const char* family : {"fxconnect_in_flight", "fxconnect_paused_partitions", "fxconnect_rebalances_total",
                             "fxconnect_spans_dropped_total", "fxconnect_end_to_end_duration_seconds"}) {
    EXPECT_THAT(page, HasSubstr(std::string("# HELP ") + family + " ")) << family;
  }
}

// The stop line's counters are in /metrics too.
TEST(Metrics, RetriesGiveUpsLateAnswersAndHeldMemoryAreExported) {
  ConnectorMetrics m;
  m.produce_retries = 3;
  m.undeliverable = 2;
  m.late_completions = 4;
  m.in_flight_bytes = 12345;
  m.overdue_handlers = 1;
  auto page = m.render();
  EXPECT_THAT(page, HasSubstr("# TYPE fxconnect_produce_retries_total counter\nfxconnect_produce_retries_total 3\n"));
  EXPECT_THAT(page, HasSubstr("# TYPE fxconnect_undeliverable_total counter\nfxconnect_undeliverable_total 2\n"));
  EXPECT_THAT(page, HasSubstr("# TYPE fxconnect_late_completions_total counter\nfxconnect_late_completions_total 4\n"));
  EXPECT_THAT(page, HasSubstr("# TYPE fxconnect_in_flight_bytes gauge\nfxconnect_in_flight_bytes 12345\n"));
  EXPECT_THAT(page, HasSubstr("# TYPE fxconnect_overdue_handlers gauge\nfxconnect_overdue_handlers 1\n"));
}

// The stop line's quantiles: a quantile is its bucket's upper bound, at most 5 % above the truth.
TEST(QuantileHistogram, QuantilesAreWithinFivePercentAboveTheTrueValue) {
  QuantileHistogram h;
  EXPECT_EQ(h.quantile(0.99), 0);
  for (int ms = 1; ms <= 1000; ++ms) h.observe(ms / 1000.0);
  EXPECT_EQ(h.count(), 1000u);
  for (auto [q, truth] : {std::pair{0.5, 0.5}, {0.99, 0.99}, {0.01, 0.01}, {1.0, 1.0}}) {
    EXPECT_GE(h.quantile(q), truth * 0.999) << q;
    EXPECT_LE(h.quantile(q), truth * 1.05) << q;
  }
  QuantileHistogram edges;
  edges.observe(0);    // below the first bucket: counted there
  edges.observe(-1);   // a clock step backwards: the same
  edges.observe(1e9);  // beyond the last: counted in it
  EXPECT_EQ(edges.count(), 3u);
  EXPECT_LE(edges.quantile(0.5), 1e-5);
  EXPECT_GE(edges.quantile(1.0), 90.0);
}

}  // namespace
}  // namespace fxconnect::observability
