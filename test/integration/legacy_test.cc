// Legacy calls end to end: engine requests through the real broker to a connector process whose
// handler calls a legacy system (WireMock) declared under `systems:`; each request ends in exactly
// one reply or error reply, with the error code of what happened, and the calls show in /metrics.
// Needs FXC_KAFKA_BOOTSTRAP and FXC_LEGACY_HTTP (scripts/test.sh starts both).
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

struct Case {
  std::string name;      // also the request's processInstanceUuid prefix
  std::string request;   // the "http" part of the scripted handler's request
  std::string expected;  // "ok" or the error code of the error reply
};

TEST_F(ConnectorTest, EachRequestCallingALegacySystemGetsExactlyOneReplyOrErrorReply) {
  auto wm = WireMock::from_env();
  if (!wm) GTEST_SKIP() << "FXC_LEGACY_HTTP is not set (scripts/legacy.sh start prints it)";
  std::random_device rd;
  auto base = "/fxc-e2e/" + std::to_string(rd()) + std::to_string(rd());
  auto stub = [&](const std::string& method, const std::string& path, json::object response) {
    wm->stub(json::object{{"request", {{"method", method}, {"url", base + path}}}, {"response", response}});
  };
  stub("POST", "/accounts", {{"status", 201}, {"fixedDelayMilliseconds", 50}, {"jsonBody", {{"id", "ACC-1"}}}});
  stub("GET", "/down", {{"status", 503}, {"body", "maintenance window"}});
  stub("GET", "/slow", {{"status", 200}, {"fixedDelayMilliseconds", 8000}});
  stub("GET", "/reset", {{"fault", "CONNECTION_RESET_BY_PEER"}});
  stub("GET", "/garbage", {{"fault", "RANDOM_DATA_THEN_CLOSE"}});

  kafka_->create_topic(in_, 3);
  kafka_->create_topic(out_, 3);
  // Attempts of 2 s: on a starved machine a call can wait a few hundred ms before libcurl even
  // starts it, and that must not turn the ok and 503 cases into timeouts. /slow outlasts both.
  auto systems = "systems:\n  legacy:\n    endpoints: [ \"" + wm->base_url() + base +
                 "\" ]\n    timeout: 2s\n    retry: { attempts: 2, backoff: 10ms }\n"
                 "    circuit_breaker: { enabled: false }\n"
                 "  gone:\n    endpoints: http://127.0.0.1:1\n    retry: { attempts: 1 }\n";
  auto yaml = config("  name: scripted\n", "  deadline: 10s\n  max_in_flight: 500\n") + systems +
              "observability:\n  http:\n    listen: 127.0.0.1:0\n";
  auto connector = start_connector(yaml);

  std::vector<Case> cases = {
      {"ok", R"({"method": "POST", "path": "/accounts", "body": "{\"customerRef\": \"C-1\"}"})", "ok"},
      {"down", R"({"path": "/down"})", "legacy_failed"},
      {"slow", R"({"path": "/slow"})", "legacy_timeout"},
      {"reset", R"({"path": "/reset"})", "legacy_unavailable"},
      {"garbage", R"({"path": "/garbage"})", "legacy_unavailable"},
      {"gone", R"({"system": "gone", "path": "/"})", "legacy_unavailable"},
      {"unknown", R"({"system": "nosuch", "path": "/"})", "internal"},
  };
  constexpr int kEach = 30;
  std::vector<core::OutgoingRecord> requests;
  for (int i = 0; i < kEach; ++i) {
    for (const auto& c : cases) {
      auto uuid = c.name + "-" + std::to_string(i);
      requests.push_back({in_, uuid, {{"processInstanceUuid", uuid}}, R"({"http": )" + c.request + "}"});
    }
  }
  kafka_->produce(requests);

  TopicReader replies(bootstrap_, out_);
  ASSERT_TRUE(replies.wait_for(requests.size(), seconds(120))) << replies.count() << " of " << requests.size() << "\n"
                                                               << connector->log();
  auto got = by_uuid(replies.records());
  for (const auto& c : cases) {
    for (int i = 0; i < kEach; ++i) {
      auto uuid = c.name + "-" + std::to_string(i);
      ASSERT_EQ(got[uuid].size(), 1U) << uuid;
      auto body = json::parse(got[uuid][0].value).as_object();
      if (c.expected == "ok") {
        EXPECT_EQ(body.at("status"), 201) << uuid;
        EXPECT_EQ(body.at("body").at("id"), "ACC-1") << uuid;
      } else {
        ASSERT_TRUE(body.contains("error")) << uuid << ": " << got[uuid][0].value;
        EXPECT_EQ(std::string(body.at("error").at("code").as_string()), c.expected)
            << uuid << ": " << got[uuid][0].value;
      }
    }
  }
  EXPECT_THAT(std::string(json::parse(got["down-0"][0].value).at("errorMessage").as_string()),
              HasSubstr("maintenance window"));
  EXPECT_EQ(wm->count(json::object{{"method", "POST"}, {"url", base + "/accounts"}}), std::size_t{kEach})
      << "a POST is never sent twice";
  EXPECT_EQ(wm->count(json::object{{"method", "GET"}, {"url", base + "/down"}}), std::size_t{2 * kEach})
      << "a 503 is retried once (attempts: 2)";

  std::smatch m;
  auto log = connector->log();
  ASSERT_TRUE(std::regex_search(log, m, std::regex(R"(metrics and health on http://([0-9.]+:[0-9]+))"))) << log;
  auto page = http_get(m[1], "/metrics").body;
  EXPECT_THAT(page,
              HasSubstr("fxconnect_legacy_calls_total{system=\"legacy\",outcome=\"ok\"} " + std::to_string(kEach)));
  EXPECT_THAT(page,
              HasSubstr("fxconnect_legacy_calls_total{system=\"legacy\",outcome=\"failed\"} " + std::to_string(kEach)));
  EXPECT_THAT(
      page, HasSubstr("fxconnect_legacy_calls_total{system=\"legacy\",outcome=\"timeout\"} " + std::to_string(kEach)));
  EXPECT_THAT(page, HasSubstr("fxconnect_legacy_calls_total{system=\"gone\",outcome=\"unavailable\"} " +
                              std::to_string(kEach)));
  EXPECT_THAT(page, HasSubstr("fxconnect_legacy_retries_total{system=\"legacy\"} "));
  EXPECT_THAT(page, HasSubstr("fxconnect_legacy_circuit_state{system=\"gone\"} "));

  connector->signal(SIGTERM);
  EXPECT_EQ(connector->wait(seconds(60)), 0) << connector->log();
  ASSERT_TRUE(replies.wait_caught_up(seconds(60)));
  EXPECT_EQ(replies.count(), requests.size()) << "exactly one outcome per request";
}

}  // namespace
}  // namespace fxconnect::testing
