// Promises of the README checked in-process against librdkafka's mock cluster: exit code 1 on a
// fatal Kafka client error, and the byte bound on requests in flight. No broker needed.
#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

#include "mock_cluster.h"

namespace fxconnect::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Exit code 1: a fatal Kafka client error stops the connector with runtime::exit_fatal, without
// committing the request whose reply it could not write; a restart answers that request.
// The error: OUT_OF_ORDER_SEQUENCE_NUMBER on the idempotent producer's first (head-of-line)
// Produce, which librdkafka 2.0.2 treats as a sequence desynchronization with the broker and
// raises as a fatal error (rd_kafka_handle_idempotent_Produce_error, case r == 0).
TEST_F(MockCluster, AFatalKafkaClientErrorExitsOne) {
  // After a member leaves, the mock coordinator waits session.timeout.ms - 1 s before it admits
  // the next one: a short session lets the restart in quickly.
  const std::string session = "session.timeout.ms: '6000'";
  produce_requests(1);
  rd_kafka_mock_push_request_errors(cluster_, kProduceApiKey, 1, RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
  {
    RunningConnector connector(config({.consumer_properties = session}), echo());
    ASSERT_TRUE(connector.wait_finished(seconds(60))) << "the connector went on after a fatal error";
    EXPECT_EQ(connector.stop(), runtime::exit_fatal);
    EXPECT_EQ(connector.stats().consumed, 1u);
    EXPECT_EQ(connector.stats().replied_ok + connector.stats().replied_error, 0u);
  }
  EXPECT_LT(committed(), 1) << "committed a request whose outcome never reached Kafka";

  RunningConnector restarted(config({.consumer_properties = session}), echo());
  TopicReader replies(bootstrap_, out_);
  ASSERT_TRUE(replies.wait_for(1, seconds(60)));
  EXPECT_EQ(restarted.stop(), runtime::exit_clean);
  auto records = replies.records();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].value, R"({"n":0})");
  EXPECT_EQ(committed(), 1);
}

// processing.max_in_flight_bytes bounds what is consumed and not finished: with 100 KiB requests
// and the smallest bound (1 MiB), at most bound / size + 1 are in flight (one request is always
// admitted); everything is still answered. (4 MB in all: a mock partition keeps only its last 5 MB.)
TEST_F(MockCluster, TheByteBoundLimitsRequestsInFlight) {
  constexpr int kRequests = 40;
  constexpr std::size_t kBody = 100 * 1024;
  constexpr std::size_t kBound = 1024 * 1024;
  produce_requests(kRequests, kBody);
  RunningConnector connector(
      config({.processing = "  max_in_flight: 1000\n  max_in_flight_bytes: " + std::to_string(kBound) + "\n"}),
      echo("100ms"));
  TopicReader replies(bootstrap_, out_);
  ASSERT_TRUE(replies.wait_for(kRequests, seconds(120)));
  EXPECT_EQ(connector.stop(), runtime::exit_clean);
  auto stats = connector.stats();
  std::printf("[ figures  ] %d requests of %zu KiB, byte bound %zu KiB: at most %llu in flight (mean %.1f)\n",
              kRequests, kBody / 1024, kBound / 1024, static_cast<unsigned long long>(stats.max_in_flight),
              stats.mean_in_flight);
  EXPECT_LE(stats.max_in_flight, kBound / kBody + 1) << "consumed beyond max_in_flight_bytes";
  EXPECT_EQ(stats.consumed, static_cast<std::uint64_t>(kRequests));
  EXPECT_EQ(stats.replied_ok, static_cast<std::uint64_t>(kRequests));
  std::set<std::string> keys;
  for (const auto& r : replies.records()) keys.insert(r.key.value_or(""));
  EXPECT_EQ(keys.size(), static_cast<std::size_t>(kRequests));
  EXPECT_EQ(committed(), kRequests);
}

}  // namespace
}  // namespace fxconnect::testing
