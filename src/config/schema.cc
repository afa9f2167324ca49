// The connector config as a JSON Schema (draft 2020-12), made from the spec table (spec.cc) that
// the loader, `lint` and docs/config.md read: editors complete and check a config with it.
//
// What the schema says is a subset of what `lint` checks, never more: a config the schema refuses
// is one lint refuses too, while lint also checks what a schema cannot or should not say (a
// duration's 30-day bound, a regex's syntax, readable files, cross-field rules beyond "exactly one
// of", a flow's steps, which the flow compiler checks). Every scalar may be a `${VAR}` reference
// instead (interpolated when the file is loaded), so every typed field also takes a string with
// `${` in it.
#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "config/spec.h"
#include "core/json_pretty.h"

namespace fxconnect::config {
namespace {

namespace json = boost::json;

const json::object& interpolated() {
  static const json::object s{{"type", "string"}, {"pattern", "\\$\\{"}};
  return s;
}

// A typed value, or a `${VAR}` standing for one.
json::object or_interpolated(json::object typed) {
  return json::object{{"anyOf", json::array{std::move(typed), interpolated()}}};
}

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    auto at = text.find(sep, start);
    out.push_back(text.substr(start, at - start));
    if (at == std::string_view::npos) break;
    start = at + 1;
  }
  return out;
}

