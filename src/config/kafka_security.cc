#include "config/kafka_security.h"

#include <fmt/format.h>

namespace fxconnect::config {

std::vector<Property> kafka_security_properties(const KafkaSecurity& s, const std::string& source) {
  std::vector<Property> out;
  auto set = [&](const char* name, const std::string& value, const char* key) {
    out.push_back(Property{name, value, fmt::format("{} (kafka.security.{})", source, key), ""});
  };
  if (s.protocol == "plaintext") return out;
  std::string protocol = s.protocol == "ssl" ? "SSL" : s.protocol == "sasl_ssl" ? "SASL_SSL" : "SASL_PLAINTEXT";
  set("security.protocol", protocol, "protocol");
  if (s.protocol == "ssl" || s.protocol == "sasl_ssl") {
    if (!s.ca_file.empty()) set("ssl.ca.location", s.ca_file, "ca_file");
    if (!s.cert_file.empty()) set("ssl.certificate.location", s.cert_file, "cert_file");
    if (!s.key_file.empty()) set("ssl.key.location", s.key_file, "key_file");
    if (!s.key_password.empty()) set("ssl.key.password", s.key_password, "key_password");
    set("enable.ssl.certificate.verification", s.verify ? "true" : "false", "verify");
    // librdkafka 2.0's default is already https; set either way, so that it is never left to a default.
    set("ssl.endpoint.identification.algorithm", s.verify_host ? "https" : "none", "verify_host");
  }
  if (s.protocol == "sasl_ssl" || s.protocol == "sasl_plaintext") {
    set("sasl.mechanisms", s.mechanism, "sasl.mechanism");
    // OAUTHBEARER: tokens come from fxconnect's own client-credentials fetcher (librdkafka's
    // refresh callback, systems/http/kafka_token.h): Debian's librdkafka 2.0.2 has no OIDC client.
    if (s.mechanism != "OAUTHBEARER") {
      set("sasl.username", s.user, "sasl.user");
      set("sasl.password", s.password, "sasl.password");
    }
  }
  return out;
}

std::vector<std::string> kafka_security_warnings(const KafkaSecurity& s) {
  std::vector<std::string> out;
  bool tls = s.protocol == "ssl" || s.protocol == "sasl_ssl";
  if (tls && !s.verify) {
    out.push_back(
        fmt::format("kafka.security.verify is false (at {}): the brokers' certificates are not checked; "
                    "anyone on the network path can read and change the traffic",
                    s.where));
  }
  if (tls && !s.verify_host) {
    out.push_back(
        fmt::format("kafka.security.verify_host is false (at {}): a certificate issued for another host "
                    "is accepted",
                    s.where));
  }
  if (s.protocol == "sasl_plaintext" && s.mechanism == "PLAIN") {
    out.push_back(
        fmt::format("kafka.security: mechanism PLAIN over sasl_plaintext (at {}) sends the password in "
                    "clear; use sasl_ssl or a SCRAM mechanism",
                    s.where));
  }
  return out;
}

}  // namespace fxconnect::config
