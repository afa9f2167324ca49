// The request state machine with a fake world: a handler the test answers by hand, a producer
// that records what it was asked to send, and time the test moves. No Kafka, no timers.
#include "runtime/requests.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/parse.hpp>

namespace fxconnect::runtime {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::HasSubstr;

// Keeps every Call it is given; the test answers them.
class HeldHandler final : public Handler {
 public:
  void handle(std::shared_ptr<Call> call) override { calls.push_back(std::move(call)); }
  bool reads_json() const override { return json; }
  std::vector<std::shared_ptr<Call>> calls;
  bool json = true;
};

struct Produced {
  std::uint64_t tag;
  core::OutgoingRecord record;
  const rd_kafka_headers_t* wire = nullptr;  // the header list handed on with it, if any
  RecordKind kind() const { return read_record_tag(tag).second; }
  std::string code() const { return std::string(boost::json::parse(record.value).at("error").at("code").as_string()); }
};

class RequestsTest : public ::testing::Test {
 protected:
  void make(RequestSettings settings = {}, RequestObserver* observer = nullptr) {
    if (settings.reply_topic.empty()) settings.reply_topic = "out";
    requests_ = std::make_unique<Requests>(
        settings, handler_, io_.get_executor(), observer ? *observer : observer_,
        Requests::Effects{[this](std::uint64_t tag, const core::OutgoingRecord& r, kafka::WireHeaders h) {
                            produced_.push_back({tag, r, h.get()});
                            handed_.push_back(std::move(h));  // as librdkafka would: freed later
                          },
                          [this](const Pending& p) { written_.push_back(p.request->offset); },
                          [this](const std::string& why) { unusable_.push_back(why); },
                          [this](const std::string& why) { fatal_.push_back(why); }});
  }
  std::uint64_t admit(const std::string& key, std::int64_t offset, std::string body = R"({"n":1})") {
    Request r;
    r.topic = "in";
    r.partition = 0;
    r.offset = offset;
    r.key = key;
    r.headers = {{"processInstanceUuid", key}};
    r.body = std::move(body);
    return requests_->admit(std::move(r), 1, now_);
  }
  // Runs what the handlers' answers posted to the loop.
  void settle() {
    io_.restart();
    io_.poll();
  }
  void ack(const Produced& p) { requests_->delivered(kafka::Delivery::written(p.tag), now_); }
  void fail(const Produced& p, kafka::ProduceFailure failure, bool maybe_written = false, bool too_large = false) {
    requests_->delivered(kafka::Delivery{p.tag, failure, maybe_written, too_large, "TEST_ERROR: injected"}, now_);
  }
  void advance(Clock::duration d) {
    now_ += d;
    requests_->on_time(now_);
  }

