// /metrics and /health on a real connector: counters match what was sent, the page passes
// `promtool check metrics`, and readiness follows a handler stuck past its deadline.
#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include <gmock/gmock.h>

#include "connector_fixture.h"
#include "http_get.h"

namespace fxconnect::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::HasSubstr;

double metric(const std::string& page, const std::string& series) {
  std::smatch m;
  std::regex re("(^|\n)" + std::regex_replace(series, std::regex(R"([{}"\[\]().*+?^$|\\])"), R"(\$&)") +
                " ([0-9.e+-]+)");
  if (!std::regex_search(page, m, re)) return -1;
  return std::stod(m[2]);
}

TEST_F(ConnectorTest, MetricsCountWhatWasSentAndReadinessFollowsAStuckHandler) {
  kafka_->create_topic(in_, 2);
  kafka_->create_topic(out_, 2);
  auto yaml = config("  name: scripted\n", "  deadline: 1s\n") + "observability:\n  http:\n    listen: 127.0.0.1:0\n";
  auto connector = start_connector(yaml);
  std::smatch m;
  auto log = connector->log();
  ASSERT_TRUE(std::regex_search(log, m, std::regex(R"(metrics and health on http://([0-9.]+:[0-9]+))"))) << log;
  std::string address = m[1];

  EXPECT_EQ(http_get(address, "/health/live").status, 200);
  EXPECT_EQ(http_get(address, "/health/ready").status, 200);
  EXPECT_EQ(http_get(address, "/nope").status, 404);

  std::vector<core::OutgoingRecord> requests;
  for (int i = 0; i < 50; ++i)
    requests.push_back({in_, "k" + std::to_string(i), {{"processInstanceUuid", "k" + std::to_string(i)}}, "{}"});
  requests.push_back({in_, "bad1", {{"processInstanceUuid", "bad1"}}, "not json"});
  requests.push_back({in_, "bad2", {{"processInstanceUuid", "bad2"}}, ""});
  kafka_->produce(requests);
  TopicReader replies(bootstrap_, out_);
  ASSERT_TRUE(replies.wait_for(52, seconds(30)));

  auto page = http_get(address, "/metrics");
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(metric(page.body, "fxconnect_requests_consumed_total"), 52);
  EXPECT_EQ(metric(page.body, R"(fxconnect_replies_total{outcome="ok"})"), 50);
  EXPECT_EQ(metric(page.body, R"(fxconnect_replies_total{outcome="error"})"), 2);
  EXPECT_EQ(metric(page.body, "fxconnect_in_flight"), 0);
  EXPECT_EQ(metric(page.body, "fxconnect_end_to_end_duration_seconds_count"), 52);
  EXPECT_EQ(metric(page.body, "fxconnect_handler_duration_seconds_count"), 50) << "bad bodies never reach the handler";
  EXPECT_GE(metric(page.body, "fxconnect_rebalances_total"), 1);
  // The page passes Prometheus' own linter.
  auto path = write_temp_file(name_ + ".metrics.txt", page.body);
  std::string cmd = "promtool check metrics < " + path + " > " + path + ".promtool 2>&1";
  int rc = std::system(cmd.c_str());
  std::ifstream promtool_out(path + ".promtool");
  std::stringstream promtool_text;
  promtool_text << promtool_out.rdbuf();
  EXPECT_EQ(rc, 0) << "promtool check metrics: " << promtool_text.str() << "\n" << page.body;

  // A handler stuck past its deadline: answered deadline_exceeded at 1 s, still running until 3 s.
  kafka_->produce({{in_, "slow", {{"processInstanceUuid", "slow"}}, R"({"sleep_ms": 3000})"}});
  ASSERT_TRUE(replies.wait_for(53, seconds(10)));  // the deadline_exceeded error reply
  auto not_ready = http_get(address, "/health/ready");
  EXPECT_EQ(not_ready.status, 503) << not_ready.body;
  EXPECT_THAT(not_ready.body, HasSubstr("past processing.deadline"));
  auto end = std::chrono::steady_clock::now() + seconds(10);
  while (http_get(address, "/health/ready").status != 200 && std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(milliseconds(100));
  }
  EXPECT_EQ(http_get(address, "/health/ready").status, 200) << "ready again once the handler finished";

  connector->signal(SIGTERM);
  EXPECT_EQ(connector->wait(seconds(60)), 0);
}

}  // namespace
}  // namespace fxconnect::testing
