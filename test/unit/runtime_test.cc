// The runtime wired to fake Kafka clients: rebalances, commits, broker outages and stops driven
// by the test, deterministically, through the same interfaces librdkafka's clients implement.
#include "runtime/runtime.h"

#include <condition_variable>
#include <mutex>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <boost/asio/post.hpp>

#include "fxconnect/registry.h"

namespace fxconnect::runtime {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::HasSubstr;
namespace asio = boost::asio;

const kafka::TopicPartition kP0{"in", 0};
const kafka::TopicPartition kP1{"in", 1};

// What the runtime did with its clients, in order, as text ("pause in[0]", "release in[0]", ...).
struct World {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::string> calls;
  std::vector<std::pair<std::uint64_t, core::OutgoingRecord>> sent;
  asio::io_context* io = nullptr;
  kafka::Consumer::Events consumer;
  kafka::Producer::Events producer;
  std::vector<std::string> topic_problems;
  bool auto_ack = true;

  void record(std::string call) {
    std::lock_guard lock(mutex);
    calls.push_back(std::move(call));
    changed.notify_all();
  }
  bool wait(const std::function<bool()>& condition, milliseconds timeout = milliseconds(10'000)) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, timeout, condition);
  }
  bool has(const std::string& call) { return std::find(calls.begin(), calls.end(), call) != calls.end(); }
  std::size_t index(const std::string& call) {
    return static_cast<std::size_t>(std::find(calls.begin(), calls.end(), call) - calls.begin());
  }
  // Runs `f` on the runtime's loop (as librdkafka's callbacks do).
  void on_loop(std::function<void()> f) { asio::post(*io, std::move(f)); }
};

std::string name(const kafka::TopicPartition& tp) { return tp.first + "[" + std::to_string(tp.second) + "]"; }

class FakeConsumer final : public kafka::Consumer {
 public:
  FakeConsumer(World& w, std::string subscription) : w_(w), subscription_(std::move(subscription)) {}
  void start() override { w_.record("start"); }
  const std::string& subscription() const override { return subscription_; }
  void stop_taking() override { w_.record("stop_taking"); }
  void resume_taking() override { w_.record("resume_taking"); }
  void pause(const std::vector<kafka::TopicPartition>& ps) override {
    for (const auto& tp : ps) w_.record("pause " + name(tp));
  }
  void resume(const std::vector<kafka::TopicPartition>& ps) override {
    for (const auto& tp : ps) w_.record("resume " + name(tp));
  }
  std::size_t store_offsets(const std::vector<std::pair<kafka::TopicPartition, std::int64_t>>& offsets) override {
    for (const auto& [tp, o] : offsets) w_.record("store " + name(tp) + " " + std::to_string(o));
    return 0;
  }
  std::optional<std::int64_t> end_offset(const kafka::TopicPartition&) const override { return std::nullopt; }
  void release(const std::vector<kafka::TopicPartition>& ps) override {
    for (const auto& tp : ps) w_.record("release " + name(tp));
  }
  void close() override {
    w_.record("close");
    if (fail_final_commit && w_.consumer.committed) w_.consumer.committed(kP0, 1, false);
  }
  bool fail_final_commit = false;

 private:
  World& w_;
  std::string subscription_;
};

class FakeProducer final : public kafka::Producer {
 public:
  explicit FakeProducer(World& w) : w_(w) {}
  void send(const core::OutgoingRecord& record, std::uint64_t tag, kafka::WireHeaders) override {
    {
      std::lock_guard lock(w_.mutex);
      w_.sent.emplace_back(tag, record);
      w_.changed.notify_all();
    }
    if (w_.auto_ack) w_.on_loop([this, tag] { w_.producer.delivered(kafka::Delivery::written(tag)); });
  }
  void flush(milliseconds) override {}
  std::vector<std::string> check_topics(const std::vector<std::string>&, milliseconds) override {
    return w_.topic_problems;
  }

