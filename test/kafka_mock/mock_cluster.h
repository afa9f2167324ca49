// The mock tier's fixture: librdkafka's mock cluster (one broker, in process), a connector
// config for its topics, and a runtime running on its own thread. No broker needed.
#pragma once

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "config/config.h"
#include "fxconnect/registry.h"
#include "kafka/client.h"
#include "kafka_test_client.h"
#include "runtime/runtime.h"

namespace fxconnect::testing {

// Kafka protocol API key of Produce requests (librdkafka keeps its names in a private header).
constexpr int16_t kProduceApiKey = 0;

class MockCluster : public ::testing::Test {
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
    suffix_ = unique_suffix();
    in_ = "in." + suffix_;
    out_ = "ai.flowx.dev.engine.receive.out." + suffix_;
    group_ = "g." + suffix_;
    rd_kafka_mock_topic_create(cluster_, in_.c_str(), 1, 1);
    rd_kafka_mock_topic_create(cluster_, out_.c_str(), 1, 1);
    client_ = std::make_unique<TestKafka>(bootstrap_);
  }
  void TearDown() override {
    client_.reset();
    if (cluster_) rd_kafka_mock_cluster_destroy(cluster_);
  }

  struct Options {
    std::string processing;           // extra lines under processing:
    std::string consumer_properties;  // "name: value, ..."
    std::string producer_properties;  // ", name: value" after retry.backoff.ms
    std::string extra;                // further top-level YAML
    bool earliest = true;             // set auto.offset.reset: earliest explicitly
  };
  config::ConnectorConfig config(const Options& o) {
    std::string yaml =
        // librdkafka's mock cluster appends a produce request with acks=2 (and would spend the produce
        // errors a test injects on it): no write check against it.
        "kafka:\n  bootstrap: " + bootstrap_ + "\n  group_id: " + group_ + "\n  write_check: false\n  properties: { " +
        (o.earliest ? "auto.offset.reset: earliest, " : "") + "log_level: '3' }\n" +
        (o.consumer_properties.empty() ? "" : "  consumer_properties: { " + o.consumer_properties + " }\n") +
        "  producer_properties: { retry.backoff.ms: '50'" + o.producer_properties + " }\n" + "input:\n  topic: " + in_ +
        "\nreply:\n  topic: " + out_ + "\nhandler:\n  name: echo\n" +
        "processing:\n  commit_interval: 100ms\n  shutdown_grace: 5s\n" + o.processing + o.extra;
    return config::parse(yaml, "mock.yaml", config::process_env());
  }
  config::ConnectorConfig config() { return config(Options{}); }

  std::unique_ptr<Handler> echo(const std::string& delay = "0ms") {
    Registry r;
    register_builtin_handlers(r);
    return r.create("echo", HandlerOptions({{"delay", {delay, "test"}}}));
  }

  // `n` requests with distinct keys; each body {"n":i}, or a JSON string of `body_bytes` bytes.
  void produce_requests(int n, std::size_t body_bytes = 0) {
    std::vector<core::OutgoingRecord> records;
    for (int i = 0; i < n; ++i) {
      std::string uuid = "uuid-" + std::to_string(i);
      std::string body =
          body_bytes ? "\"" + std::string(body_bytes - 2, 'b') + "\"" : R"({"n":)" + std::to_string(i) + "}";
      records.push_back({in_, uuid, {{"processInstanceUuid", uuid}}, body});
    }
    client_->produce(records);
  }

  std::int64_t committed() { return client_->committed(group_, in_, 1)[0]; }

  rd_kafka_mock_cluster_t* cluster_ = nullptr;
  kafka::KafkaPtr owner_;
  std::string bootstrap_, suffix_, in_, out_, group_;
  std::unique_ptr<TestKafka> client_;
};

// A runtime on its own thread; it stops by itself (a fatal error) or on stop().
class RunningConnector {
 public:
  RunningConnector(config::ConnectorConfig c, std::unique_ptr<Handler> h)
      : rt_(std::move(c), std::move(h)), thread_([this] {
          code_ = rt_.run(false);
          finished_ = true;
        }) {}
  ~RunningConnector() { stop(); }
  // Waits up to `timeout` for run() to return by itself.
  bool wait_finished(std::chrono::milliseconds timeout) {
    auto end = std::chrono::steady_clock::now() + timeout;
    while (!finished_ && std::chrono::steady_clock::now() < end)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
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
  std::string readiness() { return rt_.readiness(); }

 private:
  runtime::Runtime rt_;
  std::atomic<bool> finished_{false};
  int code_ = -1;
  std::thread thread_;
};

}  // namespace fxconnect::testing
