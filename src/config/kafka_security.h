// `kafka.security` as librdkafka properties, for every client fxconnect makes (the connector's
// consumer and producer, the engine simulator's, topic creation), and the warnings its settings
// deserve at every start.
#pragma once

#include <string>
#include <vector>

#include "config/config.h"

namespace fxconnect::config {

// The librdkafka properties for `security` (none for the default plaintext), each with
// `where` naming the key it comes from (`kafka.security.sasl.user`).
std::vector<Property> kafka_security_properties(const KafkaSecurity& security, const std::string& source);

// What is weaker than it looks: certificate or host name verification off, PLAIN without TLS.
std::vector<std::string> kafka_security_warnings(const KafkaSecurity& security);

// The `kafka:` section of a YAML file (a connector config, or a file holding only `kafka:`):
// bootstrap (may be absent), security and properties, checked as a connector's are. For tools
// that only talk to Kafka (the engine simulator). Throws ConfigError.
struct KafkaSection {
  std::string bootstrap;
  KafkaSecurity security;
  std::vector<Property> properties;
  std::string source;
};
KafkaSection load_kafka_section(const std::string& path, const EnvLookup& env = process_env());

}  // namespace fxconnect::config
