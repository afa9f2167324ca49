// The onboarding handler without Kafka: the conversions, the value lists, the options, and the
// handler's replies and errors through a fake Call. Plus a lint of the committed onboarding.yaml.
#include <regex>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <yaml-cpp/yaml.h>

#include "child_process.h"
#include "flow/yaml_json.h"
#include "onboarding.h"
#include "open_account.h"

namespace onboarding {
namespace {

namespace json = boost::json;
using fxconnect::ErrorCode;
using ::testing::HasSubstr;

const Currency kRon{"RON", 2};
const Currency kJpy{"JPY", 0};
const Currency kKwd{"KWD", 3};

// ---- dates --------------------------------------------------------------------------------------

TEST(OnboardingDate, TurnsDayMonthYearIntoIso8601) {
  EXPECT_EQ(convert_date("24/02/1990", "d").value(), "1990-02-24");
  EXPECT_EQ(convert_date("01/01/1900", "d").value(), "1900-01-01");
  EXPECT_EQ(convert_date("31/12/1999", "d").value(), "1999-12-31");
  EXPECT_EQ(convert_date("30/04/2021", "d").value(), "2021-04-30");
}

TEST(OnboardingDate, KnowsLeapYears) {
  EXPECT_TRUE(convert_date("29/02/2024", "d").ok()) << "divisible by 4";
  EXPECT_TRUE(convert_date("29/02/2000", "d").ok()) << "divisible by 400";
  EXPECT_FALSE(convert_date("29/02/1900", "d").ok()) << "divisible by 100, not by 400";
  EXPECT_FALSE(convert_date("29/02/2023", "d").ok());
  auto e = convert_date("29/02/2023", "customer.birthDate");
  EXPECT_EQ(e.error().message,
            "customer.birthDate: '29/02/2023' is not a calendar date in dd/MM/yyyy (February 2023 has 28 days)");
}

TEST(OnboardingDate, RefusesDaysAndMonthsThatDoNotExist) {
  for (const char* bad : {"31/02/1990", "30/02/2000", "31/04/1990", "31/06/1990", "31/09/1990", "31/11/1990",
                          "32/01/1990", "00/01/1990", "15/00/1990", "15/13/1990"}) {
    auto r = convert_date(bad, "customer.birthDate");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::invalid_request);
    EXPECT_EQ(r.error().field, "customer.birthDate");
    EXPECT_THAT(r.error().message, HasSubstr(std::string("'") + bad + "' is not a calendar date in dd/MM/yyyy"));
  }
  EXPECT_THAT(convert_date("15/13/1990", "d").error().message, HasSubstr("there is no month 13"));
  EXPECT_THAT(convert_date("00/01/1990", "d").error().message, HasSubstr("there is no day 00"));
  EXPECT_THAT(convert_date("31/04/1990", "d").error().message, HasSubstr("April 1990 has 30 days"));
}

TEST(OnboardingDate, RefusesOtherFormatsSayingWhatIsExpected) {
  for (const char* bad : {"1990-02-24", "24/2/1990", "4/02/1990", "24/02/90", "24-02-1990", "24.02.1990", " 24/02/1990",
                          "24/02/1990 ", "2a/02/1990", "24/02/199x", "", "24/02/19900"}) {
    auto r = convert_date(bad, "customer.birthDate");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().field, "customer.birthDate");
    EXPECT_EQ(r.error().message,
              std::string("customer.birthDate: '") + bad + "' is not a date in dd/MM/yyyy; expected e.g. '24/02/1990'");
  }
}

// ---- amounts ------------------------------------------------------------------------------------

std::int64_t minor(const json::value& v, const Currency& c) {
  auto r = to_minor_units(v, c, "loan.amount");
  EXPECT_TRUE(r.ok()) << json::serialize(v) << ": " << r.error().message;
  return r.ok() ? r.value() : -1;
}

