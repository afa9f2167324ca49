// What the Kafka layer needs to build its clients, as plain values: the connector runtime and the
// engine simulator each fill these in from their own configuration.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "core/property.h"

namespace fxconnect::kafka {

// An OAUTHBEARER token and what librdkafka needs to know of it.
struct OAuthToken {
  std::string value;
  std::string principal;
  std::chrono::system_clock::time_point expires;
};
// Fetches a token (blocking: librdkafka calls it on its background thread); throws
// std::runtime_error saying why it cannot.
using OAuthTokenSource = std::function<OAuthToken()>;

struct ClientSettings {
  std::string bootstrap;
  std::string client_id;
  // For SASL OAUTHBEARER: where tokens come from (fxconnect fetches them, see
  // systems/http/kafka_token.h); unset otherwise.
  OAuthTokenSource oauth_token;
  // librdkafka properties, applied in order after fxconnect's own (a user's override wins where
  // fxconnect allows one; properties fxconnect owns are refused, see owned_properties()).
  std::vector<core::Property> properties;
  std::string source;  // where the settings came from, for error messages ("connector.yaml")
};

struct ConsumerSettings : ClientSettings {
  std::string group_id;
  // How often librdkafka commits the offsets the runtime stored (auto.commit.interval.ms).
  std::chrono::milliseconds commit_interval{1'000};
  // Wake the fetcher once a quarter of the prefetch queue is taken (kafka/fetch_waker.h).
  bool fetch_wakeup = true;
  // Copy consumed records into Requests on a thread of their own (kafka/decoder.h).
  bool decode_thread = true;
};

struct ProducerSettings : ClientSettings {};

// Properties fxconnect sets itself and refuses from users, with the reason (docs/config.md).
struct OwnedProperty {
  const char* name;
  const char* why;
};
const std::vector<OwnedProperty>& owned_properties();

}  // namespace fxconnect::kafka
