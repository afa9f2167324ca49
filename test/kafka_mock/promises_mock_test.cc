// Promises of the README checked in-process against librdkafka's mock cluster: exit code 1 on a
// fatal Kafka client error, and the byte bound on requests in flight. No broker needed.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <atomic>
#include <set>
#include <thread>

#include <boost/json/parse.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/config.h"
#include "fxconnect/registry.h"
#include "kafka/client.h"
#include "kafka_test_client.h"
#include "runtime/runtime.h"

namespace fxconnect::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Kafka protocol API key of Produce requests (librdkafka keeps its names in a private header).
constexpr int16_t kProduceApiKey = 0;

class MockPromises : public ::testing::Test {
 protected:
  void SetUp() override {
    kafka::ConfPtr conf(rd_kafka_conf_new());
    char err[512];
    rd_kafka_conf_set(conf.get(), "log_level", "3", err, sizeof err);
    owner_.reset(rd_kafka_new(RD_KAFKA_PRODUCER, conf.release(), err, sizeof err));
    ASSERT_TRUE(owner_) << err;
    cluster_ = rd_kafka_mock_cluster_new(owner_.get(), 1);
    ASSERT_TRUE(cluster_);
    bootstrap_ = rd_kafka_mock_cluster_bootstraps(cluster_);
    auto suffix = unique_suffix();
    in_ = "in." + suffix;
    out_ = "ai.flowx.dev.engine.receive.out." + suffix;
    group_ = "g." + suffix;
    rd_kafka_mock_topic_create(cluster_, in_.c_str(), 1, 1);
    rd_kafka_mock_topic_create(cluster_, out_.c_str(), 1, 1);
    client_ = std::make_unique<TestKafka>(bootstrap_);
  }
  void TearDown() override {
    client_.reset();
    if (cluster_) rd_kafka_mock_cluster_destroy(cluster_);
  }

  config::ConnectorConfig config(const std::string& processing = "", const std::string& consumer_props = "") {
    std::string yaml = "kafka:\n  bootstrap: " + bootstrap_ + "\n  group_id: " + group_ +
                       "\n  properties: { auto.offset.reset: earliest, log_level: '3' }\n" +
                       (consumer_props.empty() ? "" : "  consumer_properties: { " + consumer_props + " }\n") +
                       "  producer_properties: { retry.backoff.ms: '50' }\n" + "input:\n  topic: " + in_ +
                       "\nreply:\n  topic: " + out_ + "\nhandler:\n  name: echo\n" +
                       "processing:\n  commit_interval: 100ms\n  shutdown_grace: 5s\n" + processing;
    return config::parse(yaml, "mock.yaml", config::process_env());
  }

  std::unique_ptr<Handler> echo(const std::string& delay = "0ms") {
    Registry r;
    register_builtin_handlers(r);
    return r.create("echo", HandlerOptions({{"delay", {delay, "test"}}}));
  }

  // `n` requests with distinct keys, each body a JSON string of `body_bytes` bytes.
  void produce_requests(int n, std::size_t body_bytes = 0) {
    std::vector<core::OutgoingRecord> records;
    for (int i = 0; i < n; ++i) {
      std::string uuid = "uuid-" + std::to_string(i);
      std::string body = body_bytes ? "\"" + std::string(body_bytes - 2, 'b') + "\"" : R"({"n":)" + std::to_string(i) + "}";
      records.push_back({in_, uuid, {{"processInstanceUuid", uuid}}, body});
    }
    client_->produce(records);
  }

  std::int64_t committed() { return client_->committed(group_, in_, 1)[0]; }

  rd_kafka_mock_cluster_t* cluster_ = nullptr;
  kafka::KafkaPtr owner_;
  std::string bootstrap_, in_, out_, group_;
  std::unique_ptr<TestKafka> client_;
};

// A runtime on its own thread; it may stop by itself (a fatal error) or on stop().
class Running {
 public:
  Running(config::ConnectorConfig c, std::unique_ptr<Handler> h)
      : rt_(std::move(c), std::move(h)), thread_([this] {
          code_ = rt_.run(false);
          finished_ = true;
        }) {}
  ~Running() { stop(); }
  // Waits up to `timeout` for run() to return by itself.
  bool wait_finished(std::chrono::milliseconds timeout) {
    auto end = std::chrono::steady_clock::now() + timeout;
    while (!finished_ && std::chrono::steady_clock::now() < end) std::this_thread::sleep_for(milliseconds(20));
    return finished_;
  }
  int stop() {
    if (thread_.joinable()) {
      if (!finished_) rt_.request_stop();
      thread_.join();
    }
    return code_;
  }
  runtime::RunStats stats() const { return rt_.stats(); }

 private:
  runtime::Runtime rt_;
  std::atomic<bool> finished_{false};
  int code_ = -1;
  std::thread thread_;
};

// Exit code 1: a fatal Kafka client error stops the connector with runtime::exit_fatal, without
// committing the request whose reply it could not write; a restart answers that request.
// The error: OUT_OF_ORDER_SEQUENCE_NUMBER on the idempotent producer's first (head-of-line)
// Produce, which librdkafka 2.0.2 treats as a sequence desynchronization with the broker and
// raises as a fatal error (rd_kafka_handle_idempotent_Produce_error, case r == 0).
TEST_F(MockPromises, AFatalKafkaClientErrorExitsOne) {
  // After a member leaves, the mock coordinator waits session.timeout.ms - 1 s before it admits
  // the next one: a short session lets the restart in quickly.
  const std::string session = "session.timeout.ms: '6000'";
  produce_requests(1);
  rd_kafka_mock_push_request_errors(cluster_, kProduceApiKey, 1, RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
  {
    Running connector(config("", session), echo());
    ASSERT_TRUE(connector.wait_finished(seconds(60))) << "the connector went on after a fatal error";
    EXPECT_EQ(connector.stop(), runtime::exit_fatal);
    EXPECT_EQ(connector.stats().consumed, 1u);
    EXPECT_EQ(connector.stats().replied_ok + connector.stats().replied_error, 0u);
  }
  EXPECT_LT(committed(), 1) << "committed a request whose outcome never reached Kafka";

  Running restarted(config("", session), echo());
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
TEST_F(MockPromises, TheByteBoundLimitsRequestsInFlight) {
  constexpr int kRequests = 40;
  constexpr std::size_t kBody = 100 * 1024;
  constexpr std::size_t kBound = 1024 * 1024;
  produce_requests(kRequests, kBody);
  Running connector(config("  max_in_flight: 1000\n  max_in_flight_bytes: " + std::to_string(kBound) + "\n"),
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
