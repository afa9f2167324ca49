// kafka.security and secrets: the keys' checks, their librdkafka properties, `${file:...}`, and
// the redaction every output channel applies (core/secrets.h).
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/config.h"
#include "config/kafka_security.h"
#include "core/error_reply.h"
#include "core/secrets.h"

namespace fxconnect::config {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

EnvLookup no_env() {
  return [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
}

// A temporary directory holding a config and its files.
class SecurityConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    core::forget_secrets_for_tests();
    dir_ = std::filesystem::temp_directory_path() /
           ("fxc-sec-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    write("ca.pem", "-----BEGIN CERTIFICATE-----\n");
  }
  void TearDown() override {
    std::filesystem::remove_all(dir_);
    core::forget_secrets_for_tests();
  }
  std::string write(const std::string& name, const std::string& text) const {
    auto path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }
  // A valid connector config with `security` as the body of kafka.security.
  std::string yaml(const std::string& security, const std::string& kafka_extra = "") const {
    return "kafka:\n  bootstrap: b:9093\n  group_id: g\n" + kafka_extra + "  security:\n" + security +
           "input:\n  topic: in\nreply:\n  topic: ai.flowx.dev.engine.receive.x.out\nhandler:\n  name: echo\n";
  }
  ConnectorConfig load(const std::string& text) const { return parse(text, (dir_ / "c.yaml").string(), no_env()); }
  std::string error_of(const std::string& text) const {
    try {
      load(text);
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "(accepted)";
  }
  static std::map<std::string, std::string> props(const ConnectorConfig& c) {
    std::map<std::string, std::string> out;
    for (const auto& p : kafka_security_properties(c.kafka.security, c.source)) out[p.name] = p.value;
    return out;
  }

  std::filesystem::path dir_;
};

TEST_F(SecurityConfigTest, SaslSslWithScramMapsOntoLibrdkafkasProperties) {
  write("pw", "  s3cret-from-file \n");
  auto c =
      load(yaml("    protocol: sasl_ssl\n    ca_file: ca.pem\n    sasl:\n      mechanism: SCRAM-SHA-256\n"
                "      user: fx\n      password: ${file:pw}\n"));
  auto p = props(c);
  EXPECT_EQ(p["security.protocol"], "SASL_SSL");
  EXPECT_EQ(p["ssl.ca.location"], (dir_ / "ca.pem").string()) << "relative to the config file";
  EXPECT_EQ(p["enable.ssl.certificate.verification"], "true") << "on by default";
  EXPECT_EQ(p["ssl.endpoint.identification.algorithm"], "https") << "host name checked by default";
  EXPECT_EQ(p["sasl.mechanisms"], "SCRAM-SHA-256");
  EXPECT_EQ(p["sasl.username"], "fx");
  EXPECT_EQ(p["sasl.password"], "s3cret-from-file") << "the file's content, trimmed";
  EXPECT_TRUE(kafka_security_warnings(c.kafka.security).empty());
}

// Debian's librdkafka has no OIDC client: fxconnect fetches the tokens (refresh callback), so only
// the mechanism goes to librdkafka, and the client secret is never printed.
TEST_F(SecurityConfigTest, OauthbearerLeavesTokensToFxconnectsOwnClient) {
  auto c =
      load(yaml("    protocol: sasl_ssl\n    sasl:\n      mechanism: OAUTHBEARER\n      token_url: "
                "https://idp/token\n      client_id: fx\n      client_secret: abcd-secret\n      scope: kafka\n"));
  auto p = props(c);
  EXPECT_EQ(p["sasl.mechanisms"], "OAUTHBEARER");
  EXPECT_EQ(p.count("sasl.oauthbearer.method"), 0u) << "not in Debian's librdkafka 2.0.2";
  EXPECT_EQ(p.count("sasl.username"), 0u);
  EXPECT_EQ(c.kafka.security.token_url, "https://idp/token");
  EXPECT_EQ(c.kafka.security.client_id, "fx");
  EXPECT_EQ(c.kafka.security.scope, "kafka");
  EXPECT_EQ(core::redact("abcd-secret"), "[redacted]");
}

TEST_F(SecurityConfigTest, TurningVerificationOffNeedsItsOwnKeyAndWarns) {
  auto c = load(yaml("    protocol: ssl\n    verify: false\n    verify_host: false\n"));
  auto p = props(c);
  EXPECT_EQ(p["enable.ssl.certificate.verification"], "false");
  EXPECT_EQ(p["ssl.endpoint.identification.algorithm"], "none");
  auto warnings = kafka_security_warnings(c.kafka.security);
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_THAT(warnings[0], HasSubstr("kafka.security.verify is false"));
  EXPECT_THAT(warnings[1], HasSubstr("kafka.security.verify_host is false"));
}

TEST_F(SecurityConfigTest, PlaintextSetsNothing) {
  auto c = load(yaml("    protocol: plaintext\n"));
  EXPECT_TRUE(props(c).empty());
  EXPECT_TRUE(c.kafka.write_check) << "the startup WRITE check is on by default";
  EXPECT_FALSE(load(yaml("    protocol: plaintext\n", "  write_check: false\n")).kafka.write_check);
}

TEST_F(SecurityConfigTest, LintRefusesEveryInconsistentCombinationNamingTheKey) {
  const std::string sasl = "    sasl:\n      user: u\n      password: pppp\n";
  EXPECT_THAT(error_of(yaml("    protocol: sasl_ssl\n")), HasSubstr("kafka.security: protocol sasl_ssl needs `sasl:"));
  EXPECT_THAT(error_of(yaml("    protocol: ssl\n" + sasl)),
              HasSubstr("kafka.security.sasl: SASL settings, but kafka.security.protocol is ssl"));
  EXPECT_THAT(error_of(yaml("    protocol: sasl_plaintext\n    ca_file: ca.pem\n" + sasl)),
              HasSubstr("kafka.security.ca_file: a TLS setting, but kafka.security.protocol is sasl_plaintext"));
  EXPECT_THAT(error_of(yaml("    protocol: ssl\n    cert_file: ca.pem\n")),
              HasSubstr("kafka.security.cert_file: cert_file and key_file go together"));
  EXPECT_THAT(error_of(yaml("    protocol: ssl\n    ca_file: missing.pem\n")),
              HasSubstr("kafka.security.ca_file: cannot read '" + (dir_ / "missing.pem").string() + "'"));
  EXPECT_THAT(error_of(yaml("    protocol: tls\n")),
              HasSubstr("'tls' is not one of plaintext|ssl|sasl_ssl|sasl_plaintext"));
  EXPECT_THAT(error_of(yaml("    protocol: sasl_ssl\n    sasl:\n      user: u\n")),
              HasSubstr("mechanism SCRAM-SHA-512 needs `password`"));
  EXPECT_THAT(error_of(yaml("    protocol: sasl_ssl\n    sasl:\n      mechanism: OAUTHBEARER\n      user: u\n")),
              HasSubstr("mechanism OAUTHBEARER needs `token_url`"));
  EXPECT_THAT(error_of(yaml("    protocol: sasl_ssl\n" + sasl, "  properties: { sasl.password: other }\n")),
              HasSubstr("set by kafka.security"));
  EXPECT_THAT(error_of(yaml("    protocol: ssl\n", "  consumer_properties: { ssl.ca.location: /x }\n")),
              HasSubstr("set by kafka.security"));
}

TEST_F(SecurityConfigTest, ASecretFileIsReadTrimmedAndRefusedClearlyWhenUnusable) {
  write("token", "\n\ttok-123456\r\n");
  EXPECT_EQ(interpolate("Bearer ${file:token}", no_env(), dir_.string()).text, "Bearer tok-123456");
  EXPECT_EQ(interpolate("${file:" + (dir_ / "token").string() + "}", no_env()).text, "tok-123456") << "absolute";
  EXPECT_THAT(interpolate("${file:/nonexistent/secret}", no_env()).error,
              HasSubstr("${file:/nonexistent/secret}: cannot read '/nonexistent/secret'"));
  write("empty", " \n");
  EXPECT_THAT(interpolate("${file:empty}", no_env(), dir_.string()).error, HasSubstr("is empty"));
  EXPECT_THAT(interpolate("${file:}", no_env()).error, HasSubstr("names no file"));
  EXPECT_THAT(interpolate("${file:" + dir_.string() + "}", no_env()).error, HasSubstr("is a directory"));
  EXPECT_THAT(interpolate("${file:/dev/stdin}", no_env()).error, HasSubstr("is not a regular file"));
  std::filesystem::create_symlink(dir_ / "token", dir_ / "link");
  EXPECT_EQ(interpolate("${file:link}", no_env(), dir_.string()).text, "tok-123456") << "as Kubernetes mounts secrets";
  // Whatever key it is read for, a file's content is a secret.
  EXPECT_EQ(core::redact("header tok-123456 end"), "header [redacted] end");
}

TEST_F(SecurityConfigTest, ValuesOfSecretKeysAreRedactedEverywhereAndOthersAreNot) {
  auto text_yaml = yaml("    protocol: sasl_ssl\n    sasl:\n      user: fx-user\n      password: pw-planted-1\n") +
                   "systems:\n  core:\n    endpoints: [ \"https://u:pw-planted-3@core:8443\" ]\n"
                   "    headers: { X-Api-Key: pw-planted-4, Authorization: \"Bearer pw-planted-5\" }\n"
                   "  db:\n    postgres:\n      dsn: \"host=h password=pw-planted-6 dbname=d\"\n"
                   "observability:\n  http:\n    listen: 127.0.0.1:0\n    metrics_token: pw-planted-7\n";
  text_yaml.replace(text_yaml.find("  name: echo\n"), 13, "  name: echo\n  options: { api_token: pw-planted-2 }\n");
  load(text_yaml);
  std::string text =
      "fx-user pw-planted-1 pw-planted-2 pw-planted-3 pw-planted-4 pw-planted-5 pw-planted-6 "
      "pw-planted-7 \"pw-planted-1\" core b:9093";
  auto out = core::redact(text);
  EXPECT_THAT(out, Not(HasSubstr("pw-planted"))) << out;
  EXPECT_THAT(out, HasSubstr("fx-user")) << "a user name is not a secret";
  EXPECT_THAT(out, HasSubstr("core b:9093"));
}

TEST(SecretNames, AKeysNameSaysWhetherItsValueIsASecret) {
  for (const char* name :
       {"password", "sasl.password", "ssl.key.password", "ssl.keystore.password", "key_password", "client_secret",
        "sasl.oauthbearer.client.secret", "metrics_token", "X-Api-Key", "Authorization", "ssl.key.pem",
        "sasl.jaas.config", "systems.*.auth.bearer", "api_key", "Cookie"}) {
    EXPECT_TRUE(core::is_secret_name(name)) << name;
  }
  for (const char* name : {"key_file", "ssl.key.location", "token_url", "sasl.username", "user", "client_id",
                           "bootstrap", "kafka.security.cert_file", "lists.x.key_column", "sasl.mechanism"}) {
    EXPECT_FALSE(core::is_secret_name(name)) << name;
  }
}

TEST(Redact, ReplacesEveryOccurrenceLongestFirstAndIgnoresTinyValues) {
  core::forget_secrets_for_tests();
  core::add_secret("abcd");
  core::add_secret("abcdef");
  core::add_secret("on");  // too short to be a secret worth garbling every line for
  EXPECT_EQ(core::redact("x abcdef y abcd z on"), "x [redacted] y [redacted] z on");
  core::add_secret("q\"uote");
  EXPECT_EQ(core::redact(R"({"p":"q\"uote"})"), R"({"p":"[redacted]"})") << "its JSON form too";
  core::forget_secrets_for_tests();
  EXPECT_FALSE(core::has_secrets());
}

TEST(Redact, ErrorRepliesAndDeadLettersDoNotQuoteASecret) {
  core::forget_secrets_for_tests();
  core::add_secret("tok-planted-99");
  Error e{ErrorCode::legacy_failed, "core answered HTTP 401: invalid token tok-planted-99", false, std::nullopt};
  auto body = core::error_reply_body(e);
  EXPECT_THAT(body, Not(HasSubstr("tok-planted-99")));
  EXPECT_THAT(body, HasSubstr("invalid token [redacted]"));
  core::forget_secrets_for_tests();
}

}  // namespace
}  // namespace fxconnect::config
