// Limits a deployment meets: requests as large as the engine sends (50 MB), and topics that are
// not there.
#include <csignal>
#include <fstream>
#include <regex>

#include <gmock/gmock.h>

#include "connector_fixture.h"

namespace fxconnect::testing {
namespace {

using std::chrono::seconds;

// Peak resident memory of a process, in MiB (VmHWM).
double peak_rss_mib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;  // kB
  }
  return -1;
}

// Requests of 1, 10 and 50 MB (the engine's limit is 50 MB) are all answered, and the byte bound
// holds what is in flight to what a request really holds: its body, its parsed JSON, its reply
// (twice: fxconnect's copy and librdkafka's). Figures: the connector's peak RSS.
TEST_F(ConnectorTest, RequestsUpToTheEnginesFiftyMegabytesAreAnsweredWithinTheByteBound) {
  kafka_->create_topic(in_, 1);
  kafka_->create_topic(out_, 1);
  constexpr long long kBound = 64LL << 20;  // the default processing.max_in_flight_bytes
  auto connector = start_connector(config("  name: scripted\n", "  deadline: 120s\n"));
  auto baseline = peak_rss_mib(connector->pid());
  struct Size {
    std::size_t bytes;
    int count;
  };
  std::vector<Size> sizes{{1'000'000, 8}, {10'000'000, 6}, {50'000'000, 2}};
  TopicReader replies(bootstrap_, out_);
  std::size_t total = 0;
  for (auto [bytes, count] : sizes) {
    std::vector<core::OutgoingRecord> requests;
    for (int i = 0; i < count; ++i) {
      auto key = std::to_string(bytes) + "-" + std::to_string(i);
      // A JSON string of `bytes` bytes: parsed, it holds as much again.
      requests.push_back({in_, key, {{"processInstanceUuid", key}}, "\"" + std::string(bytes - 2, 'x') + "\""});
    }
    kafka_->produce(requests);
    total += static_cast<std::size_t>(count);
  }
  ASSERT_TRUE(replies.wait_for(total, seconds(300))) << connector->log();
  for (const auto& r : replies.records()) {
    EXPECT_EQ(r.value.find("errorMessage"), std::string::npos) << "an error reply for " << r.key.value_or("");
  }
  auto peak = peak_rss_mib(connector->pid());
  connector->signal(SIGTERM);
  ASSERT_EQ(connector->wait(seconds(60)), 0) << connector->log();
  auto log = connector->log();
  auto held_max = stop_figure(log, "in_flight_bytes_max");
  auto in_flight_max = stop_figure(log, "in_flight_max");
  std::printf(
      "[ figures  ] requests of 1, 10, 50 MB, byte bound 64 MiB: peak RSS %.0f MiB (%.0f MiB at start), "
      "at most %.0f requests and %.0f MiB held in flight\n",
      peak, baseline, in_flight_max, held_max / (1 << 20));
  // Intake stops once the bound is reached; the request that crossed it is the most it can hold
  // beyond: for the largest (50 MB) about 4x its size (body, parsed string, reply twice).
  EXPECT_LE(held_max, static_cast<double>(kBound) + 4.5 * 50'000'000) << log;
  EXPECT_GE(held_max, 4.0 * 50'000'000) << "a 50 MB request held less than its body, JSON and reply: not counted";
}

// processing.max_in_flight is a bound, not a target: with thousands of requests waiting in the
// partition, the connector never holds more than the bound in flight, and reaches it. (Messages
// are taken in batches and copied on the consumer's decoder thread: a batch is sized to the room
// left below the bound, else it would overshoot by a batch.)
TEST_F(ConnectorTest, TheInFlightBoundHoldsExactlyWhileRequestsWaitInThePartition) {
  kafka_->create_topic(in_, 1);
  kafka_->create_topic(out_, 1);
  constexpr int kRequests = 2000;
  std::vector<core::OutgoingRecord> requests;
  for (int i = 0; i < kRequests; ++i) {
    auto key = "instance-" + std::to_string(i);  // every request its own key: all may run at once
    requests.push_back({in_, key, {{"processInstanceUuid", key}}, R"({"n":)" + std::to_string(i) + "}"});
  }
  kafka_->produce(requests);  // all waiting before the connector starts
  TopicReader replies(bootstrap_, out_);
  auto connector = start_connector(config("  name: echo\n  options: { delay: 20ms }\n", "  max_in_flight: 10\n"));
  ASSERT_TRUE(replies.wait_for(kRequests, seconds(120))) << connector->log();
  connector->signal(SIGTERM);
  ASSERT_EQ(connector->wait(seconds(60)), 0) << connector->log();
  auto log = connector->log();
  EXPECT_EQ(stop_figure(log, "in_flight_max"), 10) << log;
  EXPECT_EQ(stop_figure(log, "replied_ok"), kRequests) << log;
}

// The reply topic must exist before anything is consumed: a connector whose replies can never be
// written would hold its partitions' commits forever.
TEST_F(ConnectorTest, AMissingReplyTopicIsRefusedAtStartupWithExitTwo) {
  kafka_->create_topic(in_, 1);  // the reply topic is not created
  auto path = write_temp_file(name_ + ".yaml", config("  name: echo\n", "  deadline: 5s\n"));
  auto log = write_temp_file(name_ + ".log", "");
  ChildProcess connector({program_path("fxconnect"), "run", path}, log);
  EXPECT_EQ(connector.wait(seconds(60)), 2) << connector.log();
  EXPECT_THAT(connector.log(), ::testing::HasSubstr("reply.topic: topic '" + out_ + "' does not exist on the cluster"));
  EXPECT_THAT(connector.log(), ::testing::Not(::testing::HasSubstr("partitions assigned")));
}

}  // namespace
}  // namespace fxconnect::testing
