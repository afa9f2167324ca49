// JSON Schema draft 7 (valijson over Boost.JSON): loading and its errors, and validation problems
// as dotted fields with the most specific first.
#include "flow/schema.h"

#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <boost/json.hpp>

namespace fxconnect::flow {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

std::string write_file(const std::string& name, const std::string& text) {
  std::string path = ::testing::TempDir() + "fxc_schema_test_" + name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  return path;
}

const char* const kLoanSchema = R"({
  "$schema": "http://json-schema.org/draft-07/schema#",
  "type": "object",
  "required": ["customer", "loan"],
  "properties": {
    "customer": {
      "type": "object",
      "required": ["name", "birthDate"],
      "properties": {
        "name": {"type": "string", "minLength": 1},
        "birthDate": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
        "segment": {"enum": ["retail", "private"]}
      }
    },
    "loan": {
      "type": "object",
      "required": ["amount"],
      "properties": {
        "amount": {"type": "number", "minimum": 1000},
        "currency": {"$ref": "#/definitions/currency"}
      }
    },
    "items": {
      "type": "array",
      "items": {
        "type": "object",
        "required": ["id"],
        "properties": {"id": {"type": "string"}, "tags": {"type": "array", "items": {"type": "string"}}}
      }
    }
  },
  "definitions": {"currency": {"type": "string", "pattern": "^[A-Z]{3}$"}}
})";

Schema loan_schema() {
  auto schema = Schema::load(write_file("loan.json", kLoanSchema));
  EXPECT_TRUE(schema.ok()) << (schema.ok() ? "" : schema.error().message);
  return std::move(schema).value();
}

std::vector<Schema::Problem> problems_of(const Schema& schema, const char* document) {
  return schema.validate(boost::json::parse(document));
}

MATCHER_P2(IsProblem, field, message_part, "") {
  return arg.field == field && arg.message.find(message_part) != std::string::npos;
}

std::string describe(const std::vector<Schema::Problem>& problems) {
  std::string out;
  for (const auto& p : problems) out += "[" + p.field + ": " + p.message + "] ";
  return out;
}

TEST(Schema, ValidDocumentHasNoProblems) {
  const Schema schema = loan_schema();
  EXPECT_THAT(problems_of(schema, R"({"customer":{"name":"Ann","birthDate":"1980-02-03","segment":"retail"},
      "loan":{"amount":12000,"currency":"EUR"},"items":[{"id":"a","tags":["x"]},{"id":"b"}]})"),
              IsEmpty());
}

TEST(Schema, RequiredPropertyIsTheMissingField) {
  const Schema schema = loan_schema();
  auto problems = problems_of(schema, R"({"customer":{"name":"Ann"},"loan":{"amount":5000}})");
  EXPECT_THAT(problems, ElementsAre(IsProblem("customer.birthDate", "is required"))) << describe(problems);
  problems = problems_of(schema, R"({"loan":{"amount":5000}})");
  EXPECT_THAT(problems, ElementsAre(IsProblem("customer", "is required"))) << describe(problems);
}

TEST(Schema, TypeMismatch) {
  const Schema schema = loan_schema();
  auto problems = problems_of(schema, R"({"customer":{"name":"Ann","birthDate":19800203},"loan":{"amount":"5000"}})");
  EXPECT_THAT(problems,
              ElementsAre(IsProblem("customer.birthDate", "got an integer"), IsProblem("loan.amount", "got a string")))
      << describe(problems);
  problems = problems_of(schema, "[1]");
  EXPECT_THAT(problems, ElementsAre(IsProblem("", "got an array"))) << describe(problems);
}

TEST(Schema, PatternEnumMinimum) {
  const Schema schema = loan_schema();
  auto problems = problems_of(schema, R"({"customer":{"name":"Ann","birthDate":"03.02.1980","segment":"vip"},
      "loan":{"amount":999.5,"currency":"eur"}})");
  EXPECT_THAT(problems, ElementsAre(IsProblem("customer.birthDate", "regex"), IsProblem("customer.segment", "enum"),
                                    IsProblem("loan.amount", "greater than or equal to 1000"),
                                    IsProblem("loan.currency", "regex")))
      << describe(problems);
}

TEST(Schema, NestedArrays) {
  const Schema schema = loan_schema();
  auto problems = problems_of(schema, R"({"customer":{"name":"Ann","birthDate":"1980-02-03"},"loan":{"amount":5000},
      "items":[{"id":"a"},{"id":7},{"tags":["x",3]}]})");
  EXPECT_THAT(problems,
              ElementsAre(IsProblem("items[2].tags[1]", "got an integer"), IsProblem("items[1].id", "got an integer"),
                          IsProblem("items[2].id", "is required")))
      << describe(problems);
}

