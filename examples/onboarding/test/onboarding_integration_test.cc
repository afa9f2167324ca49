// onboarding-connector as in production: its own process, a real broker (FXC_KAFKA_BOOTSTRAP),
// requests with the engine's headers in, replies (converted, or errors naming the field) out.
#include <regex>

#include <gmock/gmock.h>
#include <boost/json/parse.hpp>

#include "connector_fixture.h"

namespace fxconnect::testing {
namespace {

using std::chrono::seconds;
using ::testing::HasSubstr;

class OnboardingConnectorTest : public ConnectorTest {
 protected:
  // ConnectorTest::start_connector, but for the onboarding-connector program.
  std::unique_ptr<ChildProcess> start_onboarding(const std::string& yaml) {
    auto path = write_temp_file(name_ + ".yaml", yaml);
    auto log = write_temp_file(name_ + ".log", "");
    auto p = std::make_unique<ChildProcess>(std::vector<std::string>{program_path("onboarding-connector"), "run", path},
                                            log);
    EXPECT_TRUE(p->wait_for_log("partitions assigned", seconds(60))) << p->log();
    return p;
  }
};

core::OutgoingRecord request(const std::string& topic, const std::string& uuid, const std::string& body) {
  return {topic, uuid, {{"processInstanceUuid", uuid}, {"fxContext", "main:4"}, {"Fx-AppId", "onboarding"}}, body};
}

TEST_F(OnboardingConnectorTest, RepliesWithConvertedFieldsAndNamesTheFieldOfABadRequest) {
  kafka_->create_topic(in_, 1);
  kafka_->create_topic(out_, 1);
  auto connector =
      start_onboarding(config("  name: onboarding\n  options:\n    kyc_threshold: \"1000\"\n", "  deadline: 10s\n"));

  kafka_->produce({
      request(in_, "valid",
              R"({"customer": {"id": "C-000123", "firstName": "Ana", "lastName": "Pop", "birthDate": "24/02/1990",
                  "country": "Romania"}, "loan": {"amount": "1234.56", "currency": "RON"}})"),
      request(in_, "small",
              R"({"customer": {"id": "C-000124", "firstName": "Jan", "lastName": "Novák", "birthDate": "29/02/2000",
                  "country": "czech republic"}, "loan": {"amount": 999, "currency": "JPY"}})"),
      request(in_, "invalid",
              R"({"customer": {"id": "C-000125", "firstName": "Ion", "lastName": "Rus", "birthDate": "31/02/1990",
                  "country": "Romania"}, "loan": {"amount": "10", "currency": "EUR"}})"),
  });

  TopicReader replies(bootstrap_, out_);
  ASSERT_TRUE(replies.wait_for(3, seconds(60))) << "replies: " << replies.count() << "\n" << connector->log();
  auto got = by_uuid(replies.records());
  ASSERT_EQ(got["valid"].size(), 1u);
  ASSERT_EQ(got["small"].size(), 1u);
  ASSERT_EQ(got["invalid"].size(), 1u);

  const auto& valid_record = got["valid"][0];
  EXPECT_EQ(valid_record.key, "valid");
  EXPECT_EQ(first_value(valid_record.headers, "fxContext"), "main:4") << "headers go back unchanged";
  auto valid = boost::json::parse(valid_record.value).as_object();
  EXPECT_EQ(valid.at("customerRef"), "C-000123");
  EXPECT_EQ(valid.at("firstName"), "Ana");
  EXPECT_EQ(valid.at("lastName"), "Pop");
  EXPECT_EQ(valid.at("birthDate"), "1990-02-24");
  EXPECT_EQ(valid.at("countryCode"), "RO");
  EXPECT_EQ(valid.at("amountMinor"), 123456);
  EXPECT_EQ(valid.at("currency"), "RON");
  EXPECT_EQ(valid.at("kycRequired"), true) << "1234.56 >= kyc_threshold 1000 from the config";
  EXPECT_TRUE(std::regex_match(std::string(valid.at("correlationId").as_string()),
                               std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")))
      << valid.at("correlationId");
  EXPECT_FALSE(valid.contains("errorMessage"));

  auto small = boost::json::parse(got["small"][0].value).as_object();
  EXPECT_EQ(small.at("birthDate"), "2000-02-29");
  EXPECT_EQ(small.at("countryCode"), "CZ");
  EXPECT_EQ(small.at("amountMinor"), 999) << "JPY has no decimals";
  EXPECT_EQ(small.at("currency"), "JPY");
  EXPECT_EQ(small.at("kycRequired"), false);
  EXPECT_NE(small.at("correlationId"), valid.at("correlationId"));

  const auto& invalid_record = got["invalid"][0];
  EXPECT_EQ(invalid_record.key, "invalid");
  auto invalid = boost::json::parse(invalid_record.value).as_object();
  EXPECT_EQ(invalid.at("errorMessage"),
            "customer.birthDate: '31/02/1990' is not a calendar date in dd/MM/yyyy (February 1990 has 28 days)");
  EXPECT_EQ(invalid.at("error").at("code"), "invalid_request");
  EXPECT_EQ(invalid.at("error").at("field"), "customer.birthDate");
  EXPECT_EQ(invalid.at("error").at("retriable"), false);
  EXPECT_FALSE(invalid.contains("customerRef")) << "no half-converted reply";

  EXPECT_TRUE(connector->running()) << "still serving after the bad request";
  connector->signal(SIGTERM);
  EXPECT_EQ(connector->wait(seconds(60)), 0) << connector->log();
  EXPECT_EQ(replies.count(), 3u) << "exactly one outcome per request";
}

}  // namespace
}  // namespace fxconnect::testing