std::string amount_error(const json::value& v, const Currency& c) {
  auto r = to_minor_units(v, c, "loan.amount");
  EXPECT_FALSE(r.ok()) << json::serialize(v) << " gave " << r.value();
  if (r.ok()) return "";
  EXPECT_EQ(r.error().code, ErrorCode::invalid_request);
  EXPECT_EQ(r.error().field, "loan.amount");
  return r.error().message;
}

TEST(OnboardingAmount, ConvertsDecimalStringsExactly) {
  EXPECT_EQ(minor("1234.56", kRon), 123456);
  EXPECT_EQ(minor("1234.5", kRon), 123450);
  EXPECT_EQ(minor("1234", kRon), 123400);
  EXPECT_EQ(minor("0.01", kRon), 1);
  EXPECT_EQ(minor("0", kRon), 0);
  EXPECT_EQ(minor("007.10", kRon), 710);
  EXPECT_EQ(minor("1234", kJpy), 1234);
  EXPECT_EQ(minor("1.234", kKwd), 1234);
  EXPECT_EQ(minor("0.001", kKwd), 1);
  EXPECT_EQ(minor("0.1", kRon), 10) << "no binary floating point on the way";
}

TEST(OnboardingAmount, AcceptsTrailingZerosBeyondTheCurrencysDecimals) {
  EXPECT_EQ(minor("1234.560", kRon), 123456);
  EXPECT_EQ(minor("100.00", kJpy), 100);
}

TEST(OnboardingAmount, AcceptsJsonNumbersAsWritten) {
  EXPECT_EQ(minor(json::parse("1234.56"), kRon), 123456);
  EXPECT_EQ(minor(json::parse("19.99"), kRon), 1999);
  EXPECT_EQ(minor(json::parse("0.29"), kRon), 29) << "0.29 * 100 is 28.999999999999996 in doubles";
  EXPECT_EQ(minor(json::parse("1500"), kRon), 150000);
}

TEST(OnboardingAmount, RefusesMoreDecimalsThanTheCurrencyHas) {
  EXPECT_EQ(amount_error("1234.567", kRon),
            "loan.amount: '1234.567' has 3 decimals but RON has 2 decimals; expected e.g. \"1234.56\"");
  EXPECT_EQ(amount_error("1234.5", kJpy),
            "loan.amount: '1234.5' has 1 decimal but JPY has 0 decimals; expected e.g. \"1234\"");
  EXPECT_THAT(amount_error("1.2345", kKwd), HasSubstr("KWD has 3 decimals"));
  EXPECT_THAT(amount_error(json::parse("12.345"), kRon), HasSubstr("'12.345' has 3 decimals"));
}

TEST(OnboardingAmount, RefusesNegativeAmounts) {
  EXPECT_EQ(amount_error("-5", kRon), "loan.amount: '-5' is negative; expected an amount greater than zero");
  EXPECT_THAT(amount_error(json::parse("-5"), kRon), HasSubstr("is negative"));
  EXPECT_THAT(amount_error(json::parse("-0.5"), kRon), HasSubstr("is negative"));
}

TEST(OnboardingAmount, RefusesTextThatIsNotADecimalNumber) {
  for (const char* bad :
       {"12a", "1,234.56", "12,5", ".5", "5.", "", " 1", "1 ", "1e3", "+1", "0x10", "1.2.3", "--1", "-", "NaN", "١٢"}) {
    EXPECT_EQ(amount_error(bad, kRon), std::string("loan.amount: '") + bad +
                                           "' is not an amount; expected a decimal number such as \"1234.56\" "
                                           "('.' as separator, RON has 2 decimals)");
  }
}

TEST(OnboardingAmount, RefusesOtherJsonTypes) {
  for (const char* bad : {"true", "null", "{}", "[1]"}) {
    EXPECT_THAT(amount_error(json::parse(bad), kRon),
                HasSubstr("loan.amount: expected an amount as a decimal string such as \"1234.56\" or a JSON number"));
  }
  EXPECT_THAT(amount_error(json::parse("true"), kRon), HasSubstr("got a boolean"));
}

