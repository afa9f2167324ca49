// TLS and SASL to a real secured broker (scripts/kafka.sh start --secure, FXC_KAFKA_SECURE_*):
// a connector and the engine simulator connect with each protocol and mechanism, and every way
// a secured cluster can refuse them (wrong password, untrusted CA, no WRITE on the reply topic, no
// READ on the input) is a clear error at startup with the right exit code, never a silent stall.
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <boost/json/parse.hpp>

#include "child_process.h"
#include "connector_fixture.h"
#include "http_get.h"
#include "kafka_test_client.h"
#include "wiremock.h"

namespace fxconnect::testing {
namespace {

using std::chrono::seconds;
using ::testing::HasSubstr;
using ::testing::Not;

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// What scripts/kafka.sh start --secure printed (exported by scripts/lib.sh).
struct SecureBroker {
  std::string plaintext = env_or_empty("FXC_KAFKA_SECURE_BOOTSTRAP");  // setup only (ANONYMOUS, super user)
  std::string ssl = env_or_empty("FXC_KAFKA_SECURE_SSL");
  std::string sasl_ssl = env_or_empty("FXC_KAFKA_SECURE_SASL_SSL");
  std::string sasl_plaintext = env_or_empty("FXC_KAFKA_SECURE_SASL_PLAINTEXT");
  std::string ca = env_or_empty("FXC_KAFKA_SECURE_CA");
  std::string untrusted_ca = env_or_empty("FXC_KAFKA_SECURE_UNTRUSTED_CA");
  std::string client_cert = env_or_empty("FXC_KAFKA_SECURE_CLIENT_CERT");
  std::string client_key = env_or_empty("FXC_KAFKA_SECURE_CLIENT_KEY");
  std::string client_encrypted_key = env_or_empty("FXC_KAFKA_SECURE_CLIENT_ENCRYPTED_KEY");
  std::string client_key_password = env_or_empty("FXC_KAFKA_SECURE_CLIENT_KEY_PASSWORD");
  std::string user = env_or_empty("FXC_KAFKA_SECURE_USER");
  std::string password = env_or_empty("FXC_KAFKA_SECURE_PASSWORD");
  std::string limited_user = env_or_empty("FXC_KAFKA_SECURE_LIMITED_USER");
  std::string limited_password = env_or_empty("FXC_KAFKA_SECURE_LIMITED_PASSWORD");
};

// ACLs through the admin API on the PLAINTEXT listener (its principal is a super user).
void create_acls(const std::string& bootstrap, const std::vector<rd_kafka_AclBinding_t*>& bindings) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err, sizeof err);
  std::unique_ptr<rd_kafka_t, decltype(&rd_kafka_destroy)> admin(rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err),
                                                                 rd_kafka_destroy);
  ASSERT_TRUE(admin) << err;
  std::unique_ptr<rd_kafka_queue_t, decltype(&rd_kafka_queue_destroy)> queue(rd_kafka_queue_new(admin.get()),
                                                                             rd_kafka_queue_destroy);
  auto* list = const_cast<rd_kafka_AclBinding_t**>(bindings.data());
  rd_kafka_CreateAcls(admin.get(), list, bindings.size(), nullptr, queue.get());
  std::unique_ptr<rd_kafka_event_t, decltype(&rd_kafka_event_destroy)> ev(rd_kafka_queue_poll(queue.get(), 30'000),
                                                                          rd_kafka_event_destroy);
  for (auto* b : bindings) rd_kafka_AclBinding_destroy(b);
  ASSERT_TRUE(ev) << "CreateAcls timed out";
  ASSERT_EQ(rd_kafka_event_error(ev.get()), RD_KAFKA_RESP_ERR_NO_ERROR) << rd_kafka_event_error_string(ev.get());
  std::size_t n = 0;
  const auto** results = rd_kafka_CreateAcls_result_acls(rd_kafka_event_CreateAcls_result(ev.get()), &n);
  for (std::size_t i = 0; i < n; ++i) {
    const rd_kafka_error_t* e = rd_kafka_acl_result_error(results[i]);
    ASSERT_TRUE(!e || rd_kafka_error_code(e) == RD_KAFKA_RESP_ERR_NO_ERROR) << rd_kafka_error_string(e);
  }
}

