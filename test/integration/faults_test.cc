// Crash, graceful stop and concurrency beyond partitions, against a real broker.
#include <atomic>
#include <csignal>
#include <regex>
#include <thread>

#include <gmock/gmock.h>
#include <boost/json/parse.hpp>

#include "connector_fixture.h"
#include "http_get.h"

namespace fxconnect::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

std::vector<core::OutgoingRecord> requests_over_keys(const std::string& topic, int count, int keys) {
  std::vector<core::OutgoingRecord> out;
  for (int i = 0; i < count; ++i) {
    std::string uuid = "uuid-" + std::to_string(i % keys);
    std::string body = R"({"seq":)" + std::to_string(i) + R"(,"key":")" + uuid + R"("})";
    // processInstanceId tells requests of one key apart in the replies.
    out.push_back({topic, uuid, {{"processInstanceUuid", uuid}, {"processInstanceId", std::to_string(i)}}, body});
  }
  return out;
}

// Distinct requests answered (by processInstanceId) and the number of extra (duplicate) replies.
std::pair<std::size_t, std::size_t> answered(const std::vector<ConsumedRecord>& replies) {
  std::set<std::string> ids;
  for (const auto& r : replies) ids.insert(std::string(first_value(r.headers, "processInstanceId").value_or("")));
  return {ids.size(), replies.size() - ids.size()};
}

// Waits until every one of `count` requests has a reply (or `timeout`).
void wait_answered(const TopicReader& replies, int count, std::chrono::seconds timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (answered(replies.records()).first < static_cast<std::size_t>(count) &&
         std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(milliseconds(100));
  }
}

// answered() once every connector writing `replies` has exited: with the reader caught up with the
// topic's end, no reply can come later, so the count of duplicates is final.
std::pair<std::size_t, std::size_t> final_count(const TopicReader& replies) {
  EXPECT_TRUE(replies.wait_caught_up(seconds(60))) << "the reader did not catch up with the reply topic";
  return answered(replies.records());
}

double log_figure(const std::string& log, const std::string& name) {
  std::smatch m;
  if (!std::regex_search(log, m, std::regex(name + "=([0-9.]+)"))) return -1;
  return std::stod(m[1]);
}

// 2,000 requests in flight (100 keys, so lanes keep most of them waiting), echo 50 ms, kill -9
// mid-run, restart: every request gets a reply; duplicates are counted and printed, and bounded:
// only requests answered but not yet committed at the kill may be answered again.
TEST_F(ConnectorTest, KillNineMidRunLosesNoRequest) {
  constexpr int kRequests = 2000;
  kafka_->create_topic(in_, 3);
  kafka_->create_topic(out_, 3);
  auto yaml = config("  name: echo\n  options: { delay: 50ms }\n", "  max_in_flight: 5000\n  commit_interval: 200ms\n");
  // The killed member never leaves the group: a short session lets the restart get its partitions
  // in seconds instead of the default 45 s.
  yaml.replace(yaml.find("auto.offset.reset: earliest"), 27, "auto.offset.reset: earliest, session.timeout.ms: '6000'");
  auto connector = start_connector(yaml, 0);
  TopicReader replies(bootstrap_, out_);
  kafka_->produce(requests_over_keys(in_, kRequests, 100));
  ASSERT_TRUE(replies.wait_for(kRequests / 4, seconds(60))) << connector->log();
  connector->signal(SIGKILL);
  ASSERT_EQ(connector->wait(seconds(10)), 128 + SIGKILL);
  auto at_kill = replies.count();
  ASSERT_LT(at_kill, static_cast<std::size_t>(kRequests)) << "the kill came too late to be mid-run";
  // What the group had committed when the connector died (the restart commits more).
  auto committed = kafka_->committed(group_, in_, 3);
  // Replies are stamped when produced: those stamped before this instant are the killed run's,
  // however late the reader sees them.
  auto restart_ms =
      std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();

  auto restarted = start_connector(yaml, 1);
  wait_answered(replies, kRequests, seconds(120));
  restarted->signal(SIGTERM);
  EXPECT_EQ(restarted->wait(seconds(60)), 0) << restarted->log();
  auto [distinct, duplicates] = final_count(replies);
  std::printf("[ figures  ] kill -9 after %zu of %d replies: %zu requests without a reply, %zu duplicate replies\n",
              at_kill, kRequests, kRequests - distinct, duplicates);
  EXPECT_EQ(distinct, static_cast<std::size_t>(kRequests)) << restarted->log();

  // Requests below the committed offsets (by their place in the input topic), and requests
  // answered before the kill.
  TopicReader inputs(bootstrap_, in_);
  ASSERT_TRUE(inputs.wait_for(kRequests, seconds(60)));
  std::size_t below_committed = 0;
  for (const auto& r : inputs.records()) below_committed += r.offset < committed.at(r.partition) ? 1 : 0;
  std::set<std::string> answered_before_kill;
  for (const auto& r : replies.records()) {
    if (r.timestamp_ms < restart_ms)
      answered_before_kill.insert(std::string(first_value(r.headers, "processInstanceId").value_or("")));
  }
  ASSERT_GE(answered_before_kill.size(), below_committed) << "committed past a request that was not answered";
  auto uncommitted = answered_before_kill.size() - below_committed;
  std::printf(
      "[ figures  ] kill -9: %zu requests answered before it, %zu of them committed; %zu answered but "
      "uncommitted, %zu answered again\n",
      answered_before_kill.size(), below_committed, uncommitted, duplicates);
  EXPECT_LE(duplicates, uncommitted) << "answered again beyond what was answered but not committed";
}

