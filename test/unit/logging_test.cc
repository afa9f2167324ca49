// Log lines cannot be forged or broken by what a request carries.
#include "observability/logging.h"

#include <memory>
#include <sstream>

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include "core/secrets.h"
#include "kafka/client.h"

namespace fxconnect::observability {
namespace {

TEST(LogSafe, KeepsPrintableTextAndUtf8AndEscapesTheRest) {
  struct Case {
    const char* what;
    std::string input, expected;
  };
  const Case cases[] = {
      {"UUID", "4bf92f35-77b3-4da6-a3ce-929d0e0e4736", "4bf92f35-77b3-4da6-a3ce-929d0e0e4736"},
      {"empty", "", ""},
      {"CR LF forging a line", "x\r\n2026-01-01T00:00:00.000 info forged",
       "x\\x0d\\x0a2026-01-01T00:00:00.000 info forged"},
      {"backslash, so escapes stay unambiguous", "a\\x0a", "a\\\\x0a"},
      {"tab, NUL, ESC, DEL", std::string("\t\0\x1b\x7f", 4), "\\x09\\x00\\x1b\\x7f"},
      {"valid UTF-8 as is", "\xc8\x99\xe2\x82\xac\xf0\x9f\x98\x80", "\xc8\x99\xe2\x82\xac\xf0\x9f\x98\x80"},
      {"C1 control U+009B (CSI)",
       "\xc2\x9b"
       "31m",
       "\\xc2\\x9b31m"},
      {"U+00A0 is not a C1 control", "\xc2\xa0", "\xc2\xa0"},
      {"lone continuation", "a\x80", "a\\x80"},
      {"truncated sequence",
       "\xe2\x82"
       "z",
       "\\xe2\\x82z"},
      {"overlong", "\xc0\xaf", "\\xc0\\xaf"},
      {"surrogate", "\xed\xa0\x80", "\\xed\\xa0\\x80"},
      {"above U+10FFFF", "\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"},
  };
  for (const auto& c : cases) EXPECT_EQ(log_safe(c.input, 1000), c.expected) << c.what;
}

TEST(LogSafe, CutsAtTheLimitNeverInsideACharacterOrAnEscape) {
  EXPECT_EQ(log_safe("abcdef", 6), "abcdef");
  EXPECT_EQ(log_safe("abcdefg", 6), "abcdef...(7 bytes)");
  EXPECT_EQ(log_safe("ab\ncd", 4), "ab...(5 bytes)") << "\\x0a does not fit in the 2 bytes left";
  EXPECT_EQ(log_safe("a\xe2\x82\xac", 3), "a...(4 bytes)") << "the euro sign is not cut";
  EXPECT_EQ(log_safe("a\xe2\x82\xac", 4), "a\xe2\x82\xac");
  EXPECT_EQ(log_safe("abc", 0), "...(3 bytes)");
  std::string expected;
  for (int i = 0; i < 256; ++i) expected += "\\x0a";
  EXPECT_EQ(log_safe(std::string(1 << 20, '\n'), 1024), expected + "...(1048576 bytes)");
}

// Lines written through the "fxconnect" logger with `format`, captured.
class CapturedLogs {
 public:
  explicit CapturedLogs(const std::string& format) {
    setup_logging("info", format);
    logger_ = spdlog::get("fxconnect");
    saved_ = logger_->sinks();
    logger_->sinks() = {std::make_shared<spdlog::sinks::ostream_sink_mt>(out_)};
    setup_logging("info", format);  // the format applies to the logger's sinks, now ours
  }
  ~CapturedLogs() {
    logger_->sinks() = saved_;
    setup_logging("info", "text");
  }
  std::string text() const { return out_.str(); }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> logger_;
  std::vector<spdlog::sink_ptr> saved_;
};

TEST(Logging, TextLinesCannotBeSplitByAMessage) {
  CapturedLogs logs("text");
  spdlog::info("processInstanceUuid={}", "x\r\n2026-01-01T00:00:00.000 error forged\x1b[2J");
  auto text = logs.text();
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.find('\n'), text.size() - 1) << "one line: " << text;
  EXPECT_EQ(text.find('\r'), std::string::npos);
  EXPECT_EQ(text.find('\x1b'), std::string::npos);
  EXPECT_NE(text.find("x\\x0d\\x0a2026-01-01T00:00:00.000 error forged\\x1b[2J"), std::string::npos) << text;
}

TEST(Logging, JsonLinesAreValidJsonWithTheScopeValuesMadeSafe) {
  CapturedLogs logs("json");
  {
    std::string uuid = "bad\xff\r\n\"uuid\"" + std::string(1000, 'u');
    LogScope scope("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", uuid);
    spdlog::error("failed: {}", "bad \xc3 byte\n");
  }
  auto text = logs.text();
  ASSERT_EQ(text.find('\n'), text.size() - 1) << "one line: " << text;
  boost::system::error_code ec;
  auto line = boost::json::parse(text, ec);
  ASSERT_FALSE(ec) << ec.message() << ": " << text;
  EXPECT_EQ(line.at("message").as_string(), "failed: bad \xef\xbf\xbd byte\n");
  EXPECT_EQ(line.at("trace_id").as_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
  auto uuid = std::string(line.at("processInstanceUuid").as_string());
  EXPECT_EQ(uuid.rfind("bad\\xff\\x0d\\x0a\"uuid\"uuu", 0), 0u) << uuid;
  EXPECT_NE(uuid.find("...(1012 bytes)"), std::string::npos) << "bounded: " << uuid;
  EXPECT_LE(uuid.size(), 256u + 20u);
}

}  // namespace
}  // namespace fxconnect::observability

namespace fxconnect::observability {
namespace {

// A line as librdkafka's log callback forwards it.
void kafka_like_line() { kafka::log_to_spdlog(nullptr, 6, "CONF", "x planted-s3cret y"); }

// Every line, whoever writes it (librdkafka's forwarded lines too), loses the secrets the process knows.
TEST(Logging, NoFormatPrintsAKnownSecret) {
  core::forget_secrets_for_tests();
  core::add_secret("planted-s3cret");
  for (const char* format : {"text", "json"}) {
    CapturedLogs logs(format);
    spdlog::info("sasl.password = {}", "planted-s3cret");
    kafka_like_line();
    auto text = logs.text();
    EXPECT_EQ(text.find("planted-s3cret"), std::string::npos) << format << ": " << text;
    EXPECT_NE(text.find("sasl.password = [redacted]"), std::string::npos) << format << ": " << text;
    EXPECT_NE(text.find("librdkafka CONF: x [redacted] y"), std::string::npos) << format << ": " << text;
  }
  core::forget_secrets_for_tests();
}

}  // namespace
}  // namespace fxconnect::observability
