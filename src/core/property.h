// A named setting passed through to a library (a librdkafka property), with the place it was
// written for error messages. Shared by the config loader, which reads them, and the Kafka layer,
// which applies them.
#pragma once

#include <string>

namespace fxconnect::core {

struct Property {
  std::string name;
  std::string value;
  std::string where;  // "connector.yaml:4:17", or who set it
  std::string key;    // how the user wrote it ("kafka.consumer_properties.fetch.wait.max.ms"); "" = name

  const std::string& written() const { return key.empty() ? name : key; }
};

}  // namespace fxconnect::core