TEST(OnboardingAmount, RefusesAmountsBeyondWhatJsonReadersKeepExact) {
  EXPECT_EQ(minor("90071992547409.91", kRon), kMaxMinorUnits);
  EXPECT_EQ(amount_error("90071992547409.92", kRon),
            "loan.amount: '90071992547409.92' is too large; expected at most 90071992547409.91 RON");
  EXPECT_THAT(amount_error(json::string(1000, '9'), kRon), HasSubstr("is too large")) << "no overflow";
  EXPECT_THAT(amount_error(json::parse("18446744073709551615"), kJpy), HasSubstr("is too large"));
  EXPECT_THAT(amount_error(json::parse("1e300"), kJpy), HasSubstr("is too large"));
}

// ---- value lists --------------------------------------------------------------------------------

TEST(OnboardingValueLists, MapsCountryNamesCaseInsensitively) {
  ValueLists lists;
  EXPECT_EQ(lists.country_code("Romania"), "RO");
  EXPECT_EQ(lists.country_code("ROMANIA"), "RO");
  EXPECT_EQ(lists.country_code("  romania "), "RO");
  EXPECT_EQ(lists.country_code("Czech Republic"), "CZ");
  EXPECT_EQ(lists.country_code("czechia"), "CZ");
  EXPECT_EQ(lists.country_code("United Kingdom"), "GB");
  EXPECT_EQ(lists.country_code("the netherlands"), "NL");
  EXPECT_EQ(lists.country_code("Germany"), "DE");
  EXPECT_EQ(lists.country_code("Türkiye"), "TR");
  EXPECT_EQ(lists.country_code("United States of America"), "US");
  EXPECT_EQ(lists.country_code("Atlantis"), std::nullopt);
  EXPECT_EQ(lists.country_code("RO"), std::nullopt) << "names only, not codes";
  EXPECT_EQ(lists.country_code(""), std::nullopt);
  EXPECT_GE(lists.country_names(), 60u);
}

TEST(OnboardingValueLists, KnowsEachCurrencysDecimals) {
  ValueLists lists;
  EXPECT_EQ(lists.currency("RON")->decimals, 2);
  EXPECT_EQ(lists.currency("eur")->code, "EUR");
  EXPECT_EQ(lists.currency("JPY")->decimals, 0);
  EXPECT_EQ(lists.currency("KWD")->decimals, 3);
  EXPECT_EQ(lists.currency("BHD")->decimals, 3);
  EXPECT_EQ(lists.currency("HUF")->decimals, 2) << "ISO 4217";
  EXPECT_EQ(lists.currency("XYZ"), std::nullopt);
  EXPECT_EQ(lists.currency("EURO"), std::nullopt);
}

// ---- options ------------------------------------------------------------------------------------

fxconnect::HandlerOptions options(std::map<std::string, std::string> values) {
  std::map<std::string, fxconnect::HandlerOptions::Value> out;
  for (auto& [k, v] : values) out[k] = {v, "onboarding.yaml:14:20"};
  return fxconnect::HandlerOptions(std::move(out));
}

TEST(OnboardingSettings, DefaultsToAThresholdOf10000) {
  EXPECT_EQ(parse_settings(options({})).kyc_threshold_milli, 10'000'000);
  EXPECT_EQ(parse_settings(options({{"kyc_threshold", "2500.5"}})).kyc_threshold_milli, 2'500'500);
  EXPECT_EQ(parse_settings(options({{"kyc_threshold", "0"}})).kyc_threshold_milli, 0);
}

