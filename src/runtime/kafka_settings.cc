#include "runtime/kafka_settings.h"

#include "config/kafka_security.h"
#include "systems/http/kafka_token.h"

namespace fxconnect::runtime {
namespace {

void fill(kafka::ClientSettings& s, const config::ConnectorConfig& c, const std::vector<core::Property>& own) {
  s.bootstrap = c.kafka.bootstrap;
  s.client_id = "fxconnect-" + c.kafka.group_id;
  s.source = c.source;
  if (c.kafka.security.mechanism == "OAUTHBEARER" && c.kafka.security.protocol.rfind("sasl_", 0) == 0) {
    s.oauth_token = systems::kafka_token_source(c.kafka.security);
  }
  // kafka.security, then the properties for both clients, then the client's own (lint refuses
  // security properties beside kafka.security, so nothing here overrides it).
  s.properties = config::kafka_security_properties(c.kafka.security, c.source);
  s.properties.insert(s.properties.end(), c.kafka.properties.begin(), c.kafka.properties.end());
  s.properties.insert(s.properties.end(), own.begin(), own.end());
}

}  // namespace

kafka::ConsumerSettings consumer_settings(const config::ConnectorConfig& c) {
  kafka::ConsumerSettings s;
  fill(s, c, c.kafka.consumer_properties);
  s.group_id = c.kafka.group_id;
  s.commit_interval = c.processing.commit_interval;
  s.fetch_wakeup = c.kafka.fetch_wakeup;
  s.decode_thread = c.kafka.decode_thread;
  return s;
}

kafka::ProducerSettings producer_settings(const config::ConnectorConfig& c) {
  kafka::ProducerSettings s;
  fill(s, c, c.kafka.producer_properties);
  return s;
}

}  // namespace fxconnect::runtime