rd_kafka_AclBinding_t* acl(rd_kafka_ResourceType_t type, const std::string& name, const std::string& principal,
                           rd_kafka_AclOperation_t op, rd_kafka_AclPermissionType_t permission) {
  char err[512];
  auto* b = rd_kafka_AclBinding_new(type, name.c_str(), RD_KAFKA_RESOURCE_PATTERN_LITERAL, principal.c_str(), "*", op,
                                    permission, err, sizeof err);
  EXPECT_NE(b, nullptr) << err;
  return b;
}

// `principal` may not do `op` on topic `topic`; everyone else may do anything there (a topic with
// any ACL is closed to every principal no ACL allows).
void deny_on_topic(const std::string& bootstrap, const std::string& topic, const std::string& principal,
                   rd_kafka_AclOperation_t op) {
  create_acls(bootstrap, {acl(RD_KAFKA_RESOURCE_TOPIC, topic, "User:*", RD_KAFKA_ACL_OPERATION_ALL,
                              RD_KAFKA_ACL_PERMISSION_TYPE_ALLOW),
                          acl(RD_KAFKA_RESOURCE_TOPIC, topic, principal, op, RD_KAFKA_ACL_PERMISSION_TYPE_DENY)});
}

class KafkaSecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(b_.plaintext.empty() || b_.sasl_ssl.empty() || b_.ca.empty() || b_.password.empty())
        << "FXC_KAFKA_SECURE_* is not set: run the integration tier through scripts/test.sh, which starts "
           "scripts/kafka.sh start --secure";
    auto suffix = unique_suffix();
    in_ = "ai.flowx.dev.plugin.sec.in." + suffix;
    out_ = "ai.flowx.dev.engine.receive.plugin.sec.out." + suffix;
    group_ = "fxc-sec-" + suffix;
    name_ = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    kafka_ = std::make_unique<TestKafka>(b_.plaintext);
    kafka_->create_topic(in_, 2);
    kafka_->create_topic(out_, 2);
  }

  // A secret file, as an orchestrator mounts one (with the trailing newline `echo` leaves).
  std::string secret_file(const std::string& name, const std::string& value) const {
    return write_temp_file(name_ + "." + name, value + "\n");
  }

  // An echo connector config for this test's topics; `security` is the indented body of
  // `kafka.security`, `extra` more top-level YAML.
  std::string config(const std::string& bootstrap, const std::string& security, const std::string& extra = "") const {
    return "kafka:\n  bootstrap: " + bootstrap + "\n  group_id: " + group_ + "\n  security:\n" + security +
           "input:\n  topic: " + in_ + "\nreply:\n  topic: " + out_ + "\nhandler:\n  name: echo\n" + extra;
  }
  std::string sasl(const std::string& protocol, const std::string& mechanism, const std::string& user,
                   const std::string& password_file, bool tls = true) const {
    return "    protocol: " + protocol + "\n" + (tls ? "    ca_file: " + b_.ca + "\n" : "") +
           "    sasl:\n      mechanism: " + mechanism + "\n      user: " + user +
           "\n      password: ${file:" + password_file + "}\n";
  }

  std::unique_ptr<ChildProcess> start(const std::string& yaml, int run = 0) {
    auto tag = fmt::format("{}.{}", name_, run);
    auto path = write_temp_file(tag + ".yaml", yaml);
    auto log = write_temp_file(tag + ".log", "");
    return std::make_unique<ChildProcess>(std::vector<std::string>{program_path("fxconnect"), "run", path}, log);
  }

  // Sends `n` requests (through the plaintext listener: the engine's side is not under test) and
  // checks that each is answered once, with its headers.
  void expect_round_trip(ChildProcess& connector, int n = 20) {
    ASSERT_TRUE(connector.wait_for_log("partitions assigned: " + in_, seconds(60))) << connector.log();
    std::vector<core::OutgoingRecord> requests;
    for (int i = 0; i < n; ++i) {
      std::string uuid = fmt::format("5ec0e000-0000-4000-8000-{:012}", i);
      requests.push_back(
          {in_, uuid, {{"processInstanceUuid", uuid}, {"fxContext", "main"}}, fmt::format(R"({{"i":{}}})", i)});
    }
    kafka_->produce(requests);
    TopicReader replies(b_.plaintext, out_);
    ASSERT_TRUE(replies.wait_for(static_cast<std::size_t>(n), seconds(60))) << replies.count() << " replies\n"
                                                                            << connector.log();
    auto got = by_uuid(replies.records());
    EXPECT_EQ(got.size(), static_cast<std::size_t>(n));
    for (const auto& [uuid, records] : got) {
      ASSERT_EQ(records.size(), 1u) << uuid;
      EXPECT_EQ(first_value(records[0].headers, "fxContext"), std::optional<std::string_view>("main"));
    }
    connector.signal(SIGTERM);
    EXPECT_EQ(connector.wait(seconds(60)), 0) << connector.log();
  }

  // How many connection attempts failed (librdkafka logs one FAIL line per failed attempt).
  static int refusals(const std::string& log) {
    int n = 0;
    for (auto at = log.find("librdkafka FAIL"); at != std::string::npos; at = log.find("librdkafka FAIL", at + 1)) ++n;
    return n;
  }

  SecureBroker b_;
  std::string in_, out_, group_, name_;
  std::unique_ptr<TestKafka> kafka_;
};

