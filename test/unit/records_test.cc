#include "core/records.h"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

#include "core/error_reply.h"

namespace fxconnect::core {
namespace {

Request sample() {
  Request r;
  r.topic = "in";
  r.partition = 2;
  r.offset = 41;
  r.key = "record-key";
  r.headers = {
      {"processInstanceUuid", "uuid-1"},
      {"dup", "first"},
      {"dup", "second"},
      {"empty", ""},
      {"null", std::nullopt},
      {"bin", std::string("\x00\xff\x01", 3)},
      {"n\xc3\xa4me", "non-ascii name"},
  };
  r.body = R"({"a":1})";
  return r;
}

TEST(Reply, CopiesEveryHeaderInOrderAndKeysByProcessInstance) {
  auto req = sample();
  auto reply = make_reply(req, "out", R"({"ok":true})");
  EXPECT_EQ(reply.topic, "out");
  EXPECT_EQ(reply.key, "uuid-1");
  EXPECT_EQ(reply.headers, req.headers);
  EXPECT_EQ(reply.value, R"({"ok":true})");
}

TEST(Reply, FallsBackToTheRequestKey) {
  auto req = sample();
  req.headers.erase(req.headers.begin());
  EXPECT_EQ(make_reply(req, "out", "{}").key, "record-key");
  req.key.reset();
  EXPECT_FALSE(make_reply(req, "out", "{}").key.has_value()) << "null stays null";
}

TEST(Reply, AnEmptyProcessInstanceHeaderDoesNotBecomeTheKey) {
  auto req = sample();
  req.headers[0].value = "";
  EXPECT_EQ(make_reply(req, "out", "{}").key, "record-key");
}

TEST(DeadLetter, KeepsTheOriginalAndAddsPrefixedErrorHeaders) {
  auto req = sample();
  auto dl = make_dead_letter(req, "dlq", invalid_field("amount", "amount is not a number"));
  EXPECT_EQ(dl.topic, "dlq");
  EXPECT_EQ(dl.key, "record-key");
  EXPECT_EQ(dl.value, req.body);
  ASSERT_GT(dl.headers.size(), req.headers.size());
  EXPECT_TRUE(std::equal(req.headers.begin(), req.headers.end(), dl.headers.begin())) << "original headers first";
  for (auto it = dl.headers.begin() + static_cast<long>(req.headers.size()); it != dl.headers.end(); ++it) {
    EXPECT_EQ(it->name.rfind("fxconnect-", 0), 0u) << it->name;
  }
  EXPECT_EQ(first_value(dl.headers, "fxconnect-error-code"), "invalid_request");
  EXPECT_EQ(first_value(dl.headers, "fxconnect-error-field"), "amount");
  EXPECT_EQ(first_value(dl.headers, "fxconnect-source-offset"), "41");
}

TEST(ErrorReply, CarriesErrorMessageAndAMachineReadableError) {
  auto body = boost::json::parse(error_reply_body(Error{ErrorCode::deadline_exceeded, "too slow", true, {}}));
  EXPECT_EQ(body.at("errorMessage").as_string(), "too slow");
  EXPECT_EQ(body.at("error").at("code").as_string(), "deadline_exceeded");
  EXPECT_EQ(body.at("error").at("retriable").as_bool(), true);
  EXPECT_FALSE(body.at("error").as_object().contains("field"));
  auto with_field = boost::json::parse(error_reply_body(invalid_field("birthDate", "bad date")));
  EXPECT_EQ(with_field.at("error").at("field").as_string(), "birthDate");
}

// Found by test/fuzz/intake_fuzz.cc: a handler's message that is not UTF-8 (a legacy system's
// Latin-1 error page, a cut sequence) made an error reply that is not JSON, which the engine
// cannot read. Ill-formed parts become U+FFFD; well-formed text is kept.
TEST(ErrorReply, IsJsonWhateverTheBytesOfTheMessageFieldAndStep) {
  Error error{ErrorCode::legacy_failed, "Cont\xe2 blocat: sold insuficient \xf3\xf3 \xc3", false, "c\xe2mp"};
  error.step = std::string("pas\xff");
  auto text = error_reply_body(error);
  boost::system::error_code ec;
  auto body = boost::json::parse(text, ec);
  ASSERT_FALSE(ec) << ec.message() << ": " << text;
  EXPECT_EQ(body.at("errorMessage").as_string(), "Cont\uFFFD blocat: sold insuficient \uFFFD\uFFFD \uFFFD");
  EXPECT_EQ(body.at("error").at("message").as_string(), body.at("errorMessage").as_string());
  EXPECT_EQ(body.at("error").at("field").as_string(), "c\uFFFDmp");
  EXPECT_EQ(body.at("error").at("step").as_string(), "pas\uFFFD");
  auto utf8 = boost::json::parse(error_reply_body(handler_error("Contul clientului \u0219i \u20ac \U0001F600")));
  EXPECT_EQ(utf8.at("errorMessage").as_string(), "Contul clientului \u0219i \u20ac \U0001F600") << "kept as is";
}

}  // namespace
}  // namespace fxconnect::core