TEST(Schema, MostSpecificFirstAndNoGenericWrappers) {
  const Schema schema = loan_schema();
  auto problems = problems_of(schema, R"({"customer":{"name":""},"loan":{"amount":1}})");
  ASSERT_THAT(problems, Not(IsEmpty()));
  for (const auto& p : problems) {
    EXPECT_THAT(p.message, Not(HasSubstr("Failed to validate against schema associated"))) << describe(problems);
  }
  EXPECT_THAT(problems,
              ElementsAre(IsProblem("customer.name", "no fewer than 1"), IsProblem("customer.birthDate", "is required"),
                          IsProblem("loan.amount", "greater than or equal to 1000")))
      << describe(problems);
}

TEST(Schema, UnexpectedPropertyIsItsOwnField) {
  auto schema = Schema::from_json(
      boost::json::parse(
          R"({"properties":{"a":{"type":"object","properties":{"b":{}},"additionalProperties":false}}})"),
      "inline");
  ASSERT_TRUE(schema.ok()) << schema.error().message;
  auto problems = problems_of(schema.value(), R"({"a":{"b":1,"extra":2}})");
  EXPECT_THAT(problems, ElementsAre(IsProblem("a.extra", "is not allowed"))) << describe(problems);
}

TEST(Schema, LimitsAreWrittenWithoutTrailingZeros) {
  auto schema = Schema::from_json(
      boost::json::parse(R"({"properties":{"a":{"minimum":5},"b":{"exclusiveMaximum":2.5},"c":{"multipleOf":0.25}}})"),
      "inline");
  ASSERT_TRUE(schema.ok()) << schema.error().message;
  auto problems = problems_of(schema.value(), R"({"a":1,"b":3,"c":0.3})");
  ASSERT_EQ(problems.size(), 3U) << describe(problems);
  EXPECT_EQ(problems[0].field, "a");
  EXPECT_EQ(problems[0].message, "Expected number greater than or equal to 5");
  EXPECT_EQ(problems[1].field, "b");
  EXPECT_EQ(problems[1].message, "Expected number less than 2.5");
  EXPECT_EQ(problems[2].field, "c");
  EXPECT_EQ(problems[2].message, "Value should be a multiple of 0.25");
}

TEST(Schema, KeysThatLookLikeIndexesStayKeys) {
  auto schema = Schema::from_json(
      boost::json::parse(R"({"properties":{"2":{"type":"string"},"list":{"items":{"type":"string"}}}})"), "inline");
  ASSERT_TRUE(schema.ok()) << schema.error().message;
  auto problems = problems_of(schema.value(), R"({"2":1,"list":["a",true]})");
  EXPECT_THAT(problems, ElementsAre(IsProblem("list[1]", "got a boolean"), IsProblem("2", "got an integer")))
      << describe(problems);
}

TEST(Schema, AnyOfKeepsItsSummary) {
  auto schema = Schema::from_json(
      boost::json::parse(R"({"properties":{"id":{"anyOf":[{"type":"string"},{"type":"integer"}]}}})"), "inline");
  ASSERT_TRUE(schema.ok()) << schema.error().message;
  auto problems = problems_of(schema.value(), R"({"id":1.5})");
  EXPECT_THAT(problems, Contains(IsProblem("id", "anyOf"))) << describe(problems);
  EXPECT_THAT(problems_of(schema.value(), R"({"id":"x"})"), IsEmpty());
}

TEST(Schema, LocalRefsResolve) {
  const Schema schema = loan_schema();  // loan.currency is a $ref into definitions
  EXPECT_THAT(problems_of(schema, R"({"customer":{"name":"A","birthDate":"1980-02-03"},"loan":{"amount":2000,
      "currency":"EURO"}})"),
              ElementsAre(IsProblem("loan.currency", "regex")));
}

TEST(Schema, MissingFile) {
  const std::string path = ::testing::TempDir() + "fxc_schema_test_does_not_exist.json";
  auto schema = Schema::load(path);
  ASSERT_FALSE(schema.ok());
  EXPECT_EQ(schema.error().code, ErrorCode::internal);
  EXPECT_THAT(schema.error().message, HasSubstr(path));
  EXPECT_THAT(schema.error().message, HasSubstr("cannot read"));
}

