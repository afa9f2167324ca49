// A declarative connector (`flow:`) end to end: engine requests through the real broker to
// `fxconnect run <flow.yaml>`, whose steps validate, map, call a SOAP and a REST system (WireMock)
// and reply; every request gets exactly one reply or error reply, with its headers, and the steps
// show in /metrics. Needs FXC_KAFKA_BOOTSTRAP and FXC_LEGACY_HTTP (scripts/test.sh starts both).
#include <chrono>
#include <random>
#include <regex>

#include <gmock/gmock.h>
#include <boost/json.hpp>

#include "connector_fixture.h"
#include "http_get.h"
#include "wiremock.h"

namespace fxconnect::testing {
namespace {

namespace json = boost::json;
using std::chrono::seconds;
using ::testing::HasSubstr;

TEST_F(ConnectorTest, AFlowAnswersEachRequestWithItsStepsOrTheStepThatFailed) {
  auto wm = WireMock::from_env();
  if (!wm) GTEST_SKIP() << "FXC_LEGACY_HTTP is not set (scripts/legacy.sh start prints it)";
  std::random_device rd;
  auto base = "/fxc-flow/" + std::to_string(rd()) + std::to_string(rd());
  // REST: an account for everyone but C-REJ, whom the bank turns down with a 200.
  wm->stub(json::object{{"priority", 2},
                        {"request", {{"method", "POST"}, {"url", base + "/accounts"}}},
                        {"response", {{"status", 201}, {"jsonBody", {{"id", "ACC-1"}, {"status", "OPEN"}}}}}});
  wm->stub(json::object{
      {"priority", 1},
      {"request",
       {{"method", "POST"}, {"url", base + "/accounts"}, {"bodyPatterns", json::array{{{"contains", "C-REJ"}}}}}},
      {"response", {{"status", 200}, {"jsonBody", {{"status", "REJECTED"}, {"reason", "blacklisted"}}}}}});
  // SOAP: the answer uses its own prefix (ns0) for the namespace the config calls k.
  wm->stub(json::object{{"request", {{"method", "POST"}, {"url", base + "/kyc"}}},
                        {"response",
                         {{"status", 200},
                          {"headers", {{"Content-Type", "text/xml"}}},
                          {"body",
                           "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body>"
                           "<ns0:CheckResponse xmlns:ns0=\"urn:example:kyc\"><ns0:Status>CLEAR</ns0:Status>"
                           "<ns0:RiskScore>12</ns0:RiskScore></ns0:CheckResponse></soap:Body></soap:Envelope>"}}}});

  auto schema = write_temp_file("flow-schema.json", R"({"type": "object", "required": ["customer", "loan"],
    "properties": {"customer": {"type": "object", "required": ["id", "birthDate"]}}})");
  auto flow = "systems:\n  bank:\n    endpoints: [ \"" + wm->base_url() + base +
              "\" ]\n    timeout: 5s\n  kyc:\n    endpoints: [ \"" + wm->base_url() + base +
              "\" ]\n    timeout: 5s\n    soap: { version: \"1.1\", namespaces: { k: \"urn:example:kyc\" } }\n"
              "flow:\n"
              "  - validate: { schema: " +
              schema +
              " }\n"
              "  - map:\n"
              "      ref: { from: request.customer.id }\n"
              "      birthDate: { from: request.customer.birthDate, date: { in: dd/MM/yyyy, out: yyyy-MM-dd } }\n"
              "      amountMinor: { from: request.loan.amount, minor_units: \"${request.loan.currency}\" }\n"
              "      correlationId: { uuid: v4 }\n"
              "  - call:\n"
              "      as: kyc\n"
              "      system: kyc\n"
              "      path: /kyc\n"
              "      soap: { action: \"urn:kyc#Check\" }\n"
              "      body: \"<k:Check xmlns:k='urn:example:kyc'><k:id>${map.ref}</k:id></k:Check>\"\n"
              "      extract: { status: { xpath: //k:Status }, score: { xpath: //k:RiskScore, type: integer } }\n"
              "  - call:\n"
              "      as: account\n"
              "      system: bank\n"
              "      method: POST\n"
              "      path: /accounts\n"
              "      body: { customerRef: \"${map.ref}\", amountMinor: \"${map.amountMinor}\" }\n"
              "      accept: [200, 201]\n"
              "      fail_when:\n"
              "        - if: '.account.body.status == \"REJECTED\"'\n"
              "          error: { code: handler_failed, message: 'rejected: \\(.account.body.reason)' }\n"
              "  - reply: { validation: \"${map}\", kyc: \"${kyc.status}\", score: \"${kyc.score}\", "
              "accountId: \"${account.body.id}\" }\n"
              "observability:\n  http:\n    listen: 127.0.0.1:0\n";
  auto yaml = flow_config("  deadline: 20s\n  max_in_flight: 500\n");
  kafka_->create_topic(in_, 3);
  kafka_->create_topic(out_, 3);
  auto connector = start_connector(yaml + flow, 0, "fxconnect");

