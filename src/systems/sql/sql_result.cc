// SqlResult::json(): a query's rows as JSON, exactly (numbers keep every digit: never through a
// double).
#include <string_view>

#include <boost/json/serialize.hpp>
#include <boost/json/string_view.hpp>

#include "fxconnect/legacy.h"

namespace fxconnect {

namespace {

enum class Kind { number, boolean, json, text };

Kind kind_of(std::string_view type) {
  if (type == "int2" || type == "int4" || type == "int8" || type == "numeric" || type == "float4" || type == "float8")
    return Kind::number;
  if (type == "bool") return Kind::boolean;
  if (type == "json" || type == "jsonb") return Kind::json;
  return Kind::text;
}

bool digit(char c) { return c >= '0' && c <= '9'; }

// Whether `text` is a JSON number (RFC 8259: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?).
// PostgreSQL's numbers are, except NaN, Infinity and -Infinity, which JSON has no numbers for.
bool json_number(std::string_view text) {
  std::size_t i = 0;
  const std::size_t n = text.size();
  if (i < n && text[i] == '-') ++i;
  if (i >= n || !digit(text[i])) return false;
  if (text[i] == '0') {
    ++i;
  } else {
    while (i < n && digit(text[i])) ++i;
  }
  if (i < n && text[i] == '.') {
    ++i;
    if (i >= n || !digit(text[i])) return false;
    while (i < n && digit(text[i])) ++i;
  }
  if (i < n && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < n && (text[i] == '+' || text[i] == '-')) ++i;
    if (i >= n || !digit(text[i])) return false;
    while (i < n && digit(text[i])) ++i;
  }
  return i == n;
}

void append_string(std::string& out, std::string_view text) {
  out += boost::json::serialize(boost::json::string_view(text.data(), text.size()));
}

void append_value(std::string& out, Kind kind, const std::optional<std::string>& value) {
  if (!value) {
    out += "null";
    return;
  }
  const std::string& v = *value;
  switch (kind) {
    case Kind::number:
      if (json_number(v)) {
        out += v;  // verbatim: 12345678901234567890.123456789 keeps every digit
        return;
      }
      break;  // NaN, Infinity, -Infinity
    case Kind::boolean:
      if (v == "t" || v == "f") {
        out += v == "t" ? "true" : "false";
        return;
      }
      break;
    case Kind::json:
      if (!v.empty()) {
        out += v;  // the server checked it is JSON
        return;
      }
      break;
    case Kind::text: break;
  }
  append_string(out, v);
}

}  // namespace

std::string SqlResult::json() const {
  std::vector<Kind> kinds;
  kinds.reserve(columns.size());
  for (const auto& c : columns) kinds.push_back(kind_of(c.type));
  std::vector<std::string> names;
  names.reserve(columns.size());
  for (const auto& c : columns) {
    std::string name;
    append_string(name, c.name);
    names.push_back(std::move(name) + ":");
  }
  std::string out = "[";
  for (std::size_t r = 0; r < rows.size(); ++r) {
    if (r) out += ',';
    out += '{';
    const auto& row = rows[r];
    for (std::size_t i = 0; i < columns.size(); ++i) {
      if (i) out += ',';
      out += names[i];
      append_value(out, kinds[i], i < row.size() ? row[i] : std::nullopt);
    }
    out += '}';
  }
  out += ']';
  return out;
}

}  // namespace fxconnect
