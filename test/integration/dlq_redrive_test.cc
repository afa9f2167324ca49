// `fxconnect dlq redrive` on the real broker: dead letters made by the runtime's own
// make_dead_letter() go back to their source topic with key, headers (fxconnect-* removed) and
// bytes; filters, dry run, progress across runs, and a run killed with SIGKILL then resumed.
#include <csignal>
#include <map>
#include <set>

#include <gmock/gmock.h>

#include "connector_fixture.h"

namespace fxconnect::testing {
namespace {

using std::chrono::seconds;
using ::testing::HasSubstr;

class DlqRedriveTest : public ConnectorTest {
 protected:
  // A dead letter as the runtime writes it, for request number `i` consumed from in_.
  core::OutgoingRecord dead_letter(int i, ErrorCode code) const {
    Request r;
    r.topic = in_;
    r.partition = i % 2;
    r.offset = i;
    r.key = "pi-" + std::to_string(i);
    r.headers = {{"processInstanceUuid", "pi-" + std::to_string(i)},
                 {"fxContext", "main"},
                 {"x-empty", ""},
                 {"x-null", std::nullopt},
                 {"x-dup", "a"},
                 {"x-dup", "b"}};
    r.body = "{\"n\":" + std::to_string(i) + ",\"bytes\":\"\\u00e9\\u0000\"}";
    Error e{code, "failed " + std::to_string(i), code == ErrorCode::legacy_unavailable, std::nullopt};
    return core::make_dead_letter(r, dlq_, e);
  }

  struct Run {
    int exit_code;
    std::string output;
  };
  Run redrive(const std::vector<std::string>& args, int n) {
    auto config_path = write_temp_file(name_ + ".yaml", config("  name: echo\n", "  max_in_flight: 10\n", true));
    std::vector<std::string> argv{program_path("fxconnect"), "dlq", "redrive", "--config", config_path};
    argv.insert(argv.end(), args.begin(), args.end());
    ChildProcess p(argv, write_temp_file(name_ + ".redrive." + std::to_string(n) + ".log", ""));
    auto code = p.wait(seconds(120));
    return Run{code.value_or(-1), p.log()};
  }