// SIGTERM mid-load: exit 0, and after a restart nothing is lost and nothing is answered twice.
TEST_F(ConnectorTest, SigtermMidLoadDrainsCommitsAndExitsZero) {
  constexpr int kRequests = 2000;
  kafka_->create_topic(in_, 3);
  kafka_->create_topic(out_, 3);
  auto yaml = config("  name: echo\n  options: { delay: 50ms }\n", "  max_in_flight: 5000\n");
  auto connector = start_connector(yaml, 0);
  TopicReader replies(bootstrap_, out_);
  kafka_->produce(requests_over_keys(in_, kRequests, 100));
  ASSERT_TRUE(replies.wait_for(kRequests / 4, seconds(60))) << connector->log();
  connector->signal(SIGTERM);
  auto at_stop = replies.count();
  auto code = connector->wait(seconds(60));
  ASSERT_LT(at_stop, static_cast<std::size_t>(kRequests)) << "the SIGTERM came too late to be mid-load";
  EXPECT_EQ(code, 0) << connector->log();
  EXPECT_THAT(connector->log(), ::testing::HasSubstr("stopping (SIGTERM)"));

  auto restarted = start_connector(yaml, 1);
  wait_answered(replies, kRequests, seconds(120));
  restarted->signal(SIGTERM);
  EXPECT_EQ(restarted->wait(seconds(60)), 0) << restarted->log();
  auto [distinct, duplicates] = final_count(replies);
  std::printf("[ figures  ] SIGTERM after %zu of %d replies: %zu requests without a reply, %zu duplicate replies\n",
              at_stop, kRequests, kRequests - distinct, duplicates);
  EXPECT_EQ(distinct, static_cast<std::size_t>(kRequests));
  EXPECT_EQ(duplicates, 0u);
}

