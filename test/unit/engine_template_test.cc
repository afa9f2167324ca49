#include "core/template.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <boost/json.hpp>

namespace fxconnect::engine {
using namespace core;  // NOLINT(google-build-using-namespace): templates are the engine's language
namespace {

using ::testing::HasSubstr;
namespace json = boost::json;

const json::value kData = json::parse(
    R"({"customer": {"name": "Ana \"A\" Pop", "age": 30, "vip": true, "address": {"city": "Cluj"}},
        "items": [{"id": 7}, {"id": 8}], "none": null})");
const InstanceVars kVars{"uuid-1", 42, 3};

json::value render_ok(const char* tmpl) {
  auto r = render(json::parse(tmpl), kData, kVars);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? r.value() : json::value();
}

TEST(EngineTemplate, AWholePlaceholderKeepsTheValueType) {
  auto v = render_ok(R"({"age": "${customer.age}", "vip": "${customer.vip}", "address": "${customer.address}",
                         "first": "${items[0]}", "none": "${none}"})");
  EXPECT_EQ(v.at("age").as_int64(), 30);
  EXPECT_EQ(v.at("vip").as_bool(), true);
  EXPECT_EQ(v.at("address").at("city").as_string(), "Cluj");
  EXPECT_EQ(v.at("first").at("id").as_int64(), 7);
  EXPECT_TRUE(v.at("none").is_null());
}

TEST(EngineTemplate, EmbeddedPlaceholdersBecomeText) {
  auto v =
      render_ok(R"({"s": "id ${items[1].id}, age ${customer.age}, vip ${customer.vip}, ${@uuid}/${@id}/${@index}"})");
  EXPECT_EQ(v.at("s").as_string(), "id 8, age 30, vip true, uuid-1/42/3");
}

TEST(EngineTemplate, DecimalsInTextReadAsWritten) {
  auto data = json::parse(R"({"amount": 1234.56, "rate": 0.1})");
  auto r = render_text("amount ${amount} RON at ${rate}", data, kVars);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value(), "amount 1234.56 RON at 0.1");
}

TEST(EngineTemplate, EscapingIsKeptCorrect) {
  // Quotes in the data stay inside the JSON string; $${ is a literal.
  auto v =
      render_ok(R"({"who": "name: ${customer.name}", "literal": "$${customer.name}", "nested": ["${customer.name}"]})");
  EXPECT_EQ(v.at("who").as_string(), "name: Ana \"A\" Pop");
  EXPECT_EQ(v.at("literal").as_string(), "${customer.name}");
  EXPECT_EQ(json::serialize(v.at("nested")), R"(["Ana \"A\" Pop"])");
}

TEST(EngineTemplate, AMissingPathNamesIt) {
  auto r = render(json::parse(R"({"x": {"y": "${customer.email}"}})"), kData, kVars);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("${customer.email}: no such path in the process data"));
  EXPECT_EQ(r.error().field, "customer.email");
  EXPECT_FALSE(render(json::parse(R"("${items[5].id}")"), kData, kVars).ok()) << "index out of range";
}

TEST(EngineTemplate, ObjectsCannotBeEmbeddedInText) {
  auto r = render_text("city: ${customer.address}", kData, kVars);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("is an object and cannot be embedded in text"));
}

TEST(EngineTemplate, PathsAndSyntax) {
  for (const char* good : {"a", "a.b", "a[0]", "a[0].b[12].c", "a_b-c", "@uuid"}) EXPECT_TRUE(valid_path(good)) << good;
  for (const char* bad : {"", ".a", "a.", "a[]", "a[x]", "a..b", "@other", "a b"}) EXPECT_FALSE(valid_path(bad)) << bad;
  EXPECT_THAT(check_text_template("${a"), ::testing::ElementsAre(HasSubstr("no closing")));
  EXPECT_THAT(check_text_template("${a b}"), ::testing::ElementsAre(HasSubstr("is not a data path")));
  EXPECT_TRUE(check_text_template("plain $ text, $${a}").empty());
}

}  // namespace
}  // namespace fxconnect::engine
