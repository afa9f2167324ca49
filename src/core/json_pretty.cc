#include "core/json_pretty.h"

#include <boost/json/serialize.hpp>

namespace fxconnect::core {
namespace {

void write(std::string& out, const boost::json::value& v, int depth);

// A non-empty object or array: `open`, one item per line one level deeper (each written by
// `item`), `close` on a line of its own.
template <typename Items, typename WriteItem>
void write_container(std::string& out, const Items& items, char open, char close, int depth, WriteItem item) {
  auto indent = [&](int d) { out.append(static_cast<std::size_t>(d) * 2, ' '); };
  out += open;
  out += '\n';
  bool first = true;
  for (const auto& each : items) {
    if (!first) out += ",\n";
    first = false;
    indent(depth + 1);
    item(each);
  }
  out += '\n';
  indent(depth);
  out += close;
}

void write(std::string& out, const boost::json::value& v, int depth) {
  if (v.is_object() && !v.as_object().empty()) {
    write_container(out, v.as_object(), '{', '}', depth, [&](const boost::json::key_value_pair& kv) {
      out += boost::json::serialize(boost::json::value(kv.key()));
      out += ": ";
      write(out, kv.value(), depth + 1);
    });
  } else if (v.is_array() && !v.as_array().empty()) {
    write_container(out, v.as_array(), '[', ']', depth,
                    [&](const boost::json::value& item) { write(out, item, depth + 1); });
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