bool is_whole_number(std::string_view t) {
  return !t.empty() && std::all_of(t.begin(), t.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A default as written in the spec, as the JSON value a YAML reader would see.
json::value typed_default(const Field& f) {
  std::string_view d = f.default_value;
  switch (f.kind) {
    case Kind::integer: return json::value(std::stoll(std::string(d)));
    case Kind::boolean: return json::value(d == "true");
    case Kind::list: {
      json::array items;
      for (auto item : split(d, ',')) {
        if (is_whole_number(item))
          items.emplace_back(std::stoll(std::string(item)));
        else
          items.emplace_back(item);
      }
      return items;
    }
    default: return json::value(d);
  }
}

const json::array& scalar_types() {
  static const json::array t{"string", "number", "boolean"};
  return t;
}

// The schema of one field that is not a section (sections are built from their children).
json::object leaf_schema(const Field& f) {
  switch (f.kind) {
    case Kind::string:
      // The loader takes any scalar as its text (`group_id: 42` is "42"); empty is refused.
      return json::object{{"type", scalar_types()}, {"minLength", 1}};
    case Kind::regex: return json::object{{"type", "string"}, {"minLength", 1}};
    case Kind::integer:
      return or_interpolated(json::object{{"type", "integer"}, {"minimum", f.min}, {"maximum", f.max}});
    case Kind::boolean: return or_interpolated(json::object{{"type", "boolean"}});
    case Kind::duration:
      // A whole number above zero with a unit; lint adds the 30-day bound.
      return json::object{{"type", "string"}, {"pattern", "^0*[1-9][0-9]*(ms|s|m|h)$|\\$\\{"}};
    case Kind::enumeration: {
      json::array choices;
      for (auto c : split(f.choices, '|')) choices.emplace_back(c);
      return or_interpolated(json::object{{"enum", std::move(choices)}});
    }
    case Kind::percent:
      return json::object{{"type", "string"}, {"pattern", "^(100(\\.0*)?|[0-9]{1,2}(\\.[0-9]*)?|\\.[0-9]+)%$|\\$\\{"}};
    case Kind::rate: return json::object{{"type", "string"}, {"pattern", "^[0-9]+(\\.[0-9]+)?/(ms|s|m|h)$|\\$\\{"}};
    case Kind::map:
      return json::object{{"type", "object"}, {"additionalProperties", json::object{{"type", scalar_types()}}}};
    case Kind::list: {
      // One value stands for a list of one.
      json::object item{{"type", scalar_types()}};
      return json::object{{"anyOf", json::array{json::object{{"type", "array"}, {"items", item}}, item}}};
    }
    case Kind::yaml:  // checked by its own compiler (src/flow/); its shape is in docs/config.md
    case Kind::section:
    case Kind::named: return json::object{};
  }
  return json::object{};
}

// The node for a dotted spec path inside the tree being built ("systems.*.retry" is
// properties.systems.additionalProperties.properties.retry).
json::object& node_at(json::object& root, std::string_view path) {
  json::object* at = &root;
  if (path.empty()) return root;
  for (auto part : split(path, '.')) {
    if (part == "*") {
      at = &(*at)["additionalProperties"].as_object();
      continue;
    }
    auto& props = (*at)["properties"];
    if (!props.is_object()) props = json::object{};
    auto& child = props.as_object()[part];
    if (!child.is_object()) child = json::object{};
    at = &child.as_object();
  }
  return *at;
}

std::string parent_path(std::string_view path) {
  auto dot = path.rfind('.');
  return dot == std::string_view::npos ? std::string() : std::string(path.substr(0, dot));
}

bool under_yaml(std::string_view path) {
  for (const auto& f : connector_fields()) {
    if (f.kind != Kind::yaml || f.path == path) continue;
    if (path.starts_with(f.path) && path.size() > f.path.size() &&
        (path[f.path.size()] == '.' || path[f.path.size()] == '['))
      return true;
  }
  return false;
}

json::object exactly_one_of(std::initializer_list<std::string_view> keys) {
  json::array cases;
  for (auto k : keys) cases.push_back(json::object{{"required", json::array{k}}});
  return json::object{{"oneOf", std::move(cases)}};
}

}  // namespace

std::string json_schema() {
  json::object root{
      {"$schema", "https://json-schema.org/draft/2020-12/schema"},
      {"$id", "urn:fxconnect:connector-config"},  // no web address claimed: editors find the file by path
      {"title", "fxconnect connector configuration"},
      {"description",
       "A connector's YAML config (docs/config.md). Generated by `fxconnect config-schema` from the same spec "
       "table as docs/config.md; `fxconnect lint` checks more (value ranges, files, cross-field rules, flows)."},
      {"type", "object"},
  };
  for (const auto& f : connector_fields()) {
    if (under_yaml(f.path)) continue;
    json::object& node = node_at(root, f.path);
    if (f.kind == Kind::section) {
      node["type"] = "object";
      node["additionalProperties"] = false;
    } else if (f.kind == Kind::named) {
      node["type"] = "object";
      node["additionalProperties"] = json::object{{"type", "object"}, {"additionalProperties", false}};
    } else {
      for (auto& kv : leaf_schema(f)) node[kv.key()] = kv.value();
    }
    node["description"] = f.description;
    if (!f.required && !f.default_value.empty() && f.kind != Kind::section) node["default"] = typed_default(f);
    if (f.required) {
      json::object& parent = node_at(root, parent_path(f.path));
      auto& req = parent["required"];
      if (!req.is_array()) req = json::array{};
      auto leaf = f.path.substr(f.path.rfind('.') == std::string_view::npos ? 0 : f.path.rfind('.') + 1);
      req.as_array().emplace_back(leaf);
    }
  }
  root["additionalProperties"] = false;
  // The "exactly one of" rules of docs/config.md's cross-field section that a schema can say.
  auto add_rule = [&](std::string_view path, json::object rule) {
    json::object& node = node_at(root, path);
    auto& all = node["allOf"];
    if (!all.is_array()) all = json::array{};
    all.as_array().push_back(std::move(rule));
  };
  add_rule("input", exactly_one_of({"topic", "pattern"}));
  add_rule("systems.*", exactly_one_of({"endpoints", "postgres", "sftp", "dir", "exec"}));
  add_rule("systems.*.auth", exactly_one_of({"basic", "bearer", "oauth2"}));
  // The rules between keys of kafka.security and observability that config.cc checks
  // (check_security, check_observability), as far as they depend on keys only.
  add_rule("kafka.security", json::parse(R"({
    "if": {"required": ["protocol"], "properties": {"protocol": {"enum": ["ssl", "sasl_ssl"]}}},
    "else": {"properties": {"ca_file": false, "cert_file": false, "key_file": false, "key_password": false,
                            "verify": false, "verify_host": false}}})")
                                 .as_object());
  add_rule("kafka.security", json::parse(R"({
    "if": {"required": ["protocol"], "properties": {"protocol": {"enum": ["sasl_ssl", "sasl_plaintext"]}}},
    "then": {"required": ["sasl"]},
    "else": {"properties": {"sasl": false}}})")
                                 .as_object());
  add_rule("kafka.security", json::parse(R"({"dependentRequired": {
    "cert_file": ["key_file"], "key_file": ["cert_file"], "key_password": ["key_file"]}})")
                                 .as_object());
  add_rule("kafka.security.sasl", json::parse(R"({
    "if": {"required": ["mechanism"], "properties": {"mechanism": {"const": "OAUTHBEARER"}}},
    "then": {"required": ["token_url", "client_id", "client_secret"],
             "properties": {"user": false, "password": false}},
    "else": {"required": ["user", "password"],
             "properties": {"token_url": false, "client_id": false, "client_secret": false, "scope": false}}})")
                                      .as_object());
  add_rule("observability.http", json::parse(R"({"dependentRequired": {
    "metrics_token": ["listen"], "tls": ["listen"], "max_connections": ["listen"], "request_timeout": ["listen"],
    "max_request_bytes": ["listen"], "max_headers": ["listen"]}})")
                                     .as_object());
  add_rule("observability.tracing", json::parse(R"({
    "if": {"required": ["otlp_endpoint"], "properties": {"otlp_endpoint": {"pattern": "^https://"}}},
    "else": {"properties": {"ca_file": false, "cert_file": false, "key_file": false}}})")
                                        .as_object());
  add_rule("observability.tracing",
           json::parse(R"({"properties": {"otlp_endpoint": {"pattern": "^https?://|\\$\\{"}}})").as_object());
  add_rule("observability.tracing", json::parse(R"({"dependentRequired": {
    "headers": ["otlp_endpoint"], "cert_file": ["key_file"], "key_file": ["cert_file"]}})")
                                        .as_object());

  return core::pretty_json(root);
}

}  // namespace fxconnect::config
