// `fxconnect lint` as a user runs it: the real program, files on disk, exit codes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "child_process.h"

namespace fxconnect::testing {
namespace {

using ::testing::HasSubstr;

const char* kGood = R"(kafka:
  bootstrap: 127.0.0.1:9
  group_id: g
input:
  topic: ai.flowx.dev.plugin.x.in.v1
reply:
  topic: ai.flowx.dev.engine.receive.plugin.x.out.v1
handler:
  name: echo
)";

struct Lint {
  int code;
  std::string output;
};

Lint lint(const std::string& name, const std::string& yaml) {
  auto path = write_temp_file(name, yaml);
  ChildProcess p({program_path("fxconnect"), "lint", path}, path + ".log");
  auto code = p.wait(std::chrono::seconds(30));
  return Lint{code.value_or(-1), p.log()};
}

TEST(LintCli, AcceptsAGoodConfig) {
  auto r = lint("good.yaml", kGood);
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("good.yaml: ok"));
}

TEST(LintCli, RejectsAnUnknownKeyNamingFileAndLine) {
  auto r = lint("unknown.yaml", std::string(kGood) + "processing:\n  max_inflight: 10\n");
  EXPECT_NE(r.code, 0);
  EXPECT_THAT(r.output, HasSubstr("unknown.yaml:11:3: processing.max_inflight: unknown key"));
}

TEST(LintCli, RejectsAReplyTopicOutsideTheEnginePattern) {
  std::string yaml = kGood;
  yaml.replace(yaml.find("ai.flowx.dev.engine.receive.plugin.x.out.v1"), 43, "replies.x");
  auto r = lint("pattern.yaml", yaml);
  EXPECT_NE(r.code, 0);
  EXPECT_THAT(r.output, HasSubstr("pattern.yaml:7:10: reply.topic: 'replies.x' does not match reply.engine_pattern"));
}

TEST(LintCli, RejectsANegativeMaxInFlight) {
  auto r = lint("negative.yaml", std::string(kGood) + "processing:\n  max_in_flight: -1\n");
  EXPECT_NE(r.code, 0);
  EXPECT_THAT(r.output, HasSubstr("negative.yaml:11:18: processing.max_in_flight: -1 is out of range"));
}

TEST(LintCli, RejectsBadLibrdkafkaPropertiesAndHandlerOptions) {
  auto r = lint("props.yaml", std::string(kGood) + "  options: { delay: soon, colour: red }\nkafka_extra: 1\n");
  EXPECT_NE(r.code, 0);
  EXPECT_THAT(r.output, HasSubstr("kafka_extra: unknown key"));
  auto r2 = lint("props2.yaml", std::string(kGood) + "  options: { colour: red }\n");
  EXPECT_THAT(r2.output, HasSubstr("handler.options.colour: unknown option; valid options: delay"));
  std::string yaml = kGood;
  yaml.insert(yaml.find("input:"), "  properties: { no.such.property: 1, enable.auto.commit: 'true' }\n");
  auto r3 = lint("props3.yaml", yaml);
  EXPECT_NE(r3.code, 0);
  EXPECT_THAT(r3.output, HasSubstr("props3.yaml:4:35: no.such.property: No such configuration property"));
  EXPECT_THAT(r3.output, HasSubstr("kafka.properties.enable.auto.commit: set by fxconnect"));
}

TEST(LintCli, RunsLibrdkafkasOwnChecksOfPropertyCombinations) {
  // Each value is valid alone; together with idempotence librdkafka refuses it when the client is
  // created. lint must say so, not `run`.
  std::string yaml = kGood;
  yaml.insert(yaml.find("input:"), "  producer_properties: { max.in.flight.requests.per.connection: '10' }\n");
  auto r = lint("combination.yaml", yaml);
  EXPECT_NE(r.code, 0);
  EXPECT_THAT(r.output, HasSubstr("combination.yaml: kafka properties (producer): "));
  EXPECT_THAT(r.output, HasSubstr("max.in.flight"));
}

TEST(LintCli, RefusesDurationsThatWouldOverflow) {
  auto r = lint("long.yaml", std::string(kGood) + "processing:\n  deadline: 3000000h\n");
  EXPECT_NE(r.code, 0);
  EXPECT_THAT(r.output, HasSubstr("processing.deadline: '3000000h' is longer than 30 days"));
}

}  // namespace
}  // namespace fxconnect::testing

namespace fxconnect::testing {
namespace {

Lint run_cli(const std::string& name, const std::vector<std::string>& args) {
  std::vector<std::string> argv{program_path("fxconnect")};
  argv.insert(argv.end(), args.begin(), args.end());
  auto log = write_temp_file(name + ".log", "");
  ChildProcess p(argv, log);
  auto code = p.wait(std::chrono::seconds(30));
  return Lint{code.value_or(-1), p.log()};
}

TEST(VersionCli, NamesTheLibrariesItRunsWith) {
  auto r = run_cli("version", {"--version"});
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_THAT(r.output, ::testing::ContainsRegex("^fxconnect [0-9]+\\.[0-9]+\\.[0-9]+\nlibrdkafka [0-9]+\\.[0-9]+"
                                                 "\\.[0-9]+\nlibcurl [0-9]+\\.[0-9]+"));
}

TEST(DlqRedriveCli, RefusesAConfigWithoutADeadLetterTopicBeforeConnecting) {
  auto path = write_temp_file("no-dlq.yaml", kGood);  // bootstrap 127.0.0.1:9: nothing listens there
  auto r = run_cli("no-dlq", {"dlq", "redrive", "--config", path});
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("errors.dlq_topic is not set"));
}

TEST(DlqRedriveCli, RefusesABadSinceOrRateNamingWhatWouldBeValid) {
  auto path = write_temp_file("dlq.yaml", std::string(kGood) + "errors:\n  dlq_topic: ai.flowx.dev.plugin.x.dlq.v1\n");
  auto since = run_cli("bad-since", {"dlq", "redrive", "--config", path, "--since", "yesterday"});
  EXPECT_EQ(since.code, 2);
  EXPECT_THAT(since.output, HasSubstr("--since 'yesterday': expected an RFC 3339 time"));
  auto rate = run_cli("bad-rate", {"dlq", "redrive", "--config", path, "--rate", "fast"});
  EXPECT_EQ(rate.code, 2);
  EXPECT_THAT(rate.output, HasSubstr("--rate 'fast': expected calls per unit of time"));
}

}  // namespace
}  // namespace fxconnect::testing