  boost::asio::io_context io_;
  HeldHandler handler_;
  RequestObserver observer_{nullptr, "group", "held"};
  std::unique_ptr<Requests> requests_;
  Clock::time_point now_ = Clock::now();
  std::vector<Produced> produced_;
  std::vector<kafka::WireHeaders> handed_;
  std::vector<std::int64_t> written_;
  std::vector<std::string> unusable_, fatal_;
};

TEST_F(RequestsTest, RequestsOfOneKeyRunOneAfterAnotherAndOtherKeysAtOnce) {
  make();
  admit("a", 0);
  admit("a", 1);
  admit("b", 2);
  ASSERT_EQ(handler_.calls.size(), 2u) << "a's second request waits; b runs";
  handler_.calls[0]->reply(Reply{R"({"r":0})"});
  settle();
  ASSERT_EQ(produced_.size(), 1u);
  EXPECT_EQ(handler_.calls.size(), 2u) << "a's next starts only once the reply is acknowledged";
  ack(produced_[0]);
  ASSERT_EQ(handler_.calls.size(), 3u);
  EXPECT_EQ(handler_.calls[2]->request().offset, 1);
  EXPECT_EQ(written_, std::vector<std::int64_t>{0});
}

TEST_F(RequestsTest, ADeadlineKeepsTheKeyUntilTheHandlerHasReallyFinished) {
  make({config::Ordering::key, seconds(1), "out", "", false});
  admit("a", 0);
  admit("a", 1);
  ASSERT_EQ(handler_.calls.size(), 1u);
  advance(milliseconds(1001));
  ASSERT_EQ(produced_.size(), 2u) << "both past the deadline: two error replies";
  EXPECT_EQ(produced_[0].code(), "deadline_exceeded");
  ack(produced_[0]);
  ack(produced_[1]);
  EXPECT_EQ(written_.size(), 2u) << "both outcomes are on Kafka: both offsets may be committed";
  EXPECT_EQ(requests_->overdue(), 1u);
  // A third request of the key: the first handler still runs, so it must not start.
  admit("a", 2);
  EXPECT_EQ(handler_.calls.size(), 1u) << "the legacy system would see two operations of one process instance";
  handler_.calls[0]->reply(Reply{"{}"});  // the first handler finishes at last; its answer is ignored
  settle();
  EXPECT_EQ(requests_->overdue(), 0u);
  EXPECT_EQ(observer_.stats().late_completions, 1u);
  ASSERT_EQ(handler_.calls.size(), 2u) << "now the key's next request starts";
  EXPECT_EQ(handler_.calls[1]->request().offset, 2);
  EXPECT_EQ(produced_.size(), 2u) << "the late answer produced nothing";
}

TEST_F(RequestsTest, TheCancellationSlotFiresAtTheDeadline) {
  make({config::Ordering::key, seconds(1), "out", "", false});
  admit("a", 0);
  bool cancelled = false;
  handler_.calls[0]->cancellation_slot().assign([&](boost::asio::cancellation_type) { cancelled = true; });
  advance(milliseconds(999));
  EXPECT_FALSE(cancelled);
  advance(milliseconds(2));
  EXPECT_TRUE(cancelled);
}

TEST_F(RequestsTest, ASecondAnswerIsIgnored) {
  make();
  admit("a", 0);
  handler_.calls[0]->reply(Reply{R"({"first":true})"});
  handler_.calls[0]->fail(handler_error("second"));
  handler_.calls[0]->reply(Reply{R"({"third":true})"});
  settle();
  ASSERT_EQ(produced_.size(), 1u);
  EXPECT_EQ(produced_[0].record.value, R"({"first":true})");
}

TEST_F(RequestsTest, ADroppedCallIsAnsweredInternal) {
  make();
  admit("a", 0);
  handler_.calls.clear();  // released without an answer
  settle();
  ASSERT_EQ(produced_.size(), 1u);
  EXPECT_EQ(produced_[0].code(), "internal");
}

// Found by test/fuzz/intake_fuzz.cc: a body that stops being JSON after an object key made the
// parser free that key through the counting memory resource with another alignment than it was
// allocated with (undefined behaviour; the ASan tier reports new-delete-type-mismatch).
TEST_F(RequestsTest, ABodyThatIsNotJsonAfterAKeyIsAnInvalidRequest) {
  make();
  for (const char* body : {R"({"a": [1, 2,)", R"({"customer": {"id": "C-1", "name": )", R"({"k":1,"k2")"}) {
    admit("a", 0, body);
    ASSERT_FALSE(produced_.empty()) << body;
    EXPECT_EQ(produced_.back().kind(), RecordKind::error_reply) << body;
    EXPECT_EQ(produced_.back().code(), "invalid_request") << body;
    ack(produced_.back());
  }
  EXPECT_EQ(produced_.size(), 3u);
  EXPECT_TRUE(handler_.calls.empty()) << "the handler never sees a body that is not JSON";
  EXPECT_EQ(requests_->bytes(), 0u);
}

// Handler::reads_json() false: the body is checked by the same parser without building the
// document; the same bodies are refused with the same message, and the handler gets json null.
TEST_F(RequestsTest, AHandlerThatDoesNotReadJsonGetsTheSameRefusalsAndNoDocument) {
  const std::vector<std::string> bad = {R"({"a": [1, 2,)", R"({"k":1} x)",        "\"\xff\"", "[1,]", "nul",
                                        "{\"a\":1}{}",     std::string(2000, '[')};
  std::vector<std::string> messages[2];
  for (bool reads : {true, false}) {
    handler_.json = reads;
    produced_.clear();
    make();
    std::int64_t offset = 0;
    for (const auto& body : bad) {
      admit("k" + std::to_string(offset), offset, body);
      ++offset;
      ASSERT_FALSE(produced_.empty()) << body;
      EXPECT_EQ(produced_.back().code(), "invalid_request") << body;
      messages[reads ? 0 : 1].push_back(
          std::string(boost::json::parse(produced_.back().record.value).at("error").at("message").as_string()));
      ack(produced_.back());
    }
    EXPECT_TRUE(handler_.calls.empty()) << "reads_json " << reads;
    admit("good", offset, R"({"n":[1,2.5,"x",null,true]})");
    ASSERT_EQ(handler_.calls.size(), 1u);
    EXPECT_EQ(handler_.calls[0]->request().json.is_null(), !reads);
    EXPECT_EQ(handler_.calls[0]->request().body, R"({"n":[1,2.5,"x",null,true]})");
    handler_.calls.clear();
  }
  EXPECT_EQ(messages[0], messages[1]);
}

TEST_F(RequestsTest, AReplyThatMayHaveBeenWrittenIsNeverContradicted) {
  make({config::Ordering::key, seconds(30), "out", "dlq", false});
  admit("a", 0);
  handler_.calls[0]->reply(Reply{R"({"ok":true})"});
  settle();
  ASSERT_EQ(produced_.size(), 1u);
  fail(produced_[0], kafka::ProduceFailure::transient, /*maybe_written=*/true);
  advance(seconds(1));
  ASSERT_EQ(produced_.size(), 2u) << "the same reply, again";
  EXPECT_EQ(produced_[1].kind(), RecordKind::reply);
  EXPECT_EQ(produced_[1].record.value, R"({"ok":true})");
  // The second attempt fails for good (and certainly was not written this time).
  fail(produced_[1], kafka::ProduceFailure::record);
  for (const auto& p : produced_) {
    EXPECT_NE(p.kind(), RecordKind::error_reply) << "an error reply after a reply that may be on the topic";
  }
  ASSERT_EQ(produced_.size(), 3u) << "a dead letter keeps the request";
  EXPECT_EQ(produced_[2].kind(), RecordKind::dead_letter);
  EXPECT_EQ(observer_.stats().undeliverable, 1u);
  ack(produced_[2]);
  EXPECT_EQ(written_.size(), 1u) << "the request is finished: its offset may be committed";
}

TEST_F(RequestsTest, AReplyCertainlyNotWrittenBecomesAnErrorReply) {
  make();
  admit("a", 0);
  handler_.calls[0]->reply(Reply{R"({"ok":true})"});
  settle();
  fail(produced_[0], kafka::ProduceFailure::transient);  // timed out in the producer, never sent
  ASSERT_EQ(produced_.size(), 2u);
  EXPECT_EQ(produced_[1].code(), "reply_failed");
  auto body = boost::json::parse(produced_[1].record.value);
  EXPECT_TRUE(body.at("error").at("retriable").as_bool());
}

TEST_F(RequestsTest, AReplyTooLargeBecomesAnErrorReply) {
  make();
  admit("a", 0);
  handler_.calls[0]->reply(Reply{R"({"big":true})"});
  settle();
  fail(produced_[0], kafka::ProduceFailure::record, false, /*too_large=*/true);
  ASSERT_EQ(produced_.size(), 2u);
  EXPECT_EQ(produced_[1].code(), "reply_too_large");
}

TEST_F(RequestsTest, AnErrorReplyThatCanNeverBeWrittenIsGivenUpAndItsKeyGoesOn) {
  make();
  admit("a", 0, "");  // an empty body: an error reply
  admit("a", 1);
  ASSERT_EQ(produced_.size(), 1u);
  fail(produced_[0], kafka::ProduceFailure::record);
  EXPECT_EQ(observer_.stats().undeliverable, 1u);
  EXPECT_EQ(written_, std::vector<std::int64_t>{0}) << "given up: its partition is not blocked";
  ASSERT_EQ(handler_.calls.size(), 1u) << "the key's next request runs";
  EXPECT_EQ(handler_.calls[0]->request().offset, 1);
}

TEST_F(RequestsTest, ATransientFailureOfAnErrorReplyIsRetriedUntilWritten) {
  make();
  admit("a", 0, "");
  fail(produced_[0], kafka::ProduceFailure::transient);
  advance(milliseconds(499));
  EXPECT_EQ(produced_.size(), 1u) << "backoff";
  advance(milliseconds(2));
  ASSERT_EQ(produced_.size(), 2u);
  EXPECT_TRUE(written_.empty()) << "never committed past a request without its outcome";
  ack(produced_[1]);
  EXPECT_EQ(written_.size(), 1u);
  EXPECT_EQ(observer_.stats().produce_retries, 1u);
}

TEST_F(RequestsTest, AnUnusableReplyTopicStopsTheConnectorInsteadOfRetrying) {
  make();
  admit("a", 0);
  handler_.calls[0]->reply(Reply{"{}"});
  settle();
  fail(produced_[0], kafka::ProduceFailure::destination);
  ASSERT_EQ(unusable_.size(), 1u);
  EXPECT_THAT(unusable_[0], HasSubstr("the reply topic 'out' cannot be written"));
  advance(seconds(60));
  EXPECT_EQ(produced_.size(), 1u) << "not retried, not replaced";
  EXPECT_TRUE(written_.empty()) << "uncommitted: redelivered after the fix";
  EXPECT_EQ(requests_->unfinished(), 0u) << "the stop does not wait for it";
  EXPECT_EQ(requests_->in_flight(), 1u);
}

TEST_F(RequestsTest, OrderingPartitionRunsOneRequestOfThePartitionAtATime) {
  make({config::Ordering::partition, seconds(30), "out", "", false});
  admit("a", 0);
  admit("b", 1);
  EXPECT_EQ(handler_.calls.size(), 1u);
  handler_.calls[0]->reply(Reply{"{}"});
  settle();
  ack(produced_[0]);
  EXPECT_EQ(handler_.calls.size(), 2u);
}

TEST_F(RequestsTest, OrderingNoneRunsRequestsOfOneKeyAtOnce) {
  make({config::Ordering::none, seconds(30), "out", "", false});
  admit("a", 0);
  admit("a", 1);
  admit("a", 2);
  EXPECT_EQ(handler_.calls.size(), 3u);
  EXPECT_EQ(requests_->handling(), 3u);
}

// The consumer's own list of a request's headers (librdkafka's) goes out with the first produce
// of its reply or error reply, which carry exactly those headers; never with a dead letter (it
// adds headers), a retry (it was taken) or a reply whose trace header tracing rewrote.
TEST_F(RequestsTest, AReplyTakesTheConsumersHeaderListOnceAndADeadLetterNever) {
  make({config::Ordering::key, seconds(30), "out", "dlq", false});
  auto admit_with_list = [&](const std::string& key, std::int64_t offset, const std::string& body) {
    kafka::WireHeaders list(rd_kafka_headers_new(1));
    rd_kafka_header_add(list.get(), "processInstanceUuid", -1, key.data(), static_cast<ssize_t>(key.size()));
    const rd_kafka_headers_t* raw = list.get();
    Request r;
    r.topic = "in";
    r.offset = offset;
    r.key = key;
    r.headers = {{"processInstanceUuid", key}};
    r.body = body;
    requests_->admit(std::move(r), 1, now_, std::move(list));
    return raw;
  };
  admit("z", 9);  // the same request without a list
  const auto without = requests_->bytes();
  const rd_kafka_headers_t* a = admit_with_list("a", 0, R"({"n":1})");
  EXPECT_GT(requests_->bytes(), 2 * without) << "the list is counted while the request holds it";
  handler_.calls[0]->reply(Reply{R"({"ok":true})"});
  handler_.calls[1]->reply(Reply{R"({"ok":true})"});
  settle();
  ASSERT_EQ(produced_.size(), 2u);
  EXPECT_EQ(produced_[0].wire, nullptr) << "a request without a list";
  EXPECT_EQ(produced_[1].wire, a) << "the reply's first produce takes the request's list";
  EXPECT_TRUE(produced_[1].record.headers.empty()) << "the list replaces the record's headers, not copied";
  EXPECT_EQ(produced_[0].record.headers, (Headers{{"processInstanceUuid", "z"}}));
  const auto both = requests_->bytes();
  ack(produced_[0]);
  const auto with_list = requests_->bytes();
  EXPECT_LT(with_list, both - with_list)
      << "its reply holds no copy of the headers: less than the same request without";
  fail(produced_[1], kafka::ProduceFailure::transient, /*maybe_written=*/true);
  advance(seconds(1));
  ASSERT_EQ(produced_.size(), 3u);
  EXPECT_EQ(produced_[2].kind(), RecordKind::reply);
  EXPECT_EQ(produced_[2].wire, nullptr) << "the list went with the first attempt";
  EXPECT_EQ(produced_[2].record.headers, (Headers{{"processInstanceUuid", "a"}})) << "a retry carries the headers";
  EXPECT_GT(requests_->bytes(), with_list) << "the copy for the retry is counted";
  ack(produced_[2]);

  const rd_kafka_headers_t* b = admit_with_list("b", 1, "not json");
  ASSERT_EQ(produced_.size(), 5u) << "a dead letter and an error reply";
  EXPECT_EQ(produced_[3].kind(), RecordKind::dead_letter);
  EXPECT_EQ(produced_[3].wire, nullptr) << "a dead letter has headers of its own";
  EXPECT_EQ(produced_[4].kind(), RecordKind::error_reply);
  EXPECT_EQ(produced_[4].wire, b);
  EXPECT_TRUE(produced_[4].record.headers.empty());
  EXPECT_FALSE(produced_[3].record.headers.empty());
  ack(produced_[3]);
  ack(produced_[4]);
  handler_.calls.clear();
  EXPECT_EQ(requests_->bytes(), 0u);

  // Tracing rewrites a reply's trace header when the request came with one: the list no longer matches.
  RequestObserver traced(std::make_shared<observability::Tracer>(*observability::Sampler::parse("always"), nullptr),
                         "group", "held");
  make({config::Ordering::key, seconds(30), "out", "", false}, &traced);
  kafka::WireHeaders list(rd_kafka_headers_new(1));
  Request r;
  r.topic = "in";
  r.offset = 2;
  r.headers = {{"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}};
  r.body = "{}";
  requests_->admit(std::move(r), 1, now_, std::move(list));
  handler_.calls.back()->reply(Reply{"{}"});
  settle();
  ASSERT_EQ(produced_.size(), 6u);
  EXPECT_EQ(produced_[5].wire, nullptr);
  EXPECT_NE(produced_[5].record.headers[0].value, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
      << "the reply names the connector's producer span";
}

TEST_F(RequestsTest, BytesCountWhatARequestHoldsUntilItIsGone) {
  make();
  std::string body = R"({"items":[)";
  for (int i = 0; i < 1000; ++i) body += (i ? "," : "") + std::string(R"({"k":"value"})");
  body += "]}";
  admit("a", 0, body);
  auto held = requests_->bytes();
  EXPECT_GT(held, 2 * body.size()) << "the body and its parsed JSON (1000 objects)";
  handler_.calls[0]->reply(Reply{body});
  settle();
  EXPECT_GT(requests_->bytes(), held + 2 * body.size()) << "the reply, counted twice: its copy and librdkafka's";
  ack(produced_[0]);
  handler_.calls.clear();
  EXPECT_EQ(requests_->bytes(), 0u);
  EXPECT_EQ(requests_->in_flight(), 0u);
}

TEST_F(RequestsTest, AWaitingRequestPastItsDeadlineLeavesItsLane) {
  make({config::Ordering::key, seconds(1), "out", "", false});
  admit("a", 0);
  admit("a", 1);
  advance(milliseconds(1001));  // both answered deadline_exceeded; the first handler still runs
  ack(produced_[0]);
  ack(produced_[1]);
  handler_.calls[0]->reply(Reply{"{}"});
  settle();
  EXPECT_EQ(handler_.calls.size(), 1u) << "the second request never starts: its outcome is decided";
  EXPECT_EQ(requests_->in_flight(), 0u);
}

}  // namespace
}  // namespace fxconnect::runtime

namespace fxconnect::runtime {
namespace {

// Found by the fault suite (cut-30s): a member cut off from the brokers past its session lost its
// partitions; the replies it had queued timed out and became reply_failed error replies, sent once
// the network was back, while the new owner answered the same requests. Forsaken requests send
// nothing more: no reply, no error reply, no retry; a waiting one never starts.
TEST_F(RequestsTest, RequestsOfALostPartitionSendNothingMore) {
  make({config::Ordering::key, seconds(30), "out", "dlq", false});
  admit("a", 0);  // running
  admit("a", 1);  // waiting behind it
  admit("b", 2);  // running, its reply produced before the loss
  ASSERT_EQ(handler_.calls.size(), 2u);
  handler_.calls[1]->reply(Reply{"{}"});
  settle();
  ASSERT_EQ(produced_.size(), 1u);
  Request other;
  other.topic = "in";
  other.partition = 1;
  other.offset = 0;
  other.key = "c";
  other.headers = {{"processInstanceUuid", "c"}};
  other.body = "{}";
  requests_->admit(std::move(other), 1, now_);  // another partition: not lost
  ASSERT_EQ(handler_.calls.size(), 3u);

  bool cancelled = false;
  handler_.calls[0]->cancellation_slot().assign([&](boost::asio::cancellation_type) { cancelled = true; });
  EXPECT_EQ(requests_->forsake({{"in", 0}}), 3u);
  EXPECT_TRUE(cancelled) << "its handler is told to stop";
  // b's queued reply times out in librdkafka: certainly not written, yet no error reply follows.
  fail(produced_[0], kafka::ProduceFailure::transient);
  // a's handler answers anyway: nothing is sent, and a's waiting request never starts.
  // The other partition's request is unaffected: its handler's answer goes out.
  handler_.calls[2]->reply(Reply{"{}"});
  settle();
  ASSERT_EQ(produced_.size(), 2u);
  EXPECT_EQ(produced_[1].record.topic, "out");
  ack(produced_[1]);
  EXPECT_EQ(written_, std::vector<std::int64_t>{0});
  handler_.calls[0]->reply(Reply{"{}"});
  settle();
  advance(seconds(31));  // past every deadline: no deadline error replies either
  EXPECT_EQ(produced_.size(), 2u) << "nothing sent for the lost partition";
  EXPECT_EQ(handler_.calls.size(), 3u) << "a's second request did not start";
  EXPECT_EQ(written_, std::vector<std::int64_t>{0}) << "nothing of the lost partition counts as answered";
  EXPECT_EQ(requests_->in_flight(), 0u) << "every forsaken request is gone";
  EXPECT_EQ(requests_->bytes(), 0u);
}

}  // namespace
}  // namespace fxconnect::runtime