 private:
  World& w_;
};

class RuntimeTest : public ::testing::Test {
 protected:
  config::ConnectorConfig config(const std::string& handler = "  name: echo\n", const std::string& processing = "") {
    return config::parse(
        "kafka:\n  bootstrap: 127.0.0.1:1\n  group_id: g\ninput:\n  topic: in\nreply:\n  topic: "
        "ai.flowx.dev.engine.receive.out\nhandler:\n" +
            handler + "processing:\n  shutdown_grace: 3s\n" + processing,
        "test.yaml", config::process_env());
  }
  KafkaClients clients() {
    return {[this](asio::io_context& io, std::string subscription, kafka::Consumer::Events events) {
              world_.io = &io;
              world_.consumer = std::move(events);
              auto c = std::make_unique<FakeConsumer>(world_, std::move(subscription));
              consumer_ = c.get();
              return std::unique_ptr<kafka::Consumer>(std::move(c));
            },
            [this](asio::io_context& io, kafka::Producer::Events events) {
              world_.io = &io;
              world_.producer = std::move(events);
              return std::unique_ptr<kafka::Producer>(std::make_unique<FakeProducer>(world_));
            }};
  }
  std::unique_ptr<Handler> handler(const std::string& name = "echo", const std::string& delay = "0ms") {
    Registry r;
    register_builtin_handlers(r);
    return r.create(name, HandlerOptions({{"delay", {delay, "test"}}}));
  }
  void start(config::ConnectorConfig c, std::unique_ptr<Handler> h) {
    runtime_ = std::make_unique<Runtime>(std::move(c), std::move(h), clients());
    thread_ = std::thread([this] {
      try {
        code_ = runtime_->run(false);
      } catch (const ConfigError& e) {
        error_ = e.what();
        code_ = exit_config;
      }
    });
    ASSERT_TRUE(world_.wait([this] { return world_.has("start") || code_ >= 0; }));
  }
  int stop() {
    if (thread_.joinable()) {
      runtime_->request_stop();
      thread_.join();
    }
    return code_;
  }
  void TearDown() override { stop(); }
  void assign(std::vector<kafka::TopicPartition> ps) {
    world_.on_loop([this, ps] { world_.consumer.assigned(ps); });
  }
  void revoke(std::vector<kafka::TopicPartition> ps, bool lost = false) {
    world_.on_loop([this, ps, lost] { world_.consumer.revoked(ps, lost); });
  }
  void message(const kafka::TopicPartition& tp, std::int64_t offset, const std::string& key = "k") {
    world_.on_loop([this, tp, offset, key] {
      Request r;
      r.topic = tp.first;
      r.partition = tp.second;
      r.offset = offset;
      r.key = key;
      r.headers = {{"processInstanceUuid", key}};
      r.body = R"({"n":1})";
      world_.consumer.message(std::move(r), nullptr);
    });
  }
  bool eventually(const std::string& call) {
    return world_.wait([&] { return world_.has(call); });
  }

