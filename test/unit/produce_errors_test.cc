// What a failed produce means: every librdkafka code has a class, and the ones that matter most
// are in the right one.
#include <gtest/gtest.h>

#include "kafka/client.h"

namespace fxconnect::kafka {
namespace {

TEST(ProduceErrors, AreClassifiedByWhatToDoNext) {
  using F = ProduceFailure;
  struct Case {
    rd_kafka_resp_err_t err;
    F failure;
  };
  for (auto [err, failure] : std::vector<Case>{
           {RD_KAFKA_RESP_ERR_NO_ERROR, F::none},
           {RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, F::transient},
           {RD_KAFKA_RESP_ERR__TRANSPORT, F::transient},
           {RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, F::transient},
           {RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, F::transient},
           {RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, F::transient},
           {RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, F::transient},  // metadata may lag a new topic
           {RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, F::record},
           {RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE, F::record},
           {RD_KAFKA_RESP_ERR_INVALID_RECORD, F::record},
           {RD_KAFKA_RESP_ERR__INVALID_ARG, F::record},
           {RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, F::destination},
           {RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED, F::destination},
           {RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC, F::destination},
           {RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION, F::destination},
           {RD_KAFKA_RESP_ERR__AUTHENTICATION, F::destination},
           {RD_KAFKA_RESP_ERR__FATAL, F::fatal},
           {RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, F::fatal},
           {RD_KAFKA_RESP_ERR_PRODUCER_FENCED, F::fatal},
       }) {
    EXPECT_EQ(classify_produce_error(err), failure) << rd_kafka_err2name(err) << " → " << to_string(failure);
  }
}

TEST(ProduceErrors, AnErrorADeliveryReportShouldNeverCarryIsNotRetriedForever) {
  // Retrying it would block its partition's commits; it is given up (and logged).
  EXPECT_EQ(classify_produce_error(RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS), ProduceFailure::record);
  EXPECT_EQ(classify_produce_error(static_cast<rd_kafka_resp_err_t>(12345)), ProduceFailure::record);
}

TEST(ProduceErrors, NothingIsRetriableByDefault) {
  // The old default (`default: return true`) made every unknown failure retry forever: count the
  // codes classified transient, so a careless change shows up here.
  const rd_kafka_err_desc* descs = nullptr;
  std::size_t n = 0;
  rd_kafka_get_err_descs(&descs, &n);  // every code this librdkafka defines
  int transient = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (!descs[i].name) continue;  // a gap in the numbering
    transient += classify_produce_error(descs[i].code) == ProduceFailure::transient;
  }
  EXPECT_EQ(transient, 48) << "codes classified transient (listed in kafka/client.cc)";
}

}  // namespace
}  // namespace fxconnect::kafka

namespace fxconnect::kafka {
namespace {

std::string conf_value(rd_kafka_conf_t* conf, const char* name) {
  char value[512];
  std::size_t size = sizeof value;
  if (rd_kafka_conf_get(conf, name, value, &size) != RD_KAFKA_CONF_OK) return "?";
  return value;
}

// Found by the fault suite (cut-5s): with librdkafka's 10 s reconnect backoff a connector cut off
// for 5 s stayed idle up to 10 s after the network was back. fxconnect's default is 1 s, a user's
// value still wins.
TEST(ClientDefaults, ReconnectWithinASecondOfAHealedNetworkUnlessConfigured) {
  ConsumerSettings consumer;
  consumer.bootstrap = "127.0.0.1:1";
  consumer.group_id = "g";
  ProducerSettings producer;
  producer.bootstrap = "127.0.0.1:1";
  EXPECT_EQ(conf_value(consumer_conf(consumer).get(), "reconnect.backoff.max.ms"), "1000");
  EXPECT_EQ(conf_value(producer_conf(producer).get(), "reconnect.backoff.max.ms"), "1000");
  producer.properties.push_back(core::Property{"reconnect.backoff.max.ms", "5000", "test", ""});
  EXPECT_EQ(conf_value(producer_conf(producer).get(), "reconnect.backoff.max.ms"), "5000");
}

}  // namespace
}  // namespace fxconnect::kafka