TEST(OnboardingSettings, RefusesUnknownOptionsAndBadThresholdsNamingThePlace) {
  try {
    parse_settings(options({{"kyc_treshold", "5"}}));
    FAIL() << "accepted an unknown option";
  } catch (const fxconnect::ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("onboarding.yaml:14:20: handler.options.kyc_treshold: unknown option; valid "
                                    "options: kyc_threshold"));
  }
  for (const char* bad : {"ten", "-1", "1.2345", "", "1e4"}) {
    try {
      parse_settings(options({{"kyc_threshold", bad}}));
      FAIL() << "accepted kyc_threshold " << bad;
    } catch (const fxconnect::ConfigError& e) {
      EXPECT_THAT(e.what(), HasSubstr(std::string("onboarding.yaml:14:20: handler.options.kyc_threshold: '") + bad +
                                      "' is not an amount"));
    }
  }
}

// ---- the whole conversion -----------------------------------------------------------------------

const char* kValid = R"({
  "customer": {"id": "C-000123", "firstName": "Ana", "lastName": "Pop", "birthDate": "24/02/1990",
               "country": "Romania"},
  "loan": {"amount": "1234.56", "currency": "RON"}
})";

TEST(OnboardingRequest, RepliesWithTheLegacyDomainsFields) {
  ValueLists lists;
  auto r = onboard(json::parse(kValid), lists, Settings{}, "f47ac10b-58cc-4372-a567-0e02b2c3d479", "2025-06-01");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(json::serialize(r.value()),
            R"({"customerRef":"C-000123","firstName":"Ana","lastName":"Pop","birthDate":"1990-02-24",)"
            R"("countryCode":"RO","amountMinor":123456,"currency":"RON",)"
            R"("correlationId":"f47ac10b-58cc-4372-a567-0e02b2c3d479","kycRequired":false})");
}

// The request with `path` (a.b) set to `value`, or removed when `value` is nullopt.
json::value with(const std::string& path, std::optional<json::value> value) {
  auto request = json::parse(kValid);
  auto dot = path.find('.');
  auto& parent = request.as_object()[path.substr(0, dot)].as_object();
  auto key = path.substr(dot + 1);
  if (value) {
    parent[key] = *value;
  } else {
    parent.erase(key);
  }
  return request;
}

bool kyc(const std::string& amount, const std::string& currency, Settings settings = {}) {
  ValueLists lists;
  auto request = json::parse(kValid);
  request.as_object()["loan"] = json::object{{"amount", amount}, {"currency", currency}};
  auto r = onboard(request, lists, settings, "id", "2025-06-01");
  EXPECT_TRUE(r.ok()) << r.error().message;
  return r.ok() && r.value().at("kycRequired").as_bool();
}

TEST(OnboardingRequest, FlagsKycAtOrAboveTheThresholdInTheRequestsCurrency) {
  EXPECT_FALSE(kyc("9999.99", "RON"));
  EXPECT_TRUE(kyc("10000", "RON"));
  EXPECT_TRUE(kyc("10000.00", "EUR"));
  EXPECT_FALSE(kyc("9999", "JPY"));
  EXPECT_TRUE(kyc("10000", "JPY"));
  EXPECT_FALSE(kyc("9999.999", "KWD"));
  EXPECT_TRUE(kyc("10000.000", "KWD"));
  Settings low{2'500'500};  // 2500.5
  EXPECT_FALSE(kyc("2500.49", "RON", low));
  EXPECT_TRUE(kyc("2500.50", "RON", low));
  EXPECT_TRUE(kyc("2501", "JPY", low));
  EXPECT_FALSE(kyc("2500", "JPY", low));
}