TEST_F(KafkaSecurityTest, TlsWithTheClustersCaServesRequests) {
  auto c = start(config(b_.ssl, "    protocol: ssl\n    ca_file: " + b_.ca + "\n"));
  expect_round_trip(*c);
  EXPECT_THAT(c->log(), Not(HasSubstr("verify is false")));
}

TEST_F(KafkaSecurityTest, MutualTlsWithAnEncryptedClientKeyServesRequests) {
  ASSERT_FALSE(b_.client_encrypted_key.empty());
  auto key_password = secret_file("keypass", b_.client_key_password);
  auto c = start(config(b_.ssl, "    protocol: ssl\n    ca_file: " + b_.ca + "\n    cert_file: " + b_.client_cert +
                                    "\n    key_file: " + b_.client_encrypted_key +
                                    "\n    key_password: ${file:" + key_password + "}\n"));
  expect_round_trip(*c);
}

TEST_F(KafkaSecurityTest, ScramSha512OverSaslSslServesRequests) {
  auto c = start(config(b_.sasl_ssl, sasl("sasl_ssl", "SCRAM-SHA-512", b_.user, secret_file("pw", b_.password))));
  expect_round_trip(*c);
  EXPECT_THAT(c->log(), Not(HasSubstr(b_.password)));
}

TEST_F(KafkaSecurityTest, ScramSha256OverSaslPlaintextServesRequests) {
  auto c = start(config(b_.sasl_plaintext,
                        sasl("sasl_plaintext", "SCRAM-SHA-256", b_.user, secret_file("pw", b_.password), false)));
  expect_round_trip(*c);
}

TEST_F(KafkaSecurityTest, PlainOverSaslSslServesRequests) {
  auto c = start(config(b_.sasl_ssl, sasl("sasl_ssl", "PLAIN", b_.user, secret_file("pw", b_.password))));
  expect_round_trip(*c);
}

TEST_F(KafkaSecurityTest, AWrongPasswordStopsTheConnectorAtStartupWithExit1AndNoRetryStorm) {
  auto c =
      start(config(b_.sasl_ssl, sasl("sasl_ssl", "SCRAM-SHA-512", b_.user, secret_file("pw", "not-the-password"))));
  auto code = c->wait(seconds(60));
  ASSERT_TRUE(code.has_value()) << "still running after 60 s\n" << c->log();
  EXPECT_EQ(*code, 1) << c->log();
  EXPECT_THAT(c->log(), HasSubstr("refused the connection: SASL authentication failed"));
  EXPECT_THAT(c->log(), HasSubstr("kafka.security.sasl"));
  EXPECT_THAT(c->log(), Not(HasSubstr("partitions assigned")));
  EXPECT_THAT(c->log(), Not(HasSubstr("not-the-password")));
  // One refusal is enough to stop: no login attempt after attempt until a timeout.
  EXPECT_LE(refusals(c->log()), 3) << c->log();
}

TEST_F(KafkaSecurityTest, AnUntrustedCaStopsTheConnectorAtStartupWithExit1) {
  auto c = start(config(b_.ssl, "    protocol: ssl\n    ca_file: " + b_.untrusted_ca + "\n"));
  auto code = c->wait(seconds(60));
  ASSERT_TRUE(code.has_value()) << c->log();
  EXPECT_EQ(*code, 1) << c->log();
  EXPECT_THAT(c->log(), HasSubstr("TLS certificate was not accepted"));
  EXPECT_THAT(c->log(), HasSubstr("kafka.security.ca_file"));
  EXPECT_LE(refusals(c->log()), 3) << c->log();
}

