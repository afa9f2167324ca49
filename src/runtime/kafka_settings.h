// A connector config as the Kafka layer's plain settings.
#pragma once

#include "config/config.h"
#include "kafka/settings.h"

namespace fxconnect::runtime {

kafka::ConsumerSettings consumer_settings(const config::ConnectorConfig& config);
kafka::ProducerSettings producer_settings(const config::ConnectorConfig& config);

}  // namespace fxconnect::runtime
