// JSON text for people and diffs: two-space indentation, members in their order, one per line.
#pragma once

#include <string>

#include <boost/json/value.hpp>

namespace fxconnect::core {

// `value` as indented JSON text, ending with a newline (docs/config.schema.json, AsyncAPI
// documents). Empty objects and arrays stay on one line.
std::string pretty_json(const boost::json::value& value);

}  // namespace fxconnect::core