TEST(Schema, FileThatIsNotJson) {
  const std::string path = write_file("not_json.json", R"({"type": "object",)");
  auto schema = Schema::load(path);
  ASSERT_FALSE(schema.ok());
  EXPECT_EQ(schema.error().code, ErrorCode::internal);
  EXPECT_THAT(schema.error().message, HasSubstr(path));
  EXPECT_THAT(schema.error().message, HasSubstr("not JSON"));
}

TEST(Schema, InvalidKeywordValues) {
  const char* const cases[] = {
      R"({"type": 5})",
      R"({"properties": {"a": {"minimum": "ten"}}})",
      R"({"required": "a"})",
      R"({"$ref": "#/definitions/missing"})",
      R"([1, 2])",
  };
  for (const char* text : cases) {
    const std::string path = write_file("bad_keyword.json", text);
    auto schema = Schema::load(path);
    ASSERT_FALSE(schema.ok()) << text;
    EXPECT_EQ(schema.error().code, ErrorCode::internal);
    EXPECT_THAT(schema.error().message, HasSubstr(path)) << text;
  }
}

TEST(Schema, RegexesThatStdRegexRefusesFailAtLoad) {
  for (const char* text :
       {R"({"properties": {"a": {"pattern": "([a-z]"}}})", R"({"patternProperties": {"(": {"type": "string"}}})",
        // Numbers libstdc++ would overflow compiling them (core/regex.h).
        R"({"properties": {"a": {"pattern": "^a{7777777777777777777}$"}}})",
        R"({"properties": {"a": {"pattern": "(a)\\77777777777777777777"}}})"}) {
    auto schema = Schema::from_json(boost::json::parse(text), "inline.json");
    ASSERT_FALSE(schema.ok()) << text;
    EXPECT_THAT(schema.error().message, HasSubstr("inline.json"));
    EXPECT_THAT(schema.error().message, HasSubstr("regular expression"));
  }
  // A "pattern" that is data (an enum value) or a property name is not a regex.
  EXPECT_TRUE(
      Schema::from_json(boost::json::parse(R"({"enum": [{"pattern": "("}], "properties": {"pattern": {}}})"), "x")
          .ok());
}

TEST(Schema, RemoteRefIsNotFetched) {
  const std::string path =
      write_file("remote_ref.json", R"({"properties": {"a": {"$ref": "https://schemas.example.com/common.json#/x"}}})");
  auto schema = Schema::load(path);
  ASSERT_FALSE(schema.ok());
  EXPECT_THAT(schema.error().message, HasSubstr(path));
  EXPECT_THAT(schema.error().message, HasSubstr("https://schemas.example.com/common.json"));
  EXPECT_THAT(schema.error().message, HasSubstr("not fetched"));

  auto relative = Schema::from_json(boost::json::parse(R"({"$ref": "common.json#/x"})"), "rel.json");
  ASSERT_FALSE(relative.ok());
  EXPECT_THAT(relative.error().message, HasSubstr("common.json"));
}

TEST(Schema, BooleanSchemas) {
  auto always = Schema::from_json(boost::json::value(true), "true");
  ASSERT_TRUE(always.ok()) << always.error().message;
  EXPECT_THAT(problems_of(always.value(), R"({"a":1})"), IsEmpty());
  auto never = Schema::from_json(boost::json::parse(R"({"properties":{"a":false}})"), "false");
  ASSERT_TRUE(never.ok()) << never.error().message;
  EXPECT_THAT(problems_of(never.value(), R"({"a":1})"), Not(IsEmpty()));
  EXPECT_THAT(problems_of(never.value(), R"({"b":1})"), IsEmpty());
}

TEST(Schema, ValidateFromSeveralThreads) {
  const Schema schema = loan_schema();
  std::vector<std::thread> threads;
  threads.reserve(4);
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&schema, &failures, t] {
      const auto good = boost::json::parse(
          R"({"customer":{"name":"Ann","birthDate":"1980-02-03"},"loan":{"amount":12000,"currency":"EUR"}})");
      const auto bad = boost::json::parse(R"({"customer":{"name":"Ann","birthDate":"x"},"loan":{"amount":12000}})");
      for (int i = 0; i < 300; ++i) {
        if (!schema.validate(good).empty()) ++failures[t];
        auto problems = schema.validate(bad);
        if (problems.size() != 1 || problems[0].field != "customer.birthDate") ++failures[t];
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures, std::vector<int>(4, 0));
}

TEST(Schema, MovedSchemaKeepsWorking) {
  Schema a = loan_schema();
  Schema b = std::move(a);
  EXPECT_THAT(problems_of(b, R"({"loan":{"amount":5000}})"), ElementsAre(IsProblem("customer", "is required")));
}

}  // namespace
}  // namespace fxconnect::flow
