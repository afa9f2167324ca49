// YAML → JSON for flows and their tests: plain scalars typed as YAML's core schema says (null,
// booleans, numbers, the numbers kept exact), quoted scalars always strings.
#pragma once

#include <boost/json/value.hpp>

namespace YAML {
class Node;
}

namespace fxconnect::flow {

boost::json::value yaml_to_json(const YAML::Node& node);

}  // namespace fxconnect::flow