// ONE partition, 2,000 requests over 1,000 keys, echo 50 ms: far more than one request in
// flight at a time, and the replies of each key in request order.
TEST_F(ConnectorTest, OnePartitionServesManyKeysConcurrentlyAndEachKeyInOrder) {
  constexpr int kRequests = 2000;
  kafka_->create_topic(in_, 1);
  kafka_->create_topic(out_, 1);
  kafka_->produce(requests_over_keys(in_, kRequests, 1000));  // all queued before the connector starts
  auto connector =
      start_connector(config("  name: echo\n  options: { delay: 50ms }\n", "  ordering: key\n  max_in_flight: 5000\n"));
  TopicReader replies(bootstrap_, out_);
  ASSERT_TRUE(replies.wait_for(kRequests, seconds(120))) << connector->log();
  connector->signal(SIGTERM);
  ASSERT_EQ(connector->wait(seconds(60)), 0) << connector->log();

  // Order per key: the reply topic has one partition, so record order is produce order.
  std::map<std::string, std::vector<int>> seq_by_key;
  for (const auto& r : replies.records()) {
    auto body = boost::json::parse(r.value);
    seq_by_key[std::string(body.at("key").as_string())].push_back(static_cast<int>(body.at("seq").as_int64()));
  }
  ASSERT_EQ(seq_by_key.size(), 1000u);
  for (const auto& [key, seqs] : seq_by_key) {
    EXPECT_TRUE(std::is_sorted(seqs.begin(), seqs.end())) << key;
    EXPECT_EQ(seqs.size(), 2u) << key;
  }
  auto log = connector->log();
  double handling = log_figure(log, "handling_mean");
  double busy = log_figure(log, "busy_s");
  std::printf(
      "[ figures  ] one partition, 1000 keys, echo 50ms: %.1f requests being handled on average, "
      "%d requests in %.3f s busy\n",
      handling, kRequests, busy);
  EXPECT_GE(handling, 200.0) << log;
}

