#include "runtime/kafka_settings.h"

namespace fxconnect::runtime {
namespace {

void fill(kafka::ClientSettings& s, const config::ConnectorConfig& c, const std::vector<core::Property>& own) {
  s.bootstrap = c.kafka.bootstrap;
  s.client_id = "fxconnect-" + c.kafka.group_id;
  s.source = c.source;
  s.properties = c.kafka.properties;  // both clients, then the client's own
  s.properties.insert(s.properties.end(), own.begin(), own.end());
}

}  // namespace

kafka::ConsumerSettings consumer_settings(const config::ConnectorConfig& c) {
  kafka::ConsumerSettings s;
  fill(s, c, c.kafka.consumer_properties);
  s.group_id = c.kafka.group_id;
  s.commit_interval = c.processing.commit_interval;
  return s;
}

kafka::ProducerSettings producer_settings(const config::ConnectorConfig& c) {
  kafka::ProducerSettings s;
  fill(s, c, c.kafka.producer_properties);
  return s;
}

}  // namespace fxconnect::runtime