TEST(OnboardingRequest, NormalisesBlanksCaseAndNumbers) {
  ValueLists lists;
  auto request = json::parse(R"({"customer": {"id": " C-1 ", "firstName": " Ana ", "lastName": "Pop",
      "birthDate": " 29/02/2000 ", "country": "  ROMANIA"}, "loan": {"amount": 1500, "currency": "ron"},
      "extra": "ignored"})");
  auto r = onboard(request, lists, Settings{}, "id", "2025-06-01");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r.value().at("customerRef"), "C-1");
  EXPECT_EQ(r.value().at("firstName"), "Ana");
  EXPECT_EQ(r.value().at("birthDate"), "2000-02-29");
  EXPECT_EQ(r.value().at("countryCode"), "RO");
  EXPECT_EQ(r.value().at("amountMinor"), 150000);
  EXPECT_EQ(r.value().at("currency"), "RON");
}

struct BadRequest {
  std::string name;
  json::value request;
  std::optional<std::string> field;
  std::string message;
};

TEST(OnboardingRequest, NamesTheFieldAtFaultAndWhatWouldBeValid) {
  std::vector<BadRequest> cases = {
      {"not an object", json::parse("[1]"), std::nullopt,
       "request: expected a JSON object with \"customer\" and \"loan\", got an array"},
      {"no customer", json::parse(R"({"loan": {}})"), "customer",
       "customer: missing; expected an object with id, firstName, lastName, birthDate (dd/MM/yyyy) and country"},
      {"customer a string", json::parse(R"({"customer": "Ana"})"), "customer",
       "customer: expected an object with id, firstName, lastName, birthDate (dd/MM/yyyy) and country, got a "
       "string"},
      {"no id", with("customer.id", std::nullopt), "customer.id",
       "customer.id: missing; expected the customer's id in the process, a non-empty string"},
      {"blank first name", with("customer.firstName", "  "), "customer.firstName",
       "customer.firstName: is empty; expected a non-empty string"},
      {"null last name", with("customer.lastName", nullptr), "customer.lastName",
       "customer.lastName: missing; expected a non-empty string"},
      {"no birth date", with("customer.birthDate", std::nullopt), "customer.birthDate",
       "customer.birthDate: missing; expected a date in dd/MM/yyyy, e.g. '24/02/1990'"},
      {"birth date a number", with("customer.birthDate", 19900224), "customer.birthDate",
       "customer.birthDate: expected a date in dd/MM/yyyy, e.g. '24/02/1990', got a number"},
      {"birth date not in the calendar", with("customer.birthDate", "31/02/1990"), "customer.birthDate",
       "customer.birthDate: '31/02/1990' is not a calendar date in dd/MM/yyyy (February 1990 has 28 days)"},
      {"birth date ISO", with("customer.birthDate", "1990-02-24"), "customer.birthDate",
       "customer.birthDate: '1990-02-24' is not a date in dd/MM/yyyy; expected e.g. '24/02/1990'"},
      {"birth date in the future", with("customer.birthDate", "02/06/2025"), "customer.birthDate",
       "customer.birthDate: '02/06/2025' is in the future; expected a birth date up to today (2025-06-01)"},
      {"birth date before 1900", with("customer.birthDate", "31/12/1899"), "customer.birthDate",
       "customer.birthDate: '31/12/1899' is before 01/01/1900; expected a birth date from 1900 on"},
      {"unknown country", with("customer.country", "Atlantis"), "customer.country",
       "customer.country: 'Atlantis' is not in the country value list; expected an English country name such as "
       "'Romania', 'Germany' or 'United Kingdom'"},
      {"no loan",
       [] {
         auto r = json::parse(kValid);
         r.as_object().erase("loan");
         return r;
       }(),
       "loan", "loan: missing; expected an object with amount and currency"},
      {"no currency", with("loan.currency", std::nullopt), "loan.currency",
       "loan.currency: missing; expected an ISO 4217 code, e.g. 'RON'"},
      {"unknown currency", with("loan.currency", "XYZ"), "loan.currency",
       "loan.currency: 'XYZ' is not in the currency value list; expected an ISO 4217 code such as 'EUR', 'RON' or "
       "'USD'"},
      {"no amount", with("loan.amount", std::nullopt), "loan.amount",
       "loan.amount: missing; expected an amount such as \"1234.56\""},
      {"zero amount", with("loan.amount", "0.00"), "loan.amount",
       "loan.amount: is zero; expected an amount greater than zero"},
      {"negative amount", with("loan.amount", -10), "loan.amount",
       "loan.amount: '-10' is negative; expected an amount greater than zero"},
      {"too many decimals", with("loan.amount", "1234.567"), "loan.amount",
       "loan.amount: '1234.567' has 3 decimals but RON has 2 decimals; expected e.g. \"1234.56\""},
      {"not a number", with("loan.amount", "1.234,56"), "loan.amount",
       "loan.amount: '1.234,56' is not an amount; expected a decimal number such as \"1234.56\" ('.' as "
       "separator, RON has 2 decimals)"},
  };
  ValueLists lists;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto r = onboard(c.request, lists, Settings{}, "id", "2025-06-01");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::invalid_request);
    EXPECT_FALSE(r.error().retriable);
    EXPECT_EQ(r.error().field, c.field);
    EXPECT_EQ(r.error().message, c.message);
  }
}

