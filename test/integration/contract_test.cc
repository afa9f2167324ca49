// CONTRACT.md against a real broker: what a reply carries, and what a bad request gets.
#include <thread>

#include <gmock/gmock.h>
#include <boost/json/parse.hpp>

#include "connector_fixture.h"

namespace fxconnect::testing {
namespace {

using std::chrono::seconds;

// Headers as the engine sends them, plus everything that tends to break a naive copy.
Headers engine_headers(int i, const std::string& uuid) {
  return {
      {"processInstanceUuid", uuid},
      {"processInstanceId", std::to_string(1000 + i)},
      {"fxContext", i % 3 == 0 ? "main" : "main:4:12"},
      {"Fx-AppId", "app-1"},
      {"custom", "first"},
      {"custom", "second"},                            // duplicate name, both kept in order
      {"binary", std::string("\x00\xff\x01\x00", 4)},  // NUL and 0xFF
      {"empty", ""},                                   // empty value
      {"nothing", std::nullopt},                       // null value
      {"na\xc3\xafve-\xe6\x97\xa5\xe6\x9c\xac", "non-ASCII name"},
      {"custom", "third"},
      {"Fx-Organization-Id", std::to_string(i % 7)},
  };
}

// 1,000 requests with those headers, answered by echo through a connector whose producer has
// `producer_properties`: every reply carries its request's headers unchanged and is keyed by its
// process instance. The connector's log goes to `log`.
class ReplyHeadersTest : public ConnectorTest {
 protected:
  void replies_carry_the_request_headers(const std::string& producer_properties, std::string* log = nullptr);
};

TEST_F(ReplyHeadersTest, EveryReplyCarriesTheRequestHeadersUnchangedAndIsKeyedByProcessInstance) {
  replies_carry_the_request_headers("");
}

// With room for 4 records in librdkafka's queue, most replies wait in the connector's backlog
// first (kafka::Replier): they carry the request's headers all the same (the consumer's list of
// them, which a reply's first produce hands on instead of a copy, waits with them).
TEST_F(ReplyHeadersTest, RepliesHeldBackByAFullProducerQueueCarryTheRequestHeadersToo) {
  std::string log;
  replies_carry_the_request_headers("queue.buffering.max.messages: '4'", &log);
  EXPECT_GT(stop_figure(log, "produce_held_back"), 0) << "no reply was held back\n" << log;
}

void ReplyHeadersTest::replies_carry_the_request_headers(const std::string& producer_properties, std::string* log) {
  constexpr int kRequests = 1000;
  kafka_->create_topic(in_, 3);
  kafka_->create_topic(out_, 3);
  auto connector = start_connector(config("  name: echo\n", "  ordering: key\n", false, producer_properties));

  std::vector<core::OutgoingRecord> requests;
  std::map<std::string, Headers> sent;
  for (int i = 0; i < kRequests; ++i) {
    std::string uuid = "5c1f0a7e-0000-4000-8000-" + std::to_string(100000000000 + i);
    // Some requests carry a record key that differs from the header: the header wins.
    std::optional<std::string> key = i % 10 == 0 ? std::optional<std::string>("other-key-" + std::to_string(i)) : uuid;
    requests.push_back({in_, key, engine_headers(i, uuid), R"({"i":)" + std::to_string(i) + "}"});
    sent[uuid] = requests.back().headers;
  }
  kafka_->produce(requests);

  TopicReader replies(bootstrap_, out_);
  ASSERT_TRUE(replies.wait_for(kRequests, seconds(120))) << "replies: " << replies.count() << "\n" << connector->log();
  auto got = by_uuid(replies.records());
  ASSERT_EQ(got.size(), static_cast<std::size_t>(kRequests));
  std::set<int> partitions;
  for (const auto& [uuid, records] : got) {
    ASSERT_EQ(records.size(), 1u) << uuid;
    const auto& r = records[0];
    EXPECT_EQ(r.key, uuid);
    EXPECT_EQ(r.headers, sent.at(uuid)) << uuid;
    partitions.insert(r.partition);
  }
  EXPECT_EQ(partitions.size(), 3u) << "replies spread over the reply topic's partitions by key";

  connector->signal(SIGTERM);
  EXPECT_EQ(connector->wait(seconds(60)), 0) << connector->log();
  if (log) *log = connector->log();
}

struct BadCase {
  std::string name;
  std::string body;
  std::string expected_code;
};

TEST_F(ConnectorTest, EveryBadRequestGetsAnErrorReplyAndADeadLetterAndTheConnectorKeepsServing) {
  kafka_->create_topic(in_, 1);
  kafka_->create_topic(out_, 1);
  kafka_->create_topic(dlq_, 1);
  // Replies up to 1 MB here (the default is the engine's 50 MB), so "too-large" needs only 2 MB.
  auto connector =
      start_connector(config("  name: scripted\n", "  deadline: 1s\n", true, "message.max.bytes: '1000000'") +
                      "log:\n  bodies: true\n");

  std::vector<BadCase> cases = {
      {"not-json", "this is not JSON", "invalid_request"},
      {"empty", "", "invalid_request"},
      {"invalid-utf8", std::string("{\"name\":\"\xc3\x28\"}"), "invalid_request"},
      {"truncated", R"({"customer": {"name": "Ana", "birth)", "invalid_request"},
      {"handler-error", R"({"fail": "customer 42 is blocked"})", "handler_failed"},
      {"deadline", R"({"sleep_ms": 3000})", "deadline_exceeded"},
      {"too-large", R"({"reply_bytes": 2000000})", "reply_too_large"},
      {"throws", R"({"throw": "handler bug"})", "internal"},
      {"throws-later", R"({"throw_later": "callback bug"})", "internal"},
  };
  std::vector<core::OutgoingRecord> requests;
  for (const auto& c : cases) {
    requests.push_back({in_, c.name, {{"processInstanceUuid", c.name}, {"fxContext", "main"}}, c.body});
  }
  requests.push_back({in_, "good", {{"processInstanceUuid", "good"}}, R"({"after":"the bad ones"})"});
  kafka_->produce(requests);

  TopicReader replies(bootstrap_, out_);
  TopicReader dead_letters(bootstrap_, dlq_);
  ASSERT_TRUE(replies.wait_for(cases.size() + 1, seconds(60))) << connector->log();
  ASSERT_TRUE(dead_letters.wait_for(cases.size(), seconds(30))) << connector->log();
  auto got = by_uuid(replies.records());
  auto dead = by_uuid(dead_letters.records());
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    ASSERT_EQ(got[c.name].size(), 1u);
    auto body = boost::json::parse(got[c.name][0].value);
    EXPECT_FALSE(body.at("errorMessage").as_string().empty());
    EXPECT_EQ(body.at("error").at("code").as_string(), c.expected_code);
    EXPECT_TRUE(body.at("error").at("retriable").is_bool());
    ASSERT_EQ(dead[c.name].size(), 1u);
    const auto& dl = dead[c.name][0];
    EXPECT_EQ(dl.value, c.body) << "the dead letter keeps the original bytes";
    EXPECT_EQ(dl.key, c.name);
    EXPECT_EQ(first_value(dl.headers, "fxconnect-error-code"), c.expected_code);
    EXPECT_EQ(first_value(dl.headers, "fxContext"), "main");
  }
  EXPECT_THAT(std::string(boost::json::parse(got["handler-error"][0].value).at("errorMessage").as_string()),
              ::testing::HasSubstr("customer 42 is blocked"));
  ASSERT_EQ(got["good"].size(), 1u);
  EXPECT_EQ(got["good"][0].value, R"({"after":"the bad ones"})") << "still serving after the bad ones";
  EXPECT_TRUE(connector->running());
  // The handler of "deadline" answers 3 s after consumption, long after its error reply: that
  // late answer must be ignored, not become a second outcome. The stop waits for it: a handler
  // still running holds its request (and its key) until it has finished.
  EXPECT_THAT(connector->log(), ::testing::HasSubstr("body=this is not JSON")) << "log.bodies: true";
  EXPECT_THAT(connector->log(), ::testing::HasSubstr("body={\"name\":\"\\xc3(\"}")) << "bytes escaped";

