#include "engine/definition.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fxconnect/handler.h"

namespace fxconnect::engine {
namespace {

using ::testing::HasSubstr;

const char* kTwoCalls = R"(process: p
sample_data: { customer: { name: Ana, age: 30 }, tags: [a, b] }
nodes:
  - send: ask
    topic: plugin.in
    message: { who: "${customer.name}", age: "${customer.age}" }
    headers: { channel: "web-${customer.name}" }
  - receive: answered
    topic: ai.flowx.dev.engine.receive.plugin.out
    key: answer
    timeout: PT1M30S
  - gateway: ok
    error_if_present: answer.errorMessage
  - send: again
    topic: other.in
    message: { ref: "${answer.ref}" }
  - receive: answered_again
    topic: ai.flowx.dev.engine.receive.other.out
    key: second
)";

std::string error_of(const std::string& yaml) {
  try {
    parse_definition(yaml, "p.yaml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(accepted)";
}

std::string replace(std::string text, const std::string& from, const std::string& to) {
  auto pos = text.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  return text.replace(pos, from.size(), to);
}

TEST(EngineDefinition, ParsesNodesInOrder) {
  auto d = parse_definition(kTwoCalls, "p.yaml");
  EXPECT_EQ(d.name, "p");
  ASSERT_EQ(d.nodes.size(), 5u);
  const auto& send = std::get<SendNode>(d.nodes[0]);
  EXPECT_EQ(send.topic, "plugin.in");
  EXPECT_EQ(send.headers.at(0), (std::pair<std::string, std::string>{"channel", "web-${customer.name}"}));
  const auto& receive = std::get<ReceiveNode>(d.nodes[1]);
  EXPECT_EQ(receive.key, "answer");
  EXPECT_EQ(receive.timeout, std::chrono::seconds(90));
  EXPECT_EQ(std::get<ReceiveNode>(d.nodes[4]).timeout, std::chrono::seconds(30)) << "default PT30S";
  EXPECT_EQ(std::get<GatewayNode>(d.nodes[2]).branches.at(0).present, "answer.errorMessage");
  EXPECT_EQ(d.sample_data.at("customer").at("age").as_int64(), 30) << "YAML numbers stay numbers";
  EXPECT_EQ(d.receive_topics(), (std::vector<std::string>{"ai.flowx.dev.engine.receive.plugin.out",
                                                          "ai.flowx.dev.engine.receive.other.out"}));
}

TEST(EngineDefinition, NamesFileLineAndWhatIsValid) {
  EXPECT_THAT(error_of(replace(kTwoCalls, "    key: answer\n", "    key: answer\n    color: red\n")),
              HasSubstr("p.yaml:11:5: nodes[1].color: unknown key; valid keys: receive, topic, key, timeout"));
  EXPECT_THAT(error_of(replace(kTwoCalls, "timeout: PT1M30S", "timeout: 90s")),
              HasSubstr("p.yaml:11:14: nodes[1].timeout: '90s' is not an ISO 8601 duration such as PT30S"));
  EXPECT_THAT(error_of(replace(kTwoCalls, "topic: ai.flowx.dev.engine.receive.plugin.out", "topic: replies")),
              HasSubstr("p.yaml:9:12: nodes[1].topic: 'replies' does not match engine_pattern"));
  EXPECT_THAT(error_of(replace(kTwoCalls, "\"${customer.name}\", age", "\"${customer.name\", age")),
              HasSubstr("p.yaml:6:14: nodes[0].message: '${customer.name': '${' at character 1 has no closing '}'"));
  EXPECT_THAT(
      error_of(replace(kTwoCalls, "  - gateway: ok\n    error_if_present: answer.errorMessage\n", "  - gateway: ok\n")),
      HasSubstr("nodes[2]: a gateway needs `error_if_present: PATH`"));
  EXPECT_THAT(error_of("process: p\nnodes: []\n"), HasSubstr("p.yaml:2:8: nodes: expected a list"));
  EXPECT_THAT(error_of("nodes:\n  - send: a\n    topic: t\n    message: {}\n"),
              HasSubstr("the last send node has no receive node"));
  EXPECT_THAT(error_of("nodes:\n  - send: a\n    topic: t\n    message: {}\n"), HasSubstr("`process` is required"));
  EXPECT_THAT(error_of("process: p\nnodes:\n  - send: a\n    receive: b\n"), HasSubstr("exactly one of"));
}

TEST(EngineDefinition, SampleDataNumbersAreJsonNumbersAndNothingElse) {
  auto d = parse_definition(
      replace(kTwoCalls, "sample_data: { customer: { name: Ana, age: 30 }, tags: [a, b] }",
              "sample_data: { a: Nan, b: inf, c: 0x10, d: 12345678901234567890123, e: 12.5, f: '7', g: -3 }"),
      "p.yaml");
  const auto& v = d.sample_data;
  EXPECT_EQ(v.at("a").as_string(), "Nan");
  EXPECT_EQ(v.at("b").as_string(), "inf");
  EXPECT_EQ(v.at("c").as_string(), "0x10");
  EXPECT_TRUE(v.at("d").is_double()) << "too large for an integer: a double, not a clamped integer";
  EXPECT_EQ(v.at("e").as_double(), 12.5);
  EXPECT_EQ(v.at("f").as_string(), "7") << "quoted stays text";
  EXPECT_EQ(v.at("g").as_int64(), -3);
}

TEST(EngineDefinition, RefusesWhatCannotWorkInsteadOfCrashing) {
  EXPECT_THAT(error_of(replace(kTwoCalls, "headers: { channel: \"web-${customer.name}\" }", "headers: [a, b]")),
              HasSubstr("nodes[0].headers: expected a mapping"));
  EXPECT_THAT(error_of(replace(kTwoCalls, "key: answer\n", "key: answer.part\n")),
              HasSubstr("nodes[1].key: 'answer.part' must be a plain name"));
  EXPECT_THAT(error_of(replace(kTwoCalls, "error_if_present: answer.errorMessage", "error_if_present: \"@uuid\"")),
              HasSubstr("is not a path into the process data"));
}

TEST(EngineDefinition, GatewayConditionsKeepTheirWrittenOrder) {
  auto d = parse_definition(replace(kTwoCalls, "    error_if_present: answer.errorMessage\n",
                                    "    end_if_present: answer.done\n    error_if_present: answer.errorMessage\n"),
                            "p.yaml");
  const auto& g = std::get<GatewayNode>(d.nodes[2]);
  ASSERT_EQ(g.branches.size(), 2u);
  EXPECT_EQ(g.branches[0].present, "answer.done");
  EXPECT_EQ(g.branches[0].end, GatewayNode::End::ok);
}

TEST(EngineDefinition, IsoDurations) {
  EXPECT_EQ(parse_iso_duration("PT30S"), std::chrono::seconds(30));
  EXPECT_EQ(parse_iso_duration("PT0.5S"), std::chrono::milliseconds(500));
  EXPECT_EQ(parse_iso_duration("PT1H2M3S"), std::chrono::seconds(3723));
  EXPECT_EQ(parse_iso_duration("P1DT1S"), std::chrono::seconds(86401));
  for (const char* bad : {"", "P", "PT", "30S", "PT-1S", "PT1.5M", "pt30s", "PT30"}) {
    EXPECT_FALSE(parse_iso_duration(bad).has_value()) << bad;
  }
}

// Found by test/fuzz/engine_fuzz.cc: a number too large for a double threw std::out_of_range out
// of the parser (std::stod), one too large for milliseconds gave a negative duration, and a NUL
// byte ended the text early.
TEST(EngineDefinition, IsoDurationsTooLargeOrWithANulByteAreRefused) {
  EXPECT_FALSE(parse_iso_duration("P" + std::string(400, '9') + "D").has_value());
  EXPECT_FALSE(parse_iso_duration("P122222222222222222222222222222222D").has_value());
  EXPECT_FALSE(parse_iso_duration("PT9999999999999999999S").has_value());
  EXPECT_FALSE(parse_iso_duration(std::string("PT30S\0junk", 10)).has_value());
  EXPECT_EQ(parse_iso_duration("P36500D"), std::chrono::hours(24 * 36500)) << "a century is fine";
  EXPECT_THAT(error_of(replace(kTwoCalls, "timeout: PT1M30S", "timeout: P" + std::string(400, '9') + "D")),
              HasSubstr("nodes[1].timeout: 'P999"));
  EXPECT_THAT(error_of("engine_pattern: 'a{7777777777777777777}'\n" + std::string(kTwoCalls)),
              HasSubstr("engine_pattern: not a valid regular expression"));
}

}  // namespace
}  // namespace fxconnect::engine