TEST(OnboardingRequest, CutsLongValuesInErrorMessages) {
  ValueLists lists;
  auto r = onboard(with("customer.country", json::string(100000, 'x')), lists, Settings{}, "id", "2025-06-01");
  ASSERT_FALSE(r.ok());
  EXPECT_LT(r.error().message.size(), 300u);
  EXPECT_THAT(r.error().message, HasSubstr("xxx...'"));
}

// ---- the handler, driven through a fake Call ----------------------------------------------------

// A Call without Kafka: it records reply()/fail().
class FakeCall final : public fxconnect::Call {
 public:
  FakeCall(boost::asio::io_context& io, std::string body) : io_(io) {
    request_.topic = "ai.flowx.dev.plugin.onboarding.in.v1";
    request_.body = std::move(body);
    request_.json = json::parse(request_.body);
  }

  const fxconnect::Request& request() const override { return request_; }
  boost::asio::any_io_executor executor() const override { return io_.get_executor(); }
  std::chrono::steady_clock::time_point deadline() const override {
    return std::chrono::steady_clock::now() + std::chrono::seconds(30);
  }
  boost::asio::cancellation_slot cancellation_slot() override { return cancel_.slot(); }
  void reply(fxconnect::Reply reply) override { replies.push_back(std::move(reply)); }
  void fail(fxconnect::Error error) override { errors.push_back(std::move(error)); }

  std::vector<fxconnect::Reply> replies;
  std::vector<fxconnect::Error> errors;

 private:
  boost::asio::io_context& io_;
  boost::asio::cancellation_signal cancel_;
  fxconnect::Request request_;
};

class OnboardingHandler : public ::testing::Test {
 protected:
  // Runs the registered `onboarding` handler on `body`; returns the finished call.
  std::shared_ptr<FakeCall> handle(const std::string& body, const fxconnect::HandlerOptions& opts = {}) {
    fxconnect::Registry registry;
    fxconnect::register_builtin_handlers(registry);
    register_onboarding(registry);
    auto handler = registry.create("onboarding", opts);
    auto call = std::make_shared<FakeCall>(io_, body);
    handler->handle(call);
    io_.run();
    io_.restart();
    EXPECT_EQ(call->replies.size() + call->errors.size(), 1u) << "exactly one outcome";
    return call;
  }

  boost::asio::io_context io_;
};

