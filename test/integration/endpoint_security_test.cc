// The connector's endpoints secured end to end (issue 12), on a real connector process: its
// metrics/health endpoint over HTTPS with a bearer token for /metrics; its spans exported over
// HTTPS (mutual TLS when WireMock asks for a client certificate) with an API-key header, to
// WireMock as the collector, whose journal shows the header and the spans; a collector whose
// certificate it does not trust gets nothing; a legacy system whose certificate it does not trust
// is refused once, with a clear error, however many conditions retry.on lists, while the same call
// with the right CA succeeds. Needs FXC_KAFKA_BOOTSTRAP and WireMock with HTTPS (FXC_LEGACY_HTTP,
// FXC_LEGACY_HTTPS, FXC_LEGACY_CA, and FXC_LEGACY_CLIENT_CERT/KEY with --mtls; scripts/test.sh
// starts both); skipped without WireMock's HTTPS. Certificates of the endpoint and the untrusted
// CA: test/support/test_certs.h.
#include <csignal>
#include <cstdlib>
#include <optional>
#include <random>
#include <regex>
#include <thread>

#include <gmock/gmock.h>
#include <boost/beast/core/string.hpp>
#include <boost/json.hpp>

#include "connector_fixture.h"
#include "http_get.h"
#include "https_get.h"
#include "test_certs.h"
#include "wiremock.h"

namespace fxconnect::testing {
namespace {

namespace json = boost::json;
using std::chrono::seconds;
using ::testing::HasSubstr;
using ::testing::Not;

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string random_part() {
  std::random_device rd;
  return std::to_string(rd()) + std::to_string(rd());
}

// The value of `series` on a Prometheus page, or -1 when it is not there.
double metric(const std::string& page, const std::string& series) {
  std::smatch m;
  std::regex re("(^|\n)" + std::regex_replace(series, std::regex(R"([{}"\[\]().*+?^$|\\])"), R"(\$&)") +
                " ([0-9.e+-]+)");
  if (!std::regex_search(page, m, re)) return -1;
  return std::stod(m[2]);
}

// A header of a WireMock journal entry, by name in any case ("" when absent).
std::string journal_header(const json::value& request, std::string_view name) {
  const auto* headers = request.as_object().if_contains("headers");
  if (!headers || !headers->is_object()) return {};
  for (const auto& [key, value] : headers->as_object()) {
    if (boost::beast::iequals(key, name) && value.is_string()) return std::string(value.as_string());
  }
  return {};
}

class EndpointSecurity : public ConnectorTest {
 protected:
  void SetUp() override {
    ConnectorTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    auto wm = WireMock::from_env();
    if (!wm || env("FXC_LEGACY_HTTPS").empty()) {
      GTEST_SKIP() << "FXC_LEGACY_HTTPS is not set (scripts/legacy.sh start --tls prints it)";
    }
    wm_.emplace(std::move(*wm));
    https_ = env("FXC_LEGACY_HTTPS");
    legacy_ca_ = env("FXC_LEGACY_CA");
  }

  // `tls:` entries (inline YAML) for WireMock's HTTPS port with `ca_file`, and WireMock's client
  // certificate when it was started with --mtls.
  std::string wiremock_tls(const std::string& ca_file) const {
    std::string out = "ca_file: " + ca_file;
    if (!env("FXC_LEGACY_CLIENT_CERT").empty()) {
      out += ", cert_file: " + env("FXC_LEGACY_CLIENT_CERT") + ", key_file: " + env("FXC_LEGACY_CLIENT_KEY");
    }
    return out;
  }

  // The same as keys of a block (`tracing:`), indented by four.
  std::string wiremock_tls_block(const std::string& ca_file) const {
    std::string out = "    ca_file: " + ca_file + "\n";
    if (!env("FXC_LEGACY_CLIENT_CERT").empty()) {
      out +=
          "    cert_file: " + env("FXC_LEGACY_CLIENT_CERT") + "\n    key_file: " + env("FXC_LEGACY_CLIENT_KEY") + "\n";
    }
    return out;
  }

