#include "core/json_pretty.h"

#include <boost/json/serialize.hpp>

namespace fxconnect::core {
namespace {

void write(std::string& out, const boost::json::value& v, int depth) {
  auto indent = [&](int d) { out.append(static_cast<std::size_t>(d) * 2, ' '); };
  if (v.is_object() && !v.as_object().empty()) {
    out += "{\n";
    bool first = true;
    for (const auto& kv : v.as_object()) {
      if (!first) out += ",\n";
      first = false;
      indent(depth + 1);
      out += boost::json::serialize(boost::json::value(kv.key()));
      out += ": ";
      write(out, kv.value(), depth + 1);
    }
    out += "\n";
    indent(depth);
    out += "}";
  } else if (v.is_array() && !v.as_array().empty()) {
    out += "[\n";
    bool first = true;
    for (const auto& item : v.as_array()) {
      if (!first) out += ",\n";
      first = false;
      indent(depth + 1);
      write(out, item, depth + 1);
    }
    out += "\n";
    indent(depth);
    out += "]";
  } else {
    out += boost::json::serialize(v);
  }
}

}  // namespace

std::string pretty_json(const boost::json::value& value) {
  std::string out;
  write(out, value, 0);
  out += "\n";
  return out;
}

}  // namespace fxconnect::core