TEST_F(OnboardingHandler, RepliesWithConvertedFieldsAndANewCorrelationId) {
  auto a = handle(kValid);
  auto b = handle(kValid);
  ASSERT_EQ(a->replies.size(), 1u);
  ASSERT_EQ(b->replies.size(), 1u);
  auto body = json::parse(a->replies[0].body).as_object();
  EXPECT_EQ(body.at("customerRef"), "C-000123");
  EXPECT_EQ(body.at("birthDate"), "1990-02-24");
  EXPECT_EQ(body.at("countryCode"), "RO");
  EXPECT_EQ(body.at("amountMinor"), 123456);
  EXPECT_EQ(body.at("currency"), "RON");
  EXPECT_EQ(body.at("kycRequired"), false);
  std::string id(body.at("correlationId").as_string());
  EXPECT_TRUE(std::regex_match(id, std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")))
      << id << " is a random (v4) UUID";
  EXPECT_NE(json::parse(b->replies[0].body).at("correlationId").as_string(), id) << "one per request";
}

TEST_F(OnboardingHandler, AppliesTheKycThresholdOption) {
  auto call = handle(kValid, options({{"kyc_threshold", "1000"}}));
  ASSERT_EQ(call->replies.size(), 1u);
  EXPECT_EQ(json::parse(call->replies[0].body).at("kycRequired"), true);
}

TEST_F(OnboardingHandler, FailsWithTheFieldAtFault) {
  auto call = handle(R"({"customer": {"id": "C-1", "firstName": "Ana", "lastName": "Pop",
      "birthDate": "31/02/1990", "country": "Romania"}, "loan": {"amount": "1", "currency": "RON"}})");
  ASSERT_EQ(call->errors.size(), 1u);
  EXPECT_EQ(call->errors[0].code, ErrorCode::invalid_request);
  EXPECT_EQ(call->errors[0].field, "customer.birthDate");
  EXPECT_THAT(call->errors[0].message,
              HasSubstr("customer.birthDate: '31/02/1990' is not a calendar date in dd/MM/yyyy"));
}

TEST_F(OnboardingHandler, AnswersEveryJsonValueWithoutThrowing) {
  for (const char* body : {"null", "true", "0", "\"x\"", "[]", "{}", R"({"customer": null, "loan": null})",
                           R"({"customer": {"id": 1, "firstName": [], "lastName": {}}})"}) {
    SCOPED_TRACE(body);
    std::shared_ptr<FakeCall> call;
    EXPECT_NO_THROW(call = handle(body));
    ASSERT_EQ(call->errors.size(), 1u);
    EXPECT_EQ(call->errors[0].code, ErrorCode::invalid_request);
  }
}

TEST(OnboardingRegistry, RefusesABadOptionAtCreation) {
  fxconnect::Registry registry;
  register_onboarding(registry);
  EXPECT_THROW(registry.create("onboarding", options({{"threshold", "5"}})), fxconnect::ConfigError);
}

// ---- the committed example config ---------------------------------------------------------------

TEST(OnboardingExampleConfig, PassesLintWithTheProgram) {
  using fxconnect::testing::ChildProcess;
  auto log = fxconnect::testing::write_temp_file("onboarding-lint.log", "");
  ChildProcess p({fxconnect::testing::program_path("onboarding-connector"), "lint",
                  std::string(ONBOARDING_DIR) + "/onboarding.yaml"},
                 log);
  EXPECT_EQ(p.wait(std::chrono::seconds(30)), 0) << p.log();
  EXPECT_THAT(p.log(), HasSubstr("onboarding.yaml: ok"));
}

// ---- the golden cases, shared with the flow twin (examples/onboarding-flow) ------------------------

