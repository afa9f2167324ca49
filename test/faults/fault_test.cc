// The `faults` tier: each scenario of issue 11 in its short form on the three-node cluster
// (scripts/test.sh starts it with Toxiproxy in front; FXC_KAFKA3_* and FXC_TOXIPROXY_URL say
// where). Every request must be answered; per key in order; no commit past an unanswered request;
// duplicates only where the guarantee allows them, and always printed.
#include <cstdio>

#include <gtest/gtest.h>

#include "harness.h"

namespace fxconnect::faults {
namespace {

class Faults : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() {
    if (auto env = ClusterEnv::from_env()) cluster_ = new Cluster(*env);
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }
  static Cluster* cluster_;
};
Cluster* Faults::cluster_ = nullptr;

TEST_P(Faults, EveryRequestIsAccountedFor) {
  if (!cluster_) GTEST_SKIP() << "FXC_KAFKA3_* / FXC_TOXIPROXY_URL unset: run through scripts/test.sh";
  const auto& name = GetParam();
  auto o = run_scenario(*cluster_, name, ScenarioOptions{});
  std::printf("[ figures  ] %s\n", o.line().c_str());
  EXPECT_GT(o.requests, 1000u);
  EXPECT_EQ(o.undelivered, 0u) << "the load generator could not deliver some requests";
  EXPECT_EQ(o.lost, 0u) << o.line();
  EXPECT_EQ(o.commit_violations, 0u) << o.line();
  // Not vacuous: commits were read during the run. Few while a node is down (the reads wait for
  // it; with both cores busy 14 in a leader kill), so the bar is low.
  EXPECT_GT(o.commit_snapshots, 5u) << "the committed offsets were hardly ever read: " << o.line();
  EXPECT_EQ(o.order_violations, 0u) << o.line();
  EXPECT_EQ(o.foreign_replies, 0u) << "replies without their request's headers: " << o.line();
  EXPECT_EQ(o.error_replies, 0u) << o.line();
  if (!duplicates_allowed(name)) {
    EXPECT_EQ(o.duplicates, 0u) << o.line();
  }
  EXPECT_TRUE(o.notes.empty()) << o.notes;
  if (name == "big-requests") {
    // The memory bound with 50 MB requests: the in-flight bound (max_in_flight_bytes, 64 MiB)
    // admits one request past it, which the runtime holds as its body, its parsed JSON and its
    // reply (counted twice: fxconnect's copy for retries and librdkafka's): ~4x 50 MB, plus
    // librdkafka's fetch buffer with the next one (50 MB), the prefetch bound (16 MiB) and the
    // process itself (~20 MB). Beyond ~380 MB something holds requests it should not.
    EXPECT_LE(o.peak_rss_mb, 380.0) << o.line();
  }
}

// The short form: every scenario but the 3-minute cut (scripts/chaos.sh runs that one; cut-30s
// takes the same path past a shorter session timeout).
std::vector<std::string> short_form() {
  std::vector<std::string> out;
  for (const auto& n : scenario_names()) {
    if (n != "cut-3m") out.push_back(n);
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Scenarios, Faults, ::testing::ValuesIn(short_form()), [](const auto& info) {
  std::string n = info.param;
  for (auto& c : n) c = c == '-' ? '_' : c;
  return n;
});

}  // namespace
}  // namespace fxconnect::faults