// Three rebalances in a row under load: a second member joins (the first drains and releases two
// partitions; cooperative-sticky moves them in a second round), then leaves again (its partitions
// come back to the first). Nothing may be lost and nothing answered twice. Two defects made this
// fail: (1) an OffsetCommit sent while the first member's JoinGroup waited for the second member
// (here: the second heartbeats only every 2 s) came back ILLEGAL_GENERATION, which made
// librdkafka 2.0.2 declare the whole assignment lost and the answered-but-uncommitted requests
// of the partitions it kept were answered again; (2) partitions the first member paused while
// draining stayed paused when the group gave them back, and were never served again.
TEST_F(ConnectorTest, ARebalanceMidLoadLosesNothingAndAnswersNothingTwice) {
  constexpr int kRequests = 8000;
  constexpr int kChunks = 80;  // 100 requests every 100 ms: a steady load for ~8 s
  kafka_->create_topic(in_, 4);
  kafka_->create_topic(out_, 4);
  auto with = [this](const std::string& properties) {
    auto yaml =
        config("  name: echo\n  options: { delay: 1s }\n", "  max_in_flight: 10000\n  commit_interval: 100ms\n");
    yaml.replace(yaml.find("auto.offset.reset: earliest"), 27, "auto.offset.reset: earliest, " + properties);
    return yaml + "observability:\n  http:\n    listen: 127.0.0.1:0\n";
  };
  auto first = start_connector(with("heartbeat.interval.ms: '300'"), 0);
  TopicReader replies(bootstrap_, out_);
  // 2,000 keys (each key's requests run one after another), each request held 1 s: ~1,000 requests
  // in flight at any time, so every rebalance meets requests in flight even when the load thread
  // stalls for a while on a busy machine (with 100 ms, a stall of 100 ms left the revoked
  // partitions empty and the drain unexercised), and more arrive after it.
  auto all = requests_over_keys(in_, kRequests, 2000);
  std::atomic<bool> loading{true};
  std::thread load([&] {
    TestKafka producer(bootstrap_);
    for (int c = 0; c < kChunks; ++c) {
      producer.produce({all.begin() + c * (kRequests / kChunks), all.begin() + (c + 1) * (kRequests / kChunks)});
      std::this_thread::sleep_for(milliseconds(100));
    }
    loading = false;
  });
  ASSERT_TRUE(replies.wait_for(kRequests / 20, seconds(60))) << first->log();
  auto at_join = replies.count();
  auto second = start_connector(with("heartbeat.interval.ms: '2000'"), 1);  // returns once it has partitions
  // Let the second member serve a while (its own count of consumed requests grows), then take it
  // away again: its partitions go back to the first.
  std::smatch m;
  auto second_log = second->log();
  ASSERT_TRUE(std::regex_search(second_log, m, std::regex(R"(metrics and health on http://([0-9.]+:[0-9]+))")))
      << second_log;
  auto metrics = m[1].str();
  auto second_consumed = [&] {
    std::smatch c;
    auto page = http_get(metrics, "/metrics").body;
    return std::regex_search(page, c, std::regex(R"(\nfxconnect_requests_consumed_total ([0-9]+))")) ? std::stoi(c[1])
                                                                                                     : 0;
  };
  auto until = std::chrono::steady_clock::now() + seconds(60);
  while (second_consumed() < 500 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(milliseconds(50));
  ASSERT_GE(second_consumed(), 500) << second->log();
  second->signal(SIGTERM);
  EXPECT_EQ(second->wait(seconds(60)), 0) << second->log();
  bool left_mid_load = loading;
  load.join();
  wait_answered(replies, kRequests, seconds(120));
  first->signal(SIGTERM);
  EXPECT_EQ(first->wait(seconds(60)), 0) << first->log();
  auto [distinct, duplicates] = final_count(replies);
  std::printf(
      "[ figures  ] member joined after %zu of %d replies and left mid-load: %zu without a reply, %zu "
      "duplicates\n",
      at_join, kRequests, kRequests - distinct, duplicates);
  EXPECT_LT(at_join, static_cast<std::size_t>(kRequests) / 2) << "the second member joined too late to be mid-load";
  EXPECT_TRUE(left_mid_load) << "the second member left after the load: the last rebalance met no new requests";
  EXPECT_EQ(distinct, static_cast<std::size_t>(kRequests)) << first->log();
  EXPECT_EQ(duplicates, 0u) << first->log();
  auto log = first->log();
  auto drained = log_figure(log, "draining");
  std::printf("[ figures  ] the first member drained %.0f in-flight requests of the revoked partitions\n", drained);
  EXPECT_GT(drained, 0) << "the revoked partitions had nothing in flight: the drain was not exercised\n" << log;
  EXPECT_THAT(log, ::testing::HasSubstr("partitions released"));
  EXPECT_THAT(log, ::testing::Not(::testing::HasSubstr("partitions lost")));
}

// At the in-flight limit with a handler slower than max.poll.interval.ms, intake stays held
// longer than that interval: the partitions get paused, the member keeps polling, stays in its
// group, and answers each request once.
TEST_F(ConnectorTest, APausedConsumerKeepsItsGroupMembership) {
  constexpr int kRequests = 2;
  kafka_->create_topic(in_, 1);
  kafka_->create_topic(out_, 1);
  auto yaml = config("  name: echo\n  options: { delay: 8s }\n", "  max_in_flight: 1\n  deadline: 30s\n");
  yaml.replace(yaml.find("auto.offset.reset: earliest"), 27,
               "auto.offset.reset: earliest, session.timeout.ms: '6000', max.poll.interval.ms: '6000'");
  auto connector = start_connector(yaml);
  TopicReader replies(bootstrap_, out_);
  kafka_->produce(requests_over_keys(in_, kRequests, kRequests));
  ASSERT_TRUE(replies.wait_for(kRequests, seconds(60))) << connector->log();
  connector->signal(SIGTERM);
  EXPECT_EQ(connector->wait(seconds(60)), 0) << connector->log();
  auto [distinct, duplicates] = final_count(replies);
  EXPECT_EQ(distinct, static_cast<std::size_t>(kRequests));
  EXPECT_EQ(duplicates, 0u);
  auto log = connector->log();
  EXPECT_THAT(log, ::testing::HasSubstr("intake paused"));
  EXPECT_THAT(log, ::testing::Not(::testing::HasSubstr("revoked")));
  EXPECT_THAT(log, ::testing::Not(::testing::HasSubstr("lost")));
  EXPECT_THAT(log, ::testing::Not(::testing::HasSubstr("MAX_POLL_EXCEEDED")));
}

}  // namespace
}  // namespace fxconnect::testing
