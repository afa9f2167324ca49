// The runtime against librdkafka's mock cluster, with broker errors injected: what happens to a
// reply whose produce fails, and what gets committed meanwhile. No broker needed.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <set>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

#include "mock_cluster.h"

namespace fxconnect::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST_F(MockCluster, TransientProduceErrorsAreRetriedAndTheReplyArrives) {
  produce_requests(5);
  // The next produce requests (the connector's replies) fail with a retriable broker error.
  rd_kafka_mock_push_request_errors(cluster_, kProduceApiKey, 3, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
                                    RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS);
  RunningConnector connector(config(), echo());
  TopicReader replies(bootstrap_, out_);
  ASSERT_TRUE(replies.wait_for(5, seconds(30)));
  EXPECT_EQ(connector.stop(), runtime::exit_clean);
  auto records = replies.records();
  std::set<std::string> keys;
  for (const auto& r : records) {
    EXPECT_EQ(r.value.find("errorMessage"), std::string::npos) << "a retried reply is the real reply: " << r.value;
    keys.insert(*r.key);
  }
  EXPECT_EQ(keys.size(), 5u);
  EXPECT_EQ(committed(), 5);
  EXPECT_EQ(connector.stats().replied_ok, 5u);
}

TEST_F(MockCluster, APermanentlyFailedReplyBecomesAnErrorReplyBeforeItsOffsetIsCommitted) {
  produce_requests(1);
  rd_kafka_mock_push_request_errors(cluster_, kProduceApiKey, 1, RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
  RunningConnector connector(config(), echo());
  TopicReader replies(bootstrap_, out_);
  ASSERT_TRUE(replies.wait_for(1, seconds(30)));
  EXPECT_EQ(connector.stop(), runtime::exit_clean);
  auto records = replies.records();
  ASSERT_EQ(records.size(), 1u) << "one terminal outcome, not the reply and the error reply";
  auto body = boost::json::parse(records[0].value);
  EXPECT_EQ(body.at("error").at("code").as_string(), "reply_too_large");
  EXPECT_THAT(std::string(body.at("errorMessage").as_string()), ::testing::HasSubstr("could not be produced"));
  EXPECT_EQ(records[0].key, "uuid-0");
  EXPECT_EQ(committed(), 1);
  EXPECT_EQ(connector.stats().replied_error, 1u);
}

TEST_F(MockCluster, AnOutcomeThatCannotBeProducedIsRetriedAndNeverCommittedPast) {
  produce_requests(1);
  // Every produce fails for a while: the reply times out, then the error reply does, and is
  // retried with backoff until the broker accepts it.
  constexpr int kFailures = 60;
  std::vector<rd_kafka_resp_err_t> errors(kFailures, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS);
  rd_kafka_mock_push_request_errors_array(cluster_, kProduceApiKey, errors.size(), errors.data());
  RunningConnector connector(config({.producer_properties = ", message.timeout.ms: '600'"}), echo());
  TopicReader replies(bootstrap_, out_);
  // Samples of the committed offset, each with a time by which that commit had happened.
  std::vector<std::pair<std::int64_t, std::int64_t>> samples;  // (offset, unix ms)
  auto end = std::chrono::steady_clock::now() + seconds(60);
  while (replies.count() == 0 && std::chrono::steady_clock::now() < end) {
    auto c = committed();
    auto now_ms = std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    samples.emplace_back(c, now_ms);
    std::this_thread::sleep_for(milliseconds(100));
  }
  ASSERT_TRUE(replies.wait_for(1, seconds(1))) << "the error reply never arrived";
  auto reply_ts = replies.records()[0].timestamp_ms;  // when the delivered error reply was produced
  int before_reply = 0;
  for (auto [offset, at] : samples) {
    if (at < reply_ts) {
      ++before_reply;
      EXPECT_LE(offset, 0) << "committed past a request whose outcome was not yet on Kafka";
    }
  }
  EXPECT_GT(before_reply, 3) << "the test never saw the failing period";
  EXPECT_EQ(connector.stop(), runtime::exit_clean);
  auto records = replies.records();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(boost::json::parse(records[0].value).at("error").at("code").as_string(), "reply_failed");
  EXPECT_EQ(committed(), 1);
  EXPECT_GE(connector.stats().produce_retries, 1u);
}

TEST_F(MockCluster, ADeadLetterAndAnErrorReplyFailingTogetherAreBothRetriedToTheEnd) {
  std::string dlq = "dlq." + suffix_;
  rd_kafka_mock_topic_create(cluster_, dlq.c_str(), 1, 1);
  produce_requests(1);
  // Every produce fails for a while: the reply times out, then the dead letter and the error reply
  // fail together; each must be retried until it is written.
  std::vector<rd_kafka_resp_err_t> errors(40, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS);
  rd_kafka_mock_push_request_errors_array(cluster_, kProduceApiKey, errors.size(), errors.data());
  RunningConnector connector(
      config({.producer_properties = ", message.timeout.ms: '600'", .extra = "errors:\n  dlq_topic: " + dlq + "\n"}),
      echo());
  TopicReader replies(bootstrap_, out_);
  TopicReader dead_letters(bootstrap_, dlq);
  ASSERT_TRUE(replies.wait_for(1, seconds(60))) << "no error reply";
  ASSERT_TRUE(dead_letters.wait_for(1, seconds(60))) << "no dead letter";
  EXPECT_EQ(connector.stop(), runtime::exit_clean) << "the request was complete: both records written";
  EXPECT_EQ(committed(), 1);
  EXPECT_EQ(connector.stats().replied_error, 1u);
  EXPECT_EQ(connector.stats().dead_lettered, 1u);
}

TEST_F(MockCluster, AtTheInFlightLimitIntakePausesInsteadOfBuffering) {
  produce_requests(200);
  RunningConnector connector(config({.processing = "  max_in_flight: 10\n"}), echo("100ms"));
  TopicReader replies(bootstrap_, out_);
  ASSERT_TRUE(replies.wait_for(200, seconds(60)));
  EXPECT_EQ(connector.stop(), runtime::exit_clean);
  auto stats = connector.stats();
  EXPECT_LE(stats.max_in_flight, 10u) << "consumed beyond max_in_flight";
  EXPECT_EQ(stats.consumed, 200u);
  EXPECT_EQ(committed(), 200);
}

// A new group starts at the requests already waiting: without auto.offset.reset in the config,
// librdkafka's own default (`latest`) would skip them and leave their processes waiting.
TEST_F(MockCluster, ANewGroupServesTheRequestsAlreadyWaiting) {
  produce_requests(5);
  RunningConnector connector(config({.earliest = false}), echo());
  TopicReader replies(bootstrap_, out_);
  ASSERT_TRUE(replies.wait_for(5, seconds(30))) << "the waiting requests were skipped";
  EXPECT_EQ(connector.stop(), runtime::exit_clean);
  EXPECT_EQ(connector.stats().consumed, 5u);
}

// Readiness drops when every broker is down and comes back when one is reachable again, even
// with nothing to consume and nothing to commit.
TEST_F(MockCluster, ReadinessComesBackAfterABrokerOutageWithoutTraffic) {
  RunningConnector connector(config({.consumer_properties = "reconnect.backoff.max.ms: '500'"}), echo());
  auto wait_readiness = [&](const std::string& text) {
    auto end = std::chrono::steady_clock::now() + seconds(60);
    std::string now;
    while ((now = connector.readiness()).find(text) == std::string::npos && std::chrono::steady_clock::now() < end) {
      std::this_thread::sleep_for(milliseconds(100));
    }
    return now;
  };
  ASSERT_EQ(wait_readiness("ready\n"), "ready\n");
  rd_kafka_mock_broker_set_down(cluster_, 1);
  ASSERT_THAT(wait_readiness("no broker reachable"), ::testing::HasSubstr("no broker reachable"));
  rd_kafka_mock_broker_set_up(cluster_, 1);
  EXPECT_EQ(wait_readiness("ready\n"), "ready\n") << "still not ready with the broker back";
  EXPECT_EQ(connector.stop(), runtime::exit_clean);
  EXPECT_EQ(connector.stats().consumed, 0u) << "no message told it";
}

}  // namespace
}  // namespace fxconnect::testing
