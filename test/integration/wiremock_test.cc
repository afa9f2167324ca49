// The legacy stand-in and its test helper (test/support/wiremock.h): stubs added through the
// admin API answer and are counted, the demo mappings of scripts/legacy/mappings answer as
// scripts/legacy/README.md says, and admin errors surface as exceptions. Needs a WireMock started
// by scripts/legacy.sh (FXC_LEGACY_HTTP, set by scripts/lib.sh's fxc_private_legacy); skipped
// without one.
#include <chrono>
#include <random>

#include <gmock/gmock.h>

#include "http_get.h"
#include "wiremock.h"

namespace fxconnect::testing {
namespace {

namespace json = boost::json;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// A random tag, so that this run's stubs and requests are its own on a shared WireMock.
std::string unique(const std::string& prefix) {
  std::random_device rd;
  return prefix + std::to_string(rd()) + std::to_string(rd());
}

class WireMockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto wm = WireMock::from_env();
    if (!wm) GTEST_SKIP() << "FXC_LEGACY_HTTP is not set (scripts/legacy.sh start prints it)";
    wm_.emplace(std::move(*wm));
  }
  std::optional<WireMock> wm_;
};

TEST_F(WireMockTest, AStubAnswersAndIsCounted) {
  auto path = unique("/fxc-test/orders/");
  auto id = wm_->stub(json::parse(R"({
    "request": {"method": "POST", "url": ")" +
                                  path + R"(",
                "headers": {"X-Trace": {"equalTo": "t-1"}},
                "bodyPatterns": [{"equalToJson": {"orderId": 7}}]},
    "response": {"status": 202, "headers": {"Content-Type": "application/json"},
                 "body": "{\"accepted\": {{jsonPath request.body '$.orderId'}} }"}
  })"));
  EXPECT_FALSE(id.empty());

  auto res = http_request(wm_->base_url(), "POST", path, R"({"orderId": 7})", {{"X-Trace", "t-1"}});
  ASSERT_EQ(res.status, 202) << res.error << res.body;
  EXPECT_EQ(json::parse(res.body), json::parse(R"({"accepted": 7})")) << "global response templating is on";
  EXPECT_EQ(res.header("content-type"), "application/json");

  // Not matched: another body. WireMock answers 404 and journals it as unmatched.
  EXPECT_EQ(http_request(wm_->base_url(), "POST", path, R"({"orderId": 8})", {{"X-Trace", "t-1"}}).status, 404);

  json::value all = {{"method", "POST"}, {"url", path}};
  EXPECT_EQ(wm_->wait_for_count(all, 2), 2U);
  EXPECT_EQ(wm_->count(json::parse(R"({"url": ")" + path + R"(", "bodyPatterns": [{"equalToJson": {"orderId": 8}}]})")),
            1U);
  auto found = wm_->find(all);
  ASSERT_EQ(found.size(), 2U);
  EXPECT_EQ(found[0].at("headers").at("X-Trace").as_string(), "t-1");
  bool in_journal = false;
  for (const auto& r : wm_->requests()) in_journal = in_journal || r.at("request").at("url").as_string() == path;
  EXPECT_TRUE(in_journal);
  bool unmatched = false;
  for (const auto& r : wm_->unmatched()) unmatched = unmatched || r.at("url").as_string() == path;
  EXPECT_TRUE(unmatched);

  wm_->remove_stub(id);
  EXPECT_EQ(http_request(wm_->base_url(), "POST", path, R"({"orderId": 7})", {{"X-Trace", "t-1"}}).status, 404);
}

TEST_F(WireMockTest, ScenariosMoveBetweenStates) {
  auto path = unique("/fxc-test/flaky/");
  auto scenario = unique("flaky-");
  wm_->stub(json::parse(R"({"scenarioName": ")" + scenario + R"(", "requiredScenarioState": "Started",
    "newScenarioState": "up", "request": {"method": "GET", "url": ")" +
                        path + R"("},
    "response": {"status": 503}})"));
  wm_->stub(json::parse(R"({"scenarioName": ")" + scenario + R"(", "requiredScenarioState": "up",
    "request": {"method": "GET", "url": ")" +
                        path + R"("}, "response": {"status": 200, "body": "ok"}})"));

  EXPECT_EQ(wm_->scenario_state(scenario), "Started");
  EXPECT_EQ(http_get(wm_->base_url(), path).status, 503);
  EXPECT_EQ(wm_->scenario_state(scenario), "up");
  EXPECT_EQ(http_get(wm_->base_url(), path).body, "ok");
  wm_->set_scenario(scenario, "Started");
  EXPECT_EQ(http_get(wm_->base_url(), path).status, 503);
  // WireMock 3.13 does not percent-decode the name in /__admin/scenarios/{name}/state.
  EXPECT_THROW(wm_->set_scenario("with space", "Started"), std::invalid_argument);
}

