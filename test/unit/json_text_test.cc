// JSON text written by hand (span exports, JSON log lines) is valid JSON whatever the bytes.
#include "core/json_text.h"

#include <gtest/gtest.h>
#include <boost/json.hpp>

namespace fxconnect::core {
namespace {

struct Case {
  const char* what;
  std::string input;
  std::string literal;  // what append_json_string writes, quotes included
};

const std::string kReplacement = "\\ufffd";

TEST(JsonText, EveryOutputIsValidJsonAndValidUtf8IsKept) {
  const Case cases[] = {
      {"plain ASCII", "hello", "\"hello\""},
      {"escapes", "a\"b\\c\nd\re\tf", "\"a\\\"b\\\\c\\nd\\re\\tf\""},
      {"other control bytes", std::string("\x01\x1f", 2) + std::string(1, '\0'), "\"\\u0001\\u001f\\u0000\""},
      {"DEL is valid JSON", "\x7f", "\"\x7f\""},
      {"2-byte", "\xc3\xa9", "\"\xc3\xa9\""},
      {"3-byte", "\xe2\x82\xac", "\"\xe2\x82\xac\""},
      {"4-byte", "\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\""},
      {"U+10FFFF, the last code point", "\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\""},
      {"U+FFFD itself", "\xef\xbf\xbd", "\"\xef\xbf\xbd\""},
      {"lone continuation byte", "a\x80z", "\"a" + kReplacement + "z\""},
      {"bad lead bytes", "\xfe\xff", "\"" + kReplacement + kReplacement + "\""},
      {"lead byte F5", "\xf5\x80\x80\x80", "\"" + kReplacement + kReplacement + kReplacement + kReplacement + "\""},
      {"overlong '/' (C0 AF)", "\xc0\xaf", "\"" + kReplacement + kReplacement + "\""},
      {"overlong 3-byte NUL", "\xe0\x80\x80", "\"" + kReplacement + kReplacement + kReplacement + "\""},
      {"overlong 4-byte", "\xf0\x8f\xbf\xbf", "\"" + kReplacement + kReplacement + kReplacement + kReplacement + "\""},
      {"surrogate D800 in UTF-8", "\xed\xa0\x80", "\"" + kReplacement + kReplacement + kReplacement + "\""},
      {"surrogate DFFF in UTF-8", "\xed\xbf\xbf", "\"" + kReplacement + kReplacement + kReplacement + "\""},
      {"above U+10FFFF", "\xf4\x90\x80\x80", "\"" + kReplacement + kReplacement + kReplacement + kReplacement + "\""},
      {"truncated 2-byte at the end", "a\xc3", "\"a" + kReplacement + "\""},
      {"truncated 3-byte at the end (one U+FFFD)", "\xe2\x82", "\"" + kReplacement + "\""},
      {"truncated 4-byte before ASCII", "\xf0\x9f\x98z", "\"" + kReplacement + "z\""},
      {"truncated then valid", "\xe2\x82\xc3\xa9", "\"" + kReplacement + "\xc3\xa9\""},
      {"lead byte then a quote", "\xc3\"", "\"" + kReplacement + "\\\"\""},
  };
  for (const auto& c : cases) {
    std::string out;
    append_json_string(out, c.input);
    EXPECT_EQ(out, c.literal) << c.what;
    boost::system::error_code ec;
    auto parsed = boost::json::parse(out, ec);  // strict: invalid UTF-8 is an error
    ASSERT_FALSE(ec) << c.what << ": " << ec.message();
    ASSERT_TRUE(parsed.is_string()) << c.what;
  }
}

TEST(JsonText, ValidTextRoundTrips) {
  std::string text = "processInstanceUuid=\xc8\x99\xc8\x9b\xe2\x82\xac \xf0\x9f\x98\x80 \"quoted\"\n";
  std::string out;
  append_json_string(out, text);
  EXPECT_EQ(boost::json::parse(out).as_string(), text);
}

TEST(JsonText, EveryByteValueAloneAndInPairsGivesValidJson) {
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; ++b) {
      std::string input{static_cast<char>(a), static_cast<char>(b)};
      std::string out;
      append_json_string(out, input);
      boost::system::error_code ec;
      boost::json::parse(out, ec);
      ASSERT_FALSE(ec) << "bytes " << a << "," << b << ": " << out;
    }
  }
}

}  // namespace
}  // namespace fxconnect::core