  connector->signal(SIGTERM);
  EXPECT_EQ(connector->wait(seconds(60)), 0) << connector->log();
  ASSERT_TRUE(replies.wait_caught_up(seconds(60)));
  EXPECT_EQ(replies.count(), cases.size() + 1) << "exactly one outcome per request";
  EXPECT_THAT(connector->log(), ::testing::HasSubstr("late_completions=1"));
}

TEST_F(ConnectorTest, AnInputPatternMatchesWholeTopicNamesOnly) {
  std::string longer = in_ + ".dlq";  // starts with what the pattern matches
  kafka_->create_topic(in_, 1);
  kafka_->create_topic(longer, 1);
  kafka_->create_topic(out_, 1);
  std::string pattern;  // in_ as a regular expression: dots escaped
  for (char c : in_) pattern += c == '.' ? std::string("[.]") : std::string(1, c);
  std::string yaml = config("  name: echo\n", "  max_in_flight: 10\n");
  yaml.replace(yaml.find("  topic: " + in_), 9 + in_.size(), "  pattern: \"" + pattern + "\"");
  auto connector = start_connector(yaml);
  kafka_->produce(
      {{in_, "a", {{"processInstanceUuid", "a"}}, "{}"}, {longer, "b", {{"processInstanceUuid", "b"}}, "{}"}});
  TopicReader replies(bootstrap_, out_);
  ASSERT_TRUE(replies.wait_for(1, seconds(30)));
  connector->signal(SIGTERM);
  EXPECT_EQ(connector->wait(seconds(60)), 0);
  ASSERT_TRUE(replies.wait_caught_up(seconds(60)));
  auto got = by_uuid(replies.records());
  EXPECT_EQ(got.size(), 1u);
  EXPECT_EQ(got.count("b"), 0u) << "consumed " << longer << ", which the pattern does not match whole";
  EXPECT_THAT(connector->log(), ::testing::Not(::testing::HasSubstr(longer + "[")));
}

}  // namespace
}  // namespace fxconnect::testing