TEST_F(WireMockTest, TheDemoMappingsAnswer) {
  // Core banking (REST): POST /accounts answers 201 after 50 ms with the request's customerRef.
  auto customer = unique("C-");
  auto body = json::serialize(json::value{{"customerRef", customer}, {"amountMinor", 366409}, {"currency", "PLN"}});
  auto t0 = std::chrono::steady_clock::now();
  auto res = http_request(wm_->base_url(), "POST", "/accounts", body);
  auto elapsed = std::chrono::steady_clock::now() - t0;
  ASSERT_EQ(res.status, 201) << res.error << res.body;
  EXPECT_GE(elapsed, std::chrono::milliseconds(50)) << "fixedDelayMilliseconds: 50";
  auto account = json::parse(res.body);
  EXPECT_EQ(account.at("customerRef").as_string(), customer);
  EXPECT_EQ(account.at("status").as_string(), "OPEN");
  EXPECT_THAT(std::string(account.at("id").as_string()), StartsWith("ACC-"));
  EXPECT_EQ(wm_->count(json::parse(R"({"method": "POST", "url": "/accounts", "bodyPatterns":
    [{"matchesJsonPath": {"expression": "$.customerRef", "equalTo": ")" +
                                   customer + R"("}}]})")),
            1U);
  EXPECT_EQ(http_request(wm_->base_url(), "POST", "/accounts", R"({"customerRef": "x"})").status, 400);
  auto read = http_get(wm_->base_url(), "/accounts/ACC-1");
  ASSERT_EQ(read.status, 200);
  EXPECT_EQ(json::parse(read.body).at("id").as_string(), "ACC-1");

  // KYC (SOAP 1.1): CLEAR for most customers, a soap:Client fault for C-666.
  auto envelope = [](const std::string& id) {
    return R"(<?xml version="1.0" encoding="UTF-8"?>)"
           R"(<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:kyc="urn:example:kyc">)"
           R"(<soap:Body><kyc:CheckCustomer><kyc:customerId>)" +
           id + "</kyc:customerId></kyc:CheckCustomer></soap:Body></soap:Envelope>";
  };
  HttpHeaders soap = {{"Content-Type", "text/xml; charset=utf-8"}, {"SOAPAction", R"("urn:kyc#CheckCustomer")"}};
  auto clear = http_request(wm_->base_url(), "POST", "/kyc", envelope(customer), soap);
  ASSERT_EQ(clear.status, 200) << clear.body;
  EXPECT_THAT(clear.body, HasSubstr("<kyc:status>CLEAR</kyc:status>"));
  EXPECT_THAT(clear.body, HasSubstr("<kyc:customerId>" + customer + "</kyc:customerId>"));
  auto fault = http_request(wm_->base_url(), "POST", "/kyc", envelope("C-666"), soap);
  EXPECT_EQ(fault.status, 500);
  EXPECT_THAT(fault.body, HasSubstr("<faultcode>soap:Client</faultcode>"));
  EXPECT_THAT(fault.body, HasSubstr("<faultstring>customer blocked</faultstring>"));
  EXPECT_EQ(http_request(wm_->base_url(), "POST", "/kyc", envelope(customer),
                         {{"Content-Type", "text/xml"}, {"SOAPAction", R"("urn:kyc#Other")"}})
                .status,
            404)
      << "another SOAPAction is not stubbed";
}

TEST_F(WireMockTest, AdminErrorsThrow) {
  try {
    wm_->stub(json::parse(R"({"request": {"method": "GET", "url": "/x"}, "response": {"status": "abc"}})"));
    ADD_FAILURE() << "an invalid mapping was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("POST " + wm_->base_url() + "/__admin/mappings: HTTP 422: "));
  }
  EXPECT_THROW(wm_->scenario_state(unique("no such scenario ")), std::runtime_error);
  WireMock nobody("http://127.0.0.1:1");
  try {
    nobody.reset();
    ADD_FAILURE() << "no WireMock on port 1";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("no answer"));
  }
}

}  // namespace
}  // namespace fxconnect::testing