  std::optional<WireMock> wm_;
  std::string https_, legacy_ca_;
};

TEST_F(EndpointSecurity, HttpsMetricsNeedTheTokenAndSpansReachACollectorOverTlsWithTheApiKey) {
  const auto& certs = test_certs();
  const std::string token = "metrics-" + random_part();
  const std::string api_key = "api-key-" + random_part();
  // Both from secret files, as in production (${file:...}).
  auto token_file = write_temp_file(name_ + ".token", token + "\n");
  auto api_key_file = write_temp_file(name_ + ".api-key", api_key + "\n");
  auto base = "/fxc-otlp/" + random_part();
  wm_->stub(json::object{
      {"request",
       {{"method", "POST"}, {"url", base + "/v1/traces"}, {"headers", {{"x-api-key", {{"equalTo", api_key}}}}}}},
      {"response", {{"status", 200}, {"jsonBody", json::object{}}}}});

  kafka_->create_topic(in_, 2);
  kafka_->create_topic(out_, 2);
  auto yaml = config("  name: scripted\n", "  deadline: 10s\n") +
              "observability:\n"
              "  service_name: fxc-secure-endpoints\n"
              "  http:\n"
              "    listen: 127.0.0.1:0\n"
              "    metrics_token: \"${file:" +
              token_file + "}\"\n    tls: { cert_file: " + certs.server + ", key_file: " + certs.server_key +
              " }\n"
              "    max_connections: 8\n    request_timeout: 5s\n    max_request_bytes: 4096\n    max_headers: 16\n"
              "  tracing:\n"
              "    otlp_endpoint: " +
              https_ + base + "\n    sampler: always\n" + wiremock_tls_block(legacy_ca_) +
              "    headers: { x-api-key: \"${file:" + api_key_file + "}\" }\n";
  auto connector = start_connector(yaml);

  std::smatch m;
  auto log = connector->log();
  ASSERT_TRUE(std::regex_search(log, m, std::regex(R"(metrics and health on https://([0-9.]+:[0-9]+))"))) << log;
  std::string address = m[1];
  std::string url = "https://" + address;
  EXPECT_THAT(log, HasSubstr("1 custom header")) << log;
  EXPECT_THAT(log, HasSubstr("TLS")) << log;

  std::vector<core::OutgoingRecord> requests;
  for (int i = 0; i < 5; ++i) {
    auto uuid = "secure-" + std::to_string(i);
    requests.push_back({in_, uuid, {{"processInstanceUuid", uuid}}, "{}"});
  }
  kafka_->produce(requests);
  TopicReader replies(bootstrap_, out_);
  ASSERT_TRUE(replies.wait_for(requests.size(), seconds(60))) << connector->log();

  // The spans arrive at the collector over TLS, with the API key (the stub matches only then).
  json::object with_key{
      {"method", "POST"}, {"url", base + "/v1/traces"}, {"headers", {{"x-api-key", {{"equalTo", api_key}}}}}};
  ASSERT_GE(wm_->wait_for_count(with_key, 1, std::chrono::seconds(30)), 1U) << connector->log();
  // The spans go out in batches: on a busy machine the first request's may come in a later one than
  // the first batch, so wait (up to 30 s) until one carries them.
  auto first_request_exported = [&] {
    for (const auto& r : wm_->find(with_key)) {
      if (std::string(r.at("body").as_string()).find("secure-0") != std::string::npos) return true;
    }
    return false;
  };
  for (auto end = std::chrono::steady_clock::now() + seconds(30);
       !first_request_exported() && std::chrono::steady_clock::now() < end;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  std::string bodies;
  for (const auto& r : wm_->find(with_key)) {
    EXPECT_EQ(std::string(r.at("absoluteUrl").as_string()).rfind("https://", 0), 0U) << json::serialize(r);
    EXPECT_EQ(journal_header(r, "x-api-key"), api_key);
    bodies += std::string(r.at("body").as_string());
  }
  EXPECT_THAT(bodies, HasSubstr("fxc-secure-endpoints")) << "the service's spans";
  EXPECT_THAT(bodies, HasSubstr("secure-0")) << "a span of the first request (its processInstanceUuid)";

  TlsClientOptions tls;
  tls.ca_file = certs.ca;
  auto none = https_request(url, "GET", "/metrics", {}, tls);
  EXPECT_EQ(none.status, 401) << none.error;
  EXPECT_EQ(none.header("WWW-Authenticate").rfind("Bearer", 0), 0U);
  auto wrong = https_request(url, "GET", "/metrics", {{"Authorization", "Bearer x" + token}}, tls);
  EXPECT_EQ(wrong.status, 401) << wrong.error;
  auto page = https_request(url, "GET", "/metrics", {{"Authorization", "Bearer " + token}}, tls);
  ASSERT_EQ(page.status, 200) << page.error;
  EXPECT_EQ(metric(page.body, "fxconnect_requests_consumed_total"), 5);
  EXPECT_GE(metric(page.body, "fxconnect_spans_exported_total"), 1);
  EXPECT_THAT(page.body, Not(HasSubstr(token)));
  EXPECT_THAT(page.body, Not(HasSubstr(api_key)));
  EXPECT_EQ(https_request(url, "GET", "/health/live", {}, tls).status, 200) << "open for probes";
  EXPECT_EQ(https_request(url, "GET", "/health/ready", {}, tls).status, 200) << "open for probes";
  auto plain = http_get(address, "/health/live");
  EXPECT_EQ(plain.status, 0) << "no answer over plain HTTP: " << plain.body;

  connector->signal(SIGTERM);
  EXPECT_EQ(connector->wait(seconds(60)), 0) << connector->log();
  log = connector->log();
  EXPECT_THAT(log, Not(HasSubstr(token))) << "the token is never printed";
  EXPECT_THAT(log, Not(HasSubstr(api_key))) << "the header's value is never printed";
}

TEST_F(EndpointSecurity, UntrustedCertificatesAreRefusedOnceForLegacySystemsAndCollectorsAlike) {
  const auto& certs = test_certs();
  auto base = "/fxc-tls/" + random_part();
  auto otlp_base = "/fxc-otlp-untrusted/" + random_part();
  wm_->stub(json::object{{"request", {{"method", "GET"}, {"url", base + "/tls"}}},
                         {"response", {{"status", 200}, {"body", "secure"}}}});
  wm_->stub(json::object{{"request", {{"method", "POST"}, {"url", otlp_base + "/v1/traces"}}},
                         {"response", {{"status", 200}}}});

  kafka_->create_topic(in_, 2);
  kafka_->create_topic(out_, 2);
  // Both systems are WireMock's HTTPS port; `untrusted` trusts only a CA that did not issue its
  // certificate. retry.on lists every condition there is: a refused certificate is still not retried.
  auto system = [&](const std::string& name, const std::string& ca_file) {
    return "  " + name + ":\n    endpoints: [ \"" + https_ + base + "\" ]\n    tls: { " + wiremock_tls(ca_file) +
           " }\n    retry: { attempts: 4, backoff: 10ms, on: [ connect, timeout, broken, 429, 500, 502, 503, 504 ] }\n"
           "    circuit_breaker: { enabled: false }\n";
  };
  auto yaml = config("  name: scripted\n", "  deadline: 20s\n") + "systems:\n" + system("untrusted", certs.other_ca) +
              system("trusted", legacy_ca_) +
              "observability:\n  http:\n    listen: 127.0.0.1:0\n"
              "  tracing:\n    otlp_endpoint: " +
              https_ + otlp_base + "\n    sampler: always\n    ca_file: " + certs.other_ca + "\n";
  auto connector = start_connector(yaml);
  std::smatch m;
  auto log = connector->log();
  ASSERT_TRUE(std::regex_search(log, m, std::regex(R"(metrics and health on http://([0-9.]+:[0-9]+))"))) << log;
  std::string address = m[1];

  constexpr int kEach = 5;
  std::vector<core::OutgoingRecord> requests;
  for (int i = 0; i < kEach; ++i) {
    for (const char* name : {"untrusted", "trusted"}) {
      auto uuid = std::string(name) + "-" + std::to_string(i);
      requests.push_back({in_,
                          uuid,
                          {{"processInstanceUuid", uuid}},
                          std::string(R"({"http": {"system": ")") + name + R"(", "path": "/tls"}})"});
    }
  }
  kafka_->produce(requests);
  TopicReader replies(bootstrap_, out_);
  ASSERT_TRUE(replies.wait_for(requests.size(), seconds(60))) << connector->log();
  auto got = by_uuid(replies.records());
  for (int i = 0; i < kEach; ++i) {
    auto refused = "untrusted-" + std::to_string(i);
    ASSERT_EQ(got[refused].size(), 1U) << refused;
    auto error = json::parse(got[refused][0].value).as_object();
    ASSERT_TRUE(error.contains("error")) << got[refused][0].value;
    EXPECT_EQ(error.at("error").at("code"), "legacy_unavailable") << got[refused][0].value;
    EXPECT_THAT(std::string(error.at("errorMessage").as_string()), HasSubstr("certificate")) << got[refused][0].value;
    auto ok = "trusted-" + std::to_string(i);
    ASSERT_EQ(got[ok].size(), 1U) << ok;
    auto reply = json::parse(got[ok][0].value).as_object();
    EXPECT_EQ(reply.at("status"), 200) << got[ok][0].value;
  }
  EXPECT_EQ(wm_->count(json::object{{"method", "GET"}, {"url", base + "/tls"}}), std::size_t{kEach})
      << "only the trusted system's calls reached WireMock";

  // Spans: refused by their collector's certificate, counted as dropped, never received.
  double dropped = 0;
  std::string page;
  for (auto end = std::chrono::steady_clock::now() + seconds(30); std::chrono::steady_clock::now() < end;) {
    page = http_get(address, "/metrics").body;
    dropped = metric(page, "fxconnect_spans_dropped_total");
    if (dropped > 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_GT(dropped, 0) << page;
  EXPECT_EQ(metric(page, "fxconnect_spans_exported_total"), 0);
  EXPECT_EQ(metric(page, R"(fxconnect_legacy_retries_total{system="untrusted"})"), 0) << "one attempt per call";
  EXPECT_EQ(metric(page, R"(fxconnect_legacy_calls_total{system="untrusted",outcome="unavailable"})"), kEach);
  EXPECT_EQ(metric(page, R"(fxconnect_legacy_calls_total{system="trusted",outcome="ok"})"), kEach);
  EXPECT_EQ(wm_->count(json::object{{"method", "POST"}, {"url", otlp_base + "/v1/traces"}}), 0U);

  connector->signal(SIGTERM);
  EXPECT_EQ(connector->wait(seconds(60)), 0) << connector->log();
  EXPECT_THAT(connector->log(), HasSubstr("certificate is refused"));
}

}  // namespace
}  // namespace fxconnect::testing
