// The fault suite's accounting on made-up runs: each count can be made wrong on purpose.
#include <gtest/gtest.h>

#include "harness.h"

namespace fxconnect::faults {
namespace {

SentRequest req(std::int64_t id, int key, int partition, std::int64_t offset, std::int64_t sent_ms = 1000) {
  return SentRequest{id, key, sent_ms, 60, partition, offset};
}

SeenReply reply(std::int64_t id, int key, int partition, std::int64_t offset, std::int64_t ts = 1100) {
  SeenReply r;
  r.id = id;
  r.key = "uuid-" + std::to_string(key);
  r.partition = partition;
  r.offset = offset;
  r.timestamp_ms = ts;
  r.headers_ok = true;
  return r;
}

TEST(FaultAccounting, AnsweredOnceTwiceOrNever) {
  std::vector<SentRequest> sent{req(0, 0, 0, 0), req(1, 1, 0, 1), req(2, 0, 0, 2), req(3, 1, 0, 3)};
  sent.push_back(SentRequest{4, 0, 1000, 60, -1, -1});  // never reached the broker
  std::vector<SeenReply> replies{reply(0, 0, 0, 0), reply(1, 1, 1, 0), reply(1, 1, 1, 1), reply(1, 1, 1, 2),
                                 reply(2, 0, 0, 1)};
  auto o = account(sent, replies, {}, -1);
  EXPECT_EQ(o.requests, 4u);
  EXPECT_EQ(o.undelivered, 1u);
  EXPECT_EQ(o.lost, 1u);  // request 3
  EXPECT_EQ(o.duplicates, 2u);
  EXPECT_EQ(o.answered_twice_or_more, 1u);
  EXPECT_EQ(o.order_violations, 0u);
  EXPECT_EQ(o.commit_violations, 0u);
  // The soak found it: a request whose delivery report failed may be on the topic all the same;
  // its replies are neither foreign nor counted as answers.
  auto o2 = account(sent, {reply(4, 0, 0, 9), reply(4, 0, 0, 10)}, {}, -1);
  EXPECT_EQ(o2.foreign_replies, 0u);
  EXPECT_EQ(o2.undelivered, 1u);
}

TEST(FaultAccounting, OrderPerKeyByFirstReplies) {
  std::vector<SentRequest> sent{req(0, 7, 0, 0), req(1, 7, 0, 1), req(2, 7, 0, 2), req(3, 8, 0, 3)};
  // Key 7 answered 0, 2, 1 (1 after 2: one violation); a duplicate of 0 at the end is not one.
  std::vector<SeenReply> replies{reply(0, 7, 2, 10), reply(2, 7, 2, 11), reply(1, 7, 2, 12), reply(0, 7, 2, 13),
                                 reply(3, 8, 1, 0)};
  auto o = account(sent, replies, {}, -1);
  EXPECT_EQ(o.order_violations, 1u);
  EXPECT_EQ(o.duplicates, 1u);
  EXPECT_EQ(o.lost, 0u);
}

TEST(FaultAccounting, ACommitPastAnUnwrittenReplyIsAViolation) {
  std::vector<SentRequest> sent{req(0, 0, 0, 0), req(1, 1, 0, 1), req(2, 2, 1, 0)};
  std::vector<SeenReply> replies{reply(0, 0, 0, 0), reply(1, 1, 0, 5), reply(2, 2, 1, 0)};
  // At the snapshot, partition 0 was committed up to offset 2 (requests 0 and 1) but the reply of
  // request 1 (reply partition 0, offset 5) was not yet below the watermark 3: a violation.
  CommitSnapshot early{2000, {2, -1}, {3, 1}};
  auto o = account(sent, replies, {early}, -1);
  EXPECT_EQ(o.commit_violations, 1u);
  // With the watermark past it, none.
  CommitSnapshot fine{2000, {2, 1}, {6, 1}};
  EXPECT_EQ(account(sent, replies, {fine}, -1).commit_violations, 0u);
}

TEST(FaultAccounting, AnErrorReplyAfterTheAnswerCounts) {
  std::vector<SentRequest> sent{req(0, 0, 0, 0), req(1, 1, 0, 1)};
  auto late_error = reply(0, 0, 0, 1);
  late_error.error = true;
  auto o = account(sent, {reply(0, 0, 0, 0), late_error, reply(1, 1, 0, 2)}, {}, -1);
  EXPECT_EQ(o.error_replies, 1u) << "an error reply after the request's answer contradicts it";
  EXPECT_EQ(o.duplicates, 1u);
}

TEST(FaultAccounting, RepliesWithoutTheirHeadersAreForeign) {
  std::vector<SentRequest> sent{req(0, 0, 0, 0)};
  auto r = reply(0, 0, 0, 0);
  r.headers_ok = false;
  auto o = account(sent, {r}, {}, -1);
  EXPECT_EQ(o.foreign_replies, 1u);
  EXPECT_EQ(o.lost, 1u);
}

TEST(FaultAccounting, LatencyAndRecoveryFromTheFault) {
  // Fault at t=10 s; request 1 answered 3 s late at t=13 s, request 2 on time after it.
  std::vector<SentRequest> sent{req(0, 0, 0, 0, 9'000), req(1, 1, 0, 1, 10'000), req(2, 2, 0, 2, 14'000)};
  std::vector<SeenReply> replies{reply(0, 0, 0, 0, 9'050), reply(1, 1, 0, 1, 13'000), reply(2, 2, 0, 2, 14'060)};
  auto o = account(sent, replies, {}, 10'000);
  EXPECT_DOUBLE_EQ(o.max_latency_s, 3.0);
  EXPECT_DOUBLE_EQ(o.recovery_s, 3.0);
}

}  // namespace
}  // namespace fxconnect::faults