  World world_;
  FakeConsumer* consumer_ = nullptr;
  std::unique_ptr<Runtime> runtime_;
  std::thread thread_;
  std::atomic<int> code_{-1};
  std::string error_;
};

TEST_F(RuntimeTest, APartitionPausedWhileDrainingIsResumedWhenTheGroupGivesItBack) {
  start(config(), handler());
  assign({kP0, kP1});
  ASSERT_TRUE(eventually("resume in[0]"));
  revoke({kP0});
  ASSERT_TRUE(eventually("release in[0]"));
  EXPECT_LT(world_.index("pause in[0]"), world_.index("release in[0]"));
  std::size_t before = world_.calls.size();
  assign({kP0});  // the next rebalance gives it back to this member
  ASSERT_TRUE(world_.wait([&] {
    return std::find(world_.calls.begin() + static_cast<long>(before), world_.calls.end(), "resume in[0]") !=
           world_.calls.end();
  })) << "librdkafka keeps an application pause across revoke and assign: it must be undone";
  EXPECT_EQ(stop(), exit_clean);
}

TEST_F(RuntimeTest, AStopDuringARevokeDrainReleasesThePartitionsBeforeClosing) {
  start(config("  name: echo\n  options: { delay: 60s }\n"), handler("echo", "60s"));
  assign({kP0});
  message(kP0, 0);
  ASSERT_TRUE(world_.wait([&] { return world_.has("resume in[0]"); }));
  revoke({kP0});  // drains: the handler takes 60 s
  ASSERT_TRUE(eventually("pause in[0]"));
  EXPECT_FALSE(world_.has("release in[0]"));
  EXPECT_EQ(stop(), exit_grace_expired);
  ASSERT_TRUE(world_.has("release in[0]")) << "close() would wait for it forever";
  EXPECT_LT(world_.index("release in[0]"), world_.index("close"));
}

TEST_F(RuntimeTest, OffsetsAreStoredOnlyForRequestsAnsweredAndNeverForALostPartition) {
  world_.auto_ack = false;
  start(config(), handler());
  assign({kP0});
  message(kP0, 0);
  message(kP0, 1, "other");
  ASSERT_TRUE(world_.wait([&] { return world_.sent.size() == 2; }));
  {
    auto tag = world_.sent[1].first;  // offset 1 answered first: nothing may be stored yet
    world_.on_loop([this, tag] { world_.producer.delivered(kafka::Delivery::written(tag)); });
  }
  auto tag0 = world_.sent[0].first;
  revoke({kP0}, /*lost=*/true);
  ASSERT_TRUE(eventually("release in[0]"));
  world_.on_loop([this, tag0] { world_.producer.delivered(kafka::Delivery::written(tag0)); });
  EXPECT_EQ(stop(), exit_clean);
  for (const auto& call : world_.calls) EXPECT_EQ(call.rfind("store", 0), std::string::npos) << call;
}

TEST_F(RuntimeTest, ReadinessFollowsTheGroupTheBrokersAndTheStop) {
  auto c = config();
  start(c, handler());
  EXPECT_THAT(runtime_->readiness(), HasSubstr("no partition assignment"));
  assign({kP0});
  ASSERT_TRUE(eventually("resume in[0]"));
  EXPECT_EQ(runtime_->readiness(), "ready\n");
  world_.on_loop([this] { world_.consumer.brokers_down(true); });
  EXPECT_THAT(runtime_->readiness(), HasSubstr("no broker reachable"));
  world_.on_loop([this] { world_.consumer.brokers_down(false); });
  EXPECT_EQ(runtime_->readiness(), "ready\n");
  revoke({kP0}, true);
  EXPECT_THAT(runtime_->readiness(), HasSubstr("no partition assignment")) << "lost: not a member until reassigned";
  assign({kP1});
  EXPECT_EQ(runtime_->readiness(), "ready\n");
  runtime_->request_stop();
  thread_.join();
  EXPECT_EQ(code_, exit_clean);
}

// Keeps every Call and ignores cancellation: a handler stuck in a legacy call.
class StuckHandler final : public Handler {
 public:
  void handle(std::shared_ptr<Call> call) override {
    std::lock_guard lock(mutex);
    calls.push_back(std::move(call));
  }
  std::mutex mutex;
  std::vector<std::shared_ptr<Call>> calls;
};

TEST_F(RuntimeTest, AHandlerRunningPastItsDeadlineMakesTheConnectorNotReady) {
  auto stuck = std::make_unique<StuckHandler>();
  auto* handler = stuck.get();
  start(config("  name: echo\n", "  deadline: 1s\n"), std::move(stuck));
  assign({kP0});
  message(kP0, 0);
  ASSERT_TRUE(world_.wait([&] { return world_.sent.size() == 1; }, seconds(10))) << "the deadline error reply";
  EXPECT_THAT(runtime_->readiness(), HasSubstr("1 handler(s) still running past processing.deadline"));
  {
    std::lock_guard lock(handler->mutex);
    handler->calls.at(0)->reply(Reply{"{}"});  // it finishes at last
  }
  auto until = std::chrono::steady_clock::now() + seconds(30);
  while (runtime_->readiness() != "ready\n" && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(milliseconds(20));
  }
  EXPECT_EQ(runtime_->readiness(), "ready\n") << "ready again once the handler finished";
  EXPECT_EQ(world_.sent.size(), 1u) << "its late answer is ignored";
  EXPECT_EQ(stop(), exit_clean);
  EXPECT_EQ(runtime_->stats().late_completions, 1u);
}

TEST_F(RuntimeTest, AFailedFinalCommitExitsSeventyFive) {
  start(config(), handler());
  consumer_->fail_final_commit = true;
  assign({kP0});
  message(kP0, 0);
  ASSERT_TRUE(world_.wait([&] { return world_.sent.size() == 1; }));
  EXPECT_EQ(stop(), exit_grace_expired);
}

TEST_F(RuntimeTest, AMissingReplyTopicIsRefusedBeforeAnythingIsConsumed) {
  world_.topic_problems = {"topic 'ai.flowx.dev.engine.receive.out' does not exist on the cluster; create it"};
  runtime_ = std::make_unique<Runtime>(config(), handler(), clients());
  try {
    runtime_->run(false);
    FAIL() << "started without its reply topic";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("test.yaml: reply.topic: topic 'ai.flowx.dev.engine.receive.out' does not exist"));
  }
  EXPECT_FALSE(world_.has("start")) << "nothing consumed";
}

TEST_F(RuntimeTest, AnUnreachableClusterAtStartupExitsOne) {
  world_.topic_problems = {"topic 'ai.flowx.dev.engine.receive.out': no metadata from the cluster within 30000 ms: x"};
  runtime_ = std::make_unique<Runtime>(config(), handler(), clients());
  EXPECT_EQ(runtime_->run(false), exit_fatal);
}

TEST_F(RuntimeTest, AReplyTopicThatCannotBeWrittenStopsTheConnectorWithExitTwo) {
  world_.auto_ack = false;
  start(config(), handler());
  assign({kP0});
  message(kP0, 0);
  ASSERT_TRUE(world_.wait([&] { return world_.sent.size() == 1; }));
  auto tag = world_.sent[0].first;
  world_.on_loop([this, tag] {
    world_.producer.delivered(kafka::Delivery{tag, kafka::ProduceFailure::destination, false, false,
                                              "TOPIC_AUTHORIZATION_FAILED: Broker: Topic authorization failed"});
  });
  thread_.join();  // it stops by itself
  EXPECT_EQ(code_, exit_config);
  EXPECT_FALSE(world_.has("store in[0] 1")) << "committed past the request whose reply was never written";
}

}  // namespace
}  // namespace fxconnect::runtime
