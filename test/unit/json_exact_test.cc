#include "core/json_exact.h"

#include <gtest/gtest.h>

namespace fxconnect::core {
namespace {

TEST(JsonExact, NumbersRoundTripDigitForDigit) {
  for (const char* text :
       {R"({"a":123456789012345678901234567890})", R"([0.1000000000000000055511151231257827])",
        R"({"x":3664.09,"y":-1,"z":18446744073709551615,"w":-9223372036854775808})", R"([1e400,1e-400,-0.5,12.5])"}) {
    auto v = parse_exact(text);
    ASSERT_TRUE(v.ok()) << text;
    EXPECT_EQ(serialize(v.value()), text);
  }
}

TEST(JsonExact, RawNumbersAreNumbersWithTheirLiteral) {
  auto v = parse_exact(R"({"big":12345678901234567890123})").value();
  const auto& big = v.as_object().at("big");
  EXPECT_TRUE(is_number(big));
  EXPECT_EQ(raw_number_text(big).value(), "12345678901234567890123");
  EXPECT_EQ(number_text(big).value(), "12345678901234567890123");
  EXPECT_EQ(text_of(big), "12345678901234567890123");
  auto plain = without_raw_numbers(v);
  ASSERT_TRUE(plain.has_value());
  EXPECT_TRUE(plain->as_object().at("big").is_double());
  EXPECT_FALSE(without_raw_numbers(parse_exact(R"({"a":[1,2.5,"x"]})").value()).has_value());
}

TEST(JsonExact, NumberFromTextPicksTheExactKind) {
  EXPECT_TRUE(number_from_text("42").is_int64());
  EXPECT_TRUE(number_from_text("18446744073709551615").is_uint64());
  EXPECT_TRUE(number_from_text("1234.56").is_double());
  EXPECT_EQ(serialize(number_from_text("1234.56")), "1234.56");
  EXPECT_EQ(raw_number_text(number_from_text("18446744073709551616")).value(), "18446744073709551616");
  EXPECT_EQ(raw_number_text(number_from_text("0.12345678901234567")).value(), "0.12345678901234567");
}

TEST(JsonExact, BadInputAndTheReservedKeyAreRefused) {
  EXPECT_FALSE(parse_exact("{").ok());
  EXPECT_FALSE(parse_exact("[1] x").ok());
  auto nul = parse_exact(R"({"\u0000#":"1"})");
  ASSERT_FALSE(nul.ok());
  EXPECT_EQ(nul.error().code, ErrorCode::invalid_request);
}

}  // namespace
}  // namespace fxconnect::core