  static std::string summary(const std::string& output) {
    auto at = output.find("dlq redrive: ");
    return at == std::string::npos ? std::string() : output.substr(at, output.find('\n', at) - at);
  }
};

TEST_F(DlqRedriveTest, SendsTheSelectedDeadLettersBackOnceWithTheirKeyHeadersAndBytes) {
  kafka_->create_topic(in_, 2);
  kafka_->create_topic(dlq_, 2);
  std::vector<core::OutgoingRecord> letters;
  for (int i = 0; i < 20; ++i)
    letters.push_back(dead_letter(i, i % 3 == 0 ? ErrorCode::invalid_request : ErrorCode::legacy_unavailable));
  auto unroutable = dead_letter(99, ErrorCode::legacy_unavailable);
  std::erase_if(unroutable.headers, [](const Header& h) { return h.name == "fxconnect-source-topic"; });
  letters.push_back(unroutable);
  kafka_->produce(letters);
  const int unavailable = 13, invalid = 7;  // i % 3 == 0 for 0, 3, ..., 18

  auto dry = redrive({"--error-code", "legacy_unavailable", "--dry-run"}, 1);
  EXPECT_EQ(dry.exit_code, 0) << dry.output;
  EXPECT_THAT(dry.output, HasSubstr("read=21 sent=13 skipped=7 unroutable=1 dry_run=true")) << dry.output;
  EXPECT_THAT(dry.output, HasSubstr("would send " + dlq_));
  EXPECT_THAT(dry.output, HasSubstr("unroutable " + dlq_));

  auto none = redrive({"--since", "2199-01-01T00:00:00Z", "--dry-run"}, 2);
  EXPECT_EQ(none.exit_code, 0) << none.output;
  EXPECT_THAT(none.output, HasSubstr("read=21 sent=0 skipped=21")) << "all older than --since";
  auto recent = redrive({"--since", "10m", "--dry-run"}, 3);
  EXPECT_THAT(recent.output, HasSubstr("sent=20 skipped=0 unroutable=1")) << recent.output;

  TopicReader source(bootstrap_, in_);
  ASSERT_TRUE(source.wait_caught_up(seconds(30)));
  EXPECT_EQ(source.count(), 0u) << "a dry run sends nothing";

  auto first = redrive({"--error-code", "legacy_unavailable", "--rate", "200/s"}, 4);
  EXPECT_EQ(first.exit_code, 0) << first.output;
  EXPECT_THAT(summary(first.output), HasSubstr("sent=13 skipped=7 unroutable=1 dry_run=false")) << first.output;
  ASSERT_TRUE(source.wait_for(unavailable, seconds(30)));

  auto again = redrive({"--error-code", "legacy_unavailable"}, 5);
  EXPECT_EQ(again.exit_code, 0) << again.output;
  EXPECT_THAT(summary(again.output), HasSubstr("read=0 sent=0")) << "its progress was committed";

  auto other = redrive({"--error-code", "invalid_request"}, 6);
  EXPECT_EQ(other.exit_code, 0) << other.output;
  EXPECT_THAT(summary(other.output), HasSubstr("read=21 sent=7 skipped=14")) << "another code, its own progress";

  ASSERT_TRUE(source.wait_for(unavailable + invalid, seconds(30)));
  ASSERT_TRUE(source.wait_caught_up(seconds(30)));
  auto records = source.records();
  ASSERT_EQ(records.size(), static_cast<std::size_t>(unavailable + invalid)) << "each sent once";
  std::map<std::string, ConsumedRecord> by_key;
  for (const auto& r : records) by_key[r.key.value_or("")] = r;
  ASSERT_EQ(by_key.size(), records.size());
  for (int i = 0; i < 20; ++i) {
    auto original = dead_letter(i, ErrorCode::internal);
    const auto& got = by_key.at("pi-" + std::to_string(i));
    EXPECT_EQ(got.value, original.value) << "the request's bytes";
    Headers without_ours;
    for (const auto& h : original.headers)
      if (!h.name.starts_with("fxconnect-")) without_ours.push_back(h);
    EXPECT_EQ(got.headers, without_ours) << "the request's headers, in order, fxconnect-* removed";
  }
}

TEST_F(DlqRedriveTest, ARedriveKilledMidwayResumesWithNothingLostAndAtMostOneBatchSentTwice) {
  kafka_->create_topic(in_, 2);
  kafka_->create_topic(dlq_, 2);
  const int n = 150;
  std::vector<core::OutgoingRecord> letters;
  for (int i = 0; i < n; ++i) letters.push_back(dead_letter(i, ErrorCode::legacy_timeout));
  kafka_->produce(letters);

  TopicReader source(bootstrap_, in_);
  auto config_path = write_temp_file(name_ + ".yaml", config("  name: echo\n", "  max_in_flight: 10\n", true));
  {
    // 30/s: batches of 3 records, about 5 s for all; killed once a third is through.
    ChildProcess p({program_path("fxconnect"), "dlq", "redrive", "--config", config_path, "--rate", "30/s"},
                   write_temp_file(name_ + ".killed.log", ""));
    ASSERT_TRUE(source.wait_for(n / 3, seconds(60))) << p.log();
    p.signal(SIGKILL);
    EXPECT_EQ(p.wait(seconds(30)), 128 + SIGKILL);
  }
  ASSERT_TRUE(source.wait_caught_up(seconds(30)));
  const auto before = source.count();
  EXPECT_LT(before, static_cast<std::size_t>(n)) << "killed before the end";

  auto resumed = redrive({"--rate", "500/s"}, 1);
  EXPECT_EQ(resumed.exit_code, 0) << resumed.output;
  auto again = redrive({}, 2);
  EXPECT_THAT(summary(again.output), HasSubstr("read=0 sent=0")) << again.output;

  ASSERT_TRUE(source.wait_for(n, seconds(60)));
  ASSERT_TRUE(source.wait_caught_up(seconds(30)));
  std::map<std::string, int> times;
  for (const auto& r : source.records()) ++times[r.key.value_or("")];
  EXPECT_EQ(times.size(), static_cast<std::size_t>(n)) << "every dead letter sent back";
  int twice = 0;
  for (const auto& [key, count] : times) {
    EXPECT_LE(count, 2) << key;
    if (count > 1) ++twice;
  }
  // Commits follow each batch of rate/10 records (3 at 30/s) once they are acknowledged.
  EXPECT_LE(twice, 3) << "only the uncommitted batch of the killed run is sent again";
  std::cout << "[ figures  ] dlq redrive killed after " << before << " of " << n << " records; sent twice: " << twice
            << "\n";
}

}  // namespace
}  // namespace fxconnect::testing