// examples/onboarding/test/golden.yaml through onboard(): the same replies and, for a bad request,
// the same error code and field (the flow names fields from the data's root: `request.`).
TEST(OnboardingGolden, TheCxxHandlerAnswersEveryGoldenCase) {
  auto doc = YAML::LoadFile(std::string(ONBOARDING_DIR) + "/test/golden.yaml");
  ValueLists lists;
  std::string uuid = doc["fixed"]["uuid"].as<std::string>();
  std::string today = doc["fixed"]["now"].as<std::string>().substr(0, 10);
  int cases = 0;
  for (const auto& tc : doc["tests"]) {
    ++cases;
    std::string name = tc["name"].as<std::string>();
    auto request = fxconnect::flow::yaml_to_json(tc["request"]["body"]);
    auto result = onboard(request, lists, Settings{}, uuid, today);
    if (tc["reply"]) {
      ASSERT_TRUE(result) << name << ": " << result.error().message;
      EXPECT_EQ(json::value(result.value()), fxconnect::flow::yaml_to_json(tc["reply"])) << name;
    } else {
      ASSERT_FALSE(result) << name << ": replied " << json::serialize(result.value());
      EXPECT_EQ(fxconnect::to_string(result.error().code), tc["error"]["code"].as<std::string>()) << name;
      EXPECT_EQ("request." + result.error().field.value_or("?"), tc["error"]["field"].as<std::string>())
          << name << ": " << result.error().message;
    }
  }
  EXPECT_GE(cases, 15);
}

// The flow twin on the same golden cases, with the `fxconnect` program: `fxconnect test`.
TEST(OnboardingGolden, TheFlowTwinAnswersEveryGoldenCase) {
  using fxconnect::testing::ChildProcess;
  std::string root = std::string(ONBOARDING_DIR) + "/..";
  for (const auto& files : std::vector<std::vector<std::string>>{
           {root + "/onboarding-flow/onboarding.yaml", root + "/onboarding/test/golden.yaml"},
           {root + "/onboarding-flow/tests/onboarding.yaml"},
           {root + "/onboarding-flow/tests/open-account.yaml"}}) {
    auto log = fxconnect::testing::write_temp_file("onboarding-flow-test.log", "");
    std::vector<std::string> argv{fxconnect::testing::program_path("fxconnect"), "test"};
    argv.insert(argv.end(), files.begin(), files.end());
    ChildProcess p(argv, log);
    EXPECT_EQ(p.wait(std::chrono::seconds(60)), 0) << p.log();
    EXPECT_THAT(p.log(), ::testing::ContainsRegex("[1-9][0-9]* passed, 0 failed\n$"));
  }
}

// ---- open_account (the core-banking connector of the demo) ------------------------------------

TEST(OpenAccount, ReadsTheRequestTheProcessSends) {
  auto r = read_open_account(json::parse(
      R"({"operation":"openAccount","customerRef":"C-1","countryCode":"RO","amountMinor":123456,"currency":"RON",)"
      R"("correlationId":"c-9","reference":"onboarding-7","kycRequired":true})"));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r.value().customer_ref, "C-1");
  EXPECT_EQ(r.value().amount_minor, 123456);
  EXPECT_EQ(r.value().currency, "RON");
  EXPECT_EQ(r.value().reference, "onboarding-7");
  EXPECT_TRUE(r.value().kyc_required);
}

TEST(OpenAccount, NamesTheFieldAtFault) {
  auto missing = read_open_account(json::parse(R"({"amountMinor":1,"currency":"EUR"})"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::invalid_request);
  EXPECT_EQ(missing.error().field, "customerRef");
  auto fraction = read_open_account(json::parse(R"({"customerRef":"C-1","amountMinor":1.5,"currency":"EUR"})"));
  ASSERT_FALSE(fraction);
  EXPECT_EQ(fraction.error().field, "amountMinor");
  auto flag =
      read_open_account(json::parse(R"({"customerRef":"C-1","amountMinor":1,"currency":"EUR","kycRequired":"yes"})"));
  ASSERT_FALSE(flag);
  EXPECT_EQ(flag.error().field, "kycRequired");
}

TEST(OpenAccount, EscapesTheCustomerInTheKycBody) {
  EXPECT_EQ(
      kyc_check_body("C-1<&>"),
      R"(<kyc:CheckCustomer xmlns:kyc="urn:example:kyc"><kyc:customerId>C-1&lt;&amp;&gt;</kyc:customerId></kyc:CheckCustomer>)");
}

}  // namespace
}  // namespace onboarding