TEST_F(KafkaSecurityTest, VerificationTurnedOffAcceptsAnyCertificateAndWarnsAtStart) {
  auto c = start(config(b_.ssl, "    protocol: ssl\n    ca_file: " + b_.untrusted_ca + "\n    verify: false\n"));
  expect_round_trip(*c);
  EXPECT_THAT(c->log(), HasSubstr("kafka.security.verify is false"));
}

TEST_F(KafkaSecurityTest, AUserWithoutWriteOnTheReplyTopicGetsAClearStartupErrorAndNothingIsWritten) {
  deny_on_topic(b_.plaintext, out_, "User:" + b_.limited_user, RD_KAFKA_ACL_OPERATION_WRITE);
  auto c = start(
      config(b_.sasl_ssl, sasl("sasl_ssl", "SCRAM-SHA-512", b_.limited_user, secret_file("pw", b_.limited_password))));
  auto code = c->wait(seconds(60));
  ASSERT_TRUE(code.has_value()) << c->log();
  EXPECT_EQ(*code, 2) << c->log();
  EXPECT_THAT(c->log(), HasSubstr("reply.topic"));
  EXPECT_THAT(c->log(), HasSubstr("may not write to it (TOPIC_AUTHORIZATION_FAILED)"));
  EXPECT_THAT(c->log(), Not(HasSubstr("partitions assigned")));
  // The check wrote nothing to the reply topic.
  TopicReader replies(b_.plaintext, out_);
  EXPECT_TRUE(replies.wait_caught_up(seconds(30)));
  EXPECT_EQ(replies.count(), 0u);
  // The same user with WRITE (another reply topic, no ACL) starts and serves: the refusal was the ACL.
}

TEST_F(KafkaSecurityTest, AUserWithoutReadOnTheInputTopicGetsAClearErrorNotAFrozenConnector) {
  deny_on_topic(b_.plaintext, in_, "User:" + b_.limited_user, RD_KAFKA_ACL_OPERATION_READ);
  auto c = start(
      config(b_.sasl_ssl, sasl("sasl_ssl", "SCRAM-SHA-512", b_.limited_user, secret_file("pw", b_.limited_password))));
  auto code = c->wait(seconds(90));
  ASSERT_TRUE(code.has_value()) << c->log();
  EXPECT_EQ(*code, 2) << c->log();
  EXPECT_THAT(c->log(), HasSubstr("TOPIC_AUTHORIZATION_FAILED"));
  EXPECT_THAT(c->log(), HasSubstr("grant this client's principal READ"));
}