  constexpr int kEach = 40;
  std::vector<core::OutgoingRecord> requests;
  auto body = [](const std::string& id, const std::string& date) {
    return R"({"customer": {"id": ")" + id + R"(", "birthDate": ")" + date +
           R"("}, "loan": {"amount": "1234.56", "currency": "RON"}})";
  };
  for (int i = 0; i < kEach; ++i) {
    for (const auto& [kind, b] :
         {std::pair{"ok", body("C-" + std::to_string(i), "24/02/1990")},
          std::pair{"rejected", body("C-REJ", "24/02/1990")}, std::pair{"baddate", body("C-1", "31/02/1990")}}) {
      auto uuid = std::string(kind) + "-" + std::to_string(i);
      requests.push_back({in_, uuid, {{"processInstanceUuid", uuid}, {"fxContext", "main"}}, b});
    }
  }
  kafka_->produce(requests);

  TopicReader replies(bootstrap_, out_);
  ASSERT_TRUE(replies.wait_for(requests.size(), seconds(120))) << replies.count() << " of " << requests.size() << "\n"
                                                               << connector->log();
  auto got = by_uuid(replies.records());
  for (int i = 0; i < kEach; ++i) {
    auto ok = "ok-" + std::to_string(i);
    ASSERT_EQ(got[ok].size(), 1U) << ok;
    auto reply = json::parse(got[ok][0].value).as_object();
    EXPECT_EQ(reply.at("accountId"), "ACC-1") << got[ok][0].value;
    EXPECT_EQ(reply.at("kyc"), "CLEAR");
    EXPECT_EQ(reply.at("score"), 12);
    EXPECT_EQ(reply.at("validation").at("birthDate"), "1990-02-24");
    EXPECT_EQ(reply.at("validation").at("amountMinor"), 123456);
    EXPECT_EQ(reply.at("validation").at("ref"), json::value("C-" + std::to_string(i)));
    EXPECT_EQ(got[ok][0].headers, (Headers{{"processInstanceUuid", ok}, {"fxContext", "main"}}));

    auto rejected = "rejected-" + std::to_string(i);
    ASSERT_EQ(got[rejected].size(), 1U) << rejected;
    auto error = json::parse(got[rejected][0].value).as_object();
    EXPECT_EQ(error.at("error").at("code"), "handler_failed") << got[rejected][0].value;
    EXPECT_EQ(error.at("errorMessage"), "rejected: blacklisted");
    EXPECT_EQ(error.at("error").at("step"), "call:account");

    auto bad = "baddate-" + std::to_string(i);
    ASSERT_EQ(got[bad].size(), 1U) << bad;
    auto invalid = json::parse(got[bad][0].value).as_object();
    EXPECT_EQ(invalid.at("error").at("code"), "invalid_request") << got[bad][0].value;
    EXPECT_EQ(invalid.at("error").at("field"), "request.customer.birthDate");
  }
  EXPECT_EQ(wm->count(json::object{{"method", "POST"}, {"url", base + "/accounts"}}), std::size_t{2 * kEach})
      << "a request refused by its map step never reaches the bank";
  EXPECT_EQ(wm->count(json::object{{"method", "POST"}, {"url", base + "/kyc"}}), std::size_t{2 * kEach});

  std::smatch m;
  auto log = connector->log();
  ASSERT_TRUE(std::regex_search(log, m, std::regex(R"(metrics and health on http://([0-9.]+:[0-9]+))"))) << log;
  auto page = http_get(m[1], "/metrics").body;
  EXPECT_THAT(page,
              HasSubstr("fxconnect_flow_step_duration_seconds_count{step=\"validate\"} " + std::to_string(3 * kEach)));
  EXPECT_THAT(page, HasSubstr("fxconnect_flow_step_duration_seconds_count{step=\"call:account\"} " +
                              std::to_string(2 * kEach)));
  EXPECT_THAT(page, HasSubstr("fxconnect_flow_step_failures_total{step=\"map\"} " + std::to_string(kEach)));
  EXPECT_THAT(page, HasSubstr("fxconnect_flow_step_failures_total{step=\"call:account\"} " + std::to_string(kEach)));
  EXPECT_THAT(page,
              HasSubstr("fxconnect_legacy_calls_total{system=\"kyc\",outcome=\"ok\"} " + std::to_string(2 * kEach)));

  connector->signal(SIGTERM);
  EXPECT_EQ(connector->wait(seconds(60)), 0) << connector->log();
  ASSERT_TRUE(replies.wait_caught_up(seconds(60)));
  EXPECT_EQ(replies.count(), requests.size()) << "exactly one outcome per request";
}

}  // namespace
}  // namespace fxconnect::testing
