// `fxconnect docs asyncapi`: a connector described as an AsyncAPI 3.0 document for the
// architects' catalogue (README "Describe a connector for the catalogue").
#pragma once

#include <string>

#include "config/config.h"

namespace fxconnect::config {

// The AsyncAPI 3.0 document (JSON) of the connector `config` describes: its input topic (or
// pattern), its reply topic, the engine headers it requires and copies back, the request's
// schema where a flow's `validate:` gives one, the error reply's schema, the dead-letter topic.
// Throws ConfigError when a flow's schema file cannot be read or is not a JSON object.
std::string asyncapi_document(const ConnectorConfig& config);

}  // namespace fxconnect::config