TEST_F(KafkaSecurityTest, TheEngineSimulatorRunsAProcessOverSaslSslWithTheSameSection) {
  auto pw = secret_file("pw", b_.password);
  auto c = start(config(b_.sasl_ssl, sasl("sasl_ssl", "SCRAM-SHA-512", b_.user, pw)));
  ASSERT_TRUE(c->wait_for_log("partitions assigned: " + in_, seconds(60))) << c->log();
  // The engine's own file: only its `kafka:` section is read.
  auto kafka_yaml =
      write_temp_file(name_ + ".engine-kafka.yaml", "kafka:\n  bootstrap: " + b_.sasl_ssl + "\n  security:\n" +
                                                        sasl("sasl_ssl", "SCRAM-SHA-512", b_.user, pw));
  auto process = write_temp_file(name_ + ".process.yaml", "process: secured\nnodes:\n  - send: ask\n    topic: " + in_ +
                                                              "\n    message: { a: 1 }\n  - receive: answered\n"
                                                              "    topic: " +
                                                              out_ + "\n    key: answer\n    timeout: PT30S\n");
  auto summary = write_temp_file(name_ + ".summary.json", "");
  auto log = write_temp_file(name_ + ".engine.log", "");
  ChildProcess engine({program_path("fxconnect"), "engine", "run", process, "-n", "20", "--kafka-config", kafka_yaml,
                       "--json", summary},
                      log);
  auto code = engine.wait(seconds(120));
  ASSERT_TRUE(code.has_value()) << engine.log();
  EXPECT_EQ(*code, 0) << engine.log() << c->log();
  std::ifstream in(summary);
  std::string json((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_THAT(json, HasSubstr(R"("completed":20)")) << json;
  EXPECT_THAT(engine.log(), Not(HasSubstr(b_.password)));
  c->signal(SIGTERM);
  EXPECT_EQ(c->wait(seconds(60)), 0) << c->log();
}

// A password, a metrics token and a collector API key, planted: no output channel shows any of
// them, with every channel as talkative as it gets (debug logs, librdkafka's security and config
// debugging included).
TEST_F(KafkaSecurityTest, NoChannelPrintsAPlantedSecret) {
  const char* otlp = std::getenv("FXC_JAEGER_OTLP");
  const char* query = std::getenv("FXC_JAEGER_QUERY");
  ASSERT_TRUE(otlp && query) << "FXC_JAEGER_OTLP / FXC_JAEGER_QUERY are not set: run through scripts/test.sh";
  const std::string token = "mt-" + unique_suffix() + "-planted";
  const std::string api_key = "ak-" + unique_suffix() + "-planted";
  const std::string service = "fxc-secrets-" + unique_suffix();
  auto pw = secret_file("pw", b_.password);
  auto token_file = secret_file("token", token);
  std::string extra = "log:\n  level: debug\nobservability:\n  service_name: " + service +
                      "\n  tracing:\n    otlp_endpoint: " + otlp +
                      "\n    sampler: always\n    headers: { x-api-key: " + api_key +
                      " }\n  http:\n    listen: 127.0.0.1:0\n    metrics_token: ${file:" + token_file + "}\n";
  auto yaml = config(b_.sasl_ssl, sasl("sasl_ssl", "SCRAM-SHA-512", b_.user, pw), extra);
  yaml = yaml.replace(yaml.find("  security:"), 0, "  properties: { debug: \"security,broker,conf\" }\n");
  std::vector<std::string> secrets{b_.password, token, api_key};
  std::vector<std::pair<std::string, std::string>> channels;  // name, text

  // lint, accepting and refusing (a refusal prints the config's problems).
  for (const auto& [tag, text] :
       {std::pair{"lint", yaml}, {"lint-refused", yaml + "processing:\n  deadline: soon\n"}}) {
    auto path = write_temp_file(name_ + "." + tag + ".yaml", text);
    auto out = write_temp_file(name_ + "." + tag + ".out", "");
    ChildProcess lint({program_path("fxconnect"), "lint", path}, out);
    auto code = lint.wait(seconds(30));
    EXPECT_EQ(code, std::string(tag) == "lint" ? 0 : 2) << lint.log();
    channels.emplace_back(tag, lint.log());
  }

  auto c = start(yaml);
  ASSERT_TRUE(c->wait_for_log("partitions assigned: " + in_, seconds(60))) << c->log();
  std::smatch m;
  std::string started = c->log();
  ASSERT_TRUE(std::regex_search(started, m, std::regex(R"(metrics and health on https?://([0-9.]+:[0-9]+))")))
      << started;
  std::string metrics_base = m[1];
  std::vector<core::OutgoingRecord> requests;
  for (int i = 0; i < 5; ++i) {
    std::string uuid = fmt::format("5ec0e000-0000-4000-8000-{:012}", 100 + i);
    requests.push_back({in_, uuid, {{"processInstanceUuid", uuid}}, R"({"a":1})"});
  }
  kafka_->produce(requests);
  TopicReader replies(b_.plaintext, out_);
  ASSERT_TRUE(replies.wait_for(5, seconds(60))) << c->log();
  auto metrics = http_request(metrics_base, "GET", "/metrics", {}, {{"Authorization", "Bearer " + token}});
  EXPECT_EQ(metrics.status, 200) << metrics.body;
  EXPECT_THAT(metrics.body, HasSubstr("fxconnect_")) << "the page itself, not an error";
  channels.emplace_back("/metrics", metrics.body);
  c->signal(SIGTERM);
  EXPECT_EQ(c->wait(seconds(60)), 0) << c->log();
  // Spans, once exported (the exporter flushes at stop).
  std::string traces;
  for (int attempt = 0; attempt < 40; ++attempt) {
    traces = http_get(query, "/api/traces?service=" + service + "&limit=20").body;
    if (traces.find("spanID") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  EXPECT_THAT(traces, HasSubstr("spanID")) << "spans reached Jaeger";
  channels.emplace_back("spans", traces);
  channels.emplace_back("connector log", c->log());
  EXPECT_THAT(c->log(), HasSubstr("SASL")) << "librdkafka's security debugging was on";

  for (const auto& [channel, text] : channels) {
    for (const auto& secret : secrets) {
      EXPECT_THAT(text, Not(HasSubstr(secret))) << channel << " shows a secret";
    }
  }
}

// base64url without padding, for a test JWT.
std::string base64url(const std::string& in) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (unsigned char c : in) {
    buffer = (buffer << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(buffer >> bits) & 63];
    }
  }
  if (bits > 0) out += kAlphabet[(buffer << (6 - bits)) & 63];
  return out;
}

// OAUTHBEARER with OAuth2 client credentials: WireMock plays the identity provider (it answers only
// the right client id and secret, with an unsigned JWT the test broker's unsecured validator
// accepts), fxconnect fetches the token itself (Debian's librdkafka has no OIDC client).
class OauthbearerTest : public KafkaSecurityTest {
 protected:
  void SetUp() override {
    KafkaSecurityTest::SetUp();
    auto wm = WireMock::from_env();
    if (!wm) GTEST_FAIL() << "FXC_LEGACY_HTTP is not set: run through scripts/test.sh (it starts WireMock)";
    wm_.emplace(std::move(*wm));
    path_ = "/oidc-" + unique_suffix() + "/token";
    auto now = std::chrono::duration_cast<seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    std::string jwt = base64url(R"({"alg":"none"})") + "." +
                      base64url(fmt::format(R"({{"sub":"{}","iat":{},"exp":{}}})", b_.user, now, now + 3600)) + ".";
    wm_->stub(boost::json::parse(fmt::format(
        R"({{"request": {{"method": "POST", "url": "{}",
              "basicAuthCredentials": {{"username": "fx-client", "password": "{}"}},
              "bodyPatterns": [{{"contains": "grant_type=client_credentials"}}]}},
            "response": {{"status": 200, "headers": {{"Content-Type": "application/json"}},
              "jsonBody": {{"access_token": "{}", "token_type": "bearer", "expires_in": 3600}}}}}})",
        path_, client_secret_, jwt)));
  }
  std::string oauth(const std::string& secret) const {
    return "    protocol: sasl_ssl\n    ca_file: " + b_.ca +
           "\n    sasl:\n      mechanism: OAUTHBEARER\n      token_url: " + wm_->base_url() + path_ +
           "\n      client_id: fx-client\n      client_secret: ${file:" + secret_file("client-secret", secret) +
           "}\n      scope: kafka\n";
  }
  std::optional<WireMock> wm_;
  std::string path_;
  const std::string client_secret_ = "cs-" + unique_suffix();
};

TEST_F(OauthbearerTest, ClientCredentialsTokensFromTheIdentityProviderServeRequests) {
  auto c = start(config(b_.sasl_ssl, oauth(client_secret_)));
  expect_round_trip(*c);
  auto fetched = wm_->count(boost::json::parse(fmt::format(R"({{"method": "POST", "url": "{}"}})", path_)));
  EXPECT_GE(fetched, 2u) << "a token for each of the connector's clients (consumer, producer, write check)";
  EXPECT_THAT(c->log(), Not(HasSubstr(client_secret_)));
}

TEST_F(OauthbearerTest, AClientSecretTheProviderRefusesStopsTheConnectorWithExit1) {
  auto c = start(config(b_.sasl_ssl, oauth("not-the-client-secret")));
  auto code = c->wait(seconds(60));
  ASSERT_TRUE(code.has_value()) << c->log();
  EXPECT_EQ(*code, 1) << c->log();
  EXPECT_THAT(c->log(), HasSubstr("refused the connection: SASL authentication failed"));
  EXPECT_THAT(c->log(), HasSubstr("the token endpoint " + wm_->base_url() + path_ + " answered HTTP 404"));
  EXPECT_THAT(c->log(), Not(HasSubstr("not-the-client-secret")));
}

}  // namespace
}  // namespace fxconnect::testing
