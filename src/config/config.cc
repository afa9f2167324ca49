#include "config/config.h"

#include <cstdlib>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <yaml-cpp/yaml.h>

#include "config/spec.h"
#include "core/duration.h"
#include "observability/trace_context.h"

namespace fxconnect::config {
namespace {

struct Scalar {
  std::string text;
  std::string where;
};

// Walks the YAML tree against the spec, collecting scalars by path and every problem found.
class Loader {
 public:
  Loader(std::string source, const EnvLookup& env) : source_(std::move(source)), env_(env) {}

  void walk(const YAML::Node& node, const std::string& prefix) {
    if (!node.IsMap()) {
      error(node, prefix.empty() ? "(document)" : prefix, "expected a mapping of keys" + valid_keys_hint(prefix));
      return;
    }
    for (const auto& kv : node) {
      std::string key = kv.first.Scalar();
      std::string path = prefix.empty() ? key : fmt::format("{}.{}", prefix, key);
      const Field* field = find_field(path);
      if (!field) {
        error(kv.first, path, "unknown key" + valid_keys_hint(prefix));
        continue;
      }
      seen_.push_back(path);
      const YAML::Node& value = kv.second;
      switch (field->kind) {
        case Kind::section: walk(value, path); break;
        case Kind::map: read_map(value, path); break;
        case Kind::string:
        case Kind::integer:
        case Kind::boolean:
        case Kind::duration:
        case Kind::enumeration:
        case Kind::regex: read_scalar(value, *field); break;
      }
    }
  }

  void check_required(const YAML::Node& root) {
    for (const auto& f : connector_fields()) {
      if (!f.required || is_seen(f.path)) continue;
      std::string parent = parent_of(std::string(f.path));
      if (!parent.empty() && !is_seen(parent)) continue;  // the missing parent is the problem
      errors_.push_back(fmt::format("{}:{}:{}: {}: required key is missing ({})", source_, root.Mark().line + 1,
                                    root.Mark().column + 1, f.path, f.description));
    }
  }

  std::optional<Scalar> scalar(std::string_view path) const {
    auto it = scalars_.find(std::string(path));
    if (it == scalars_.end()) return std::nullopt;
    return it->second;
  }
  // The value, else the spec's default.
  std::string text(std::string_view path) const {
    if (auto s = scalar(path)) return s->text;
    return std::string(find_field(path)->default_value);
  }
  std::string where(std::string_view path) const {
    if (auto s = scalar(path)) return s->where;
    return source_;
  }
  const std::vector<Property>& map(std::string_view path) { return maps_[std::string(path)]; }
  void error_at(std::string_view path, const std::string& message) {
    errors_.push_back(fmt::format("{}: {}: {}", where(path), path, message));
  }
  std::vector<std::string>& errors() { return errors_; }
  bool seen(std::string_view path) const { return is_seen(path); }

 private:
  void read_scalar(const YAML::Node& node, const Field& field) {
    if (!node.IsScalar()) {
      error(node, std::string(field.path), fmt::format("expected a single value ({})", field.description));
      return;
    }
    auto text = interpolate(node.Scalar(), env_);
    if (!text.error.empty()) {
      error(node, std::string(field.path), text.error);
      return;
    }
    std::string where = place(node);
    std::string problem = check(field, text.text);
    if (!problem.empty()) {
      errors_.push_back(fmt::format("{}: {}: {}", where, field.path, problem));
      return;
    }
    scalars_[std::string(field.path)] = Scalar{text.text, where};
  }

  void read_map(const YAML::Node& node, const std::string& path) {
    if (node.IsNull()) return;
    if (!node.IsMap()) {
      error(node, path, "expected a mapping of `name: value`");
      return;
    }
    auto& out = maps_[path];
    for (const auto& kv : node) {
      if (!kv.second.IsScalar()) {
        error(kv.second, path + "." + kv.first.Scalar(), "expected a single value");
        continue;
      }
      auto text = interpolate(kv.second.Scalar(), env_);
      if (!text.error.empty()) {
        error(kv.second, path + "." + kv.first.Scalar(), text.error);
        continue;
      }
      out.push_back(Property{kv.first.Scalar(), text.text, place(kv.second), path + "." + kv.first.Scalar()});
    }
  }

  static std::string check(const Field& field, const std::string& text) {
    switch (field.kind) {
      case Kind::integer: {
        char* end = nullptr;
        errno = 0;
        long long v = std::strtoll(text.c_str(), &end, 10);
        if (text.empty() || *end != '\0' || errno == ERANGE) {
          return fmt::format("'{}' is not a whole number; expected {}..{}", text, field.min, field.max);
        }
        if (v < field.min || v > field.max) {
          return fmt::format("{} is out of range; expected {}..{}", v, field.min, field.max);
        }
        return {};
      }
      case Kind::boolean:
        if (text != "true" && text != "false")
          return fmt::format("'{}' is not a boolean; expected true or false", text);
        return {};
      case Kind::duration:
        if (!core::parse_duration(text)) {
          return fmt::format("'{}' is not a duration; expected {}", text, core::duration_syntax);
        }
        if (core::parse_duration(text)->count() == 0) return "must be longer than 0";
        if (*core::parse_duration(text) > std::chrono::hours(24 * 30))
          return fmt::format("'{}' is longer than 30 days", text);
        return {};
      case Kind::enumeration: {
        std::string_view choices = field.choices;
        std::size_t start = 0;
        while (start <= choices.size()) {
          auto bar = choices.find('|', start);
          if (choices.substr(start, bar - start) == text) return {};
          if (bar == std::string_view::npos) break;
          start = bar + 1;
        }
        return fmt::format("'{}' is not one of {}", text, field.choices);
      }
      case Kind::regex: try { std::regex re(text);
        } catch (const std::regex_error& e) {
          return fmt::format("'{}' is not a valid regular expression ({})", text, e.what());
        }
        return {};
      case Kind::string:
        if (text.empty()) return "must not be empty";
        return {};
      case Kind::section:
      case Kind::map: return {};
    }
    return {};
  }

  std::string valid_keys_hint(const std::string& prefix) const {
    std::vector<std::string> keys;
    for (const auto& f : connector_fields()) {
      std::string p(f.path);
      if (parent_of(p) == prefix) keys.push_back(p.substr(prefix.empty() ? 0 : prefix.size() + 1));
    }
    return fmt::format("; valid keys{}: {}", prefix.empty() ? "" : " in " + prefix, fmt::join(keys, ", "));
  }

  static std::string parent_of(const std::string& path) {
    auto dot = path.rfind('.');
    return dot == std::string::npos ? "" : path.substr(0, dot);
  }
  bool is_seen(std::string_view path) const { return std::find(seen_.begin(), seen_.end(), path) != seen_.end(); }
  std::string place(const YAML::Node& node) const {
    return fmt::format("{}:{}:{}", source_, node.Mark().line + 1, node.Mark().column + 1);
  }
  void error(const YAML::Node& node, const std::string& path, const std::string& message) {
    errors_.push_back(fmt::format("{}: {}: {}", place(node), path, message));
  }

  std::string source_;
  const EnvLookup& env_;
  std::map<std::string, Scalar> scalars_;
  std::map<std::string, std::vector<Property>> maps_;
  std::vector<std::string> seen_;
  std::vector<std::string> errors_;
};

ConnectorConfig build(Loader& in, const std::string& source) {
  ConnectorConfig c;
  c.source = source;
  c.kafka.bootstrap = in.text("kafka.bootstrap");
  c.kafka.group_id = in.text("kafka.group_id");
  c.kafka.properties = in.map("kafka.properties");
  c.kafka.consumer_properties = in.map("kafka.consumer_properties");
  c.kafka.producer_properties = in.map("kafka.producer_properties");
  c.input.topic = in.text("input.topic");
  c.input.pattern = in.text("input.pattern");
  c.reply.topic = in.text("reply.topic");
  c.reply.engine_pattern = in.text("reply.engine_pattern");
  c.handler.name = in.text("handler.name");
  std::map<std::string, HandlerOptions::Value> options;
  for (const auto& p : in.map("handler.options")) options[p.name] = {p.value, p.where};
  c.handler.options = HandlerOptions(std::move(options));

  auto ordering = in.text("processing.ordering");
  c.processing.ordering = ordering == "partition" ? Ordering::partition
                          : ordering == "none"    ? Ordering::none
                                                  : Ordering::key;
  c.processing.max_in_flight = std::stoi(in.text("processing.max_in_flight"));
  c.processing.max_in_flight_bytes = std::stoll(in.text("processing.max_in_flight_bytes"));
  c.processing.deadline = *core::parse_duration(in.text("processing.deadline"));
  c.processing.shutdown_grace = *core::parse_duration(in.text("processing.shutdown_grace"));
  c.processing.commit_interval = *core::parse_duration(in.text("processing.commit_interval"));
  c.errors.dlq_topic = in.text("errors.dlq_topic");
  c.observability.service_name = in.text("observability.service_name");
  if (c.observability.service_name.empty()) c.observability.service_name = c.kafka.group_id;
  c.observability.http_listen = in.text("observability.http.listen");
  c.observability.otlp_endpoint = in.text("observability.tracing.otlp_endpoint");
  c.observability.sampler = in.text("observability.tracing.sampler");
  c.log.level = in.text("log.level");
  c.log.format = in.text("log.format");
  c.log.bodies = in.text("log.bodies") == "true";
  return c;
}

void cross_check(Loader& in, const ConnectorConfig& c) {
  if (in.seen("input") && c.input.topic.empty() == c.input.pattern.empty()) {
    in.error_at("input", c.input.topic.empty() ? "set one of `topic` or `pattern`"
                                               : "set only one of `topic` and `pattern`, not both");
  }
  auto reads = [&](const std::string& topic) {
    return topic == c.input.topic || (!c.input.pattern.empty() && topic_matches(c.input.pattern, topic));
  };
  if (!c.reply.topic.empty()) {
    if (!topic_matches(c.reply.engine_pattern, c.reply.topic)) {
      in.error_at("reply.topic", fmt::format("'{}' does not match reply.engine_pattern '{}' (at {}); the engine "
                                             "would never read the reply. Use a topic the pattern matches, e.g. "
                                             "'ai.flowx.dev.engine.receive.<plugin>.out.v1', or fix the pattern",
                                             c.reply.topic, c.reply.engine_pattern, in.where("reply.engine_pattern")));
    }
    if (reads(c.reply.topic)) {
      in.error_at("reply.topic", "is also consumed as input; the connector would answer its own replies");
    }
  }
  if (!observability::Sampler::parse(c.observability.sampler)) {
    in.error_at("observability.tracing.sampler",
                fmt::format("'{}' is not a sampler; expected always, never, parent or ratio:R with 0 <= R <= 1",
                            c.observability.sampler));
  }
  if (const auto& e = c.observability.otlp_endpoint; !e.empty() && e.rfind("http://", 0) != 0) {
    in.error_at("observability.tracing.otlp_endpoint",
                fmt::format("'{}' is not an http:// URL; expected e.g. http://127.0.0.1:4318", e));
  }
  if (const auto& listen = c.observability.http_listen; !listen.empty()) {
    auto colon = listen.rfind(':');
    bool port_ok = colon != std::string::npos && colon + 1 < listen.size() &&
                   listen.find_first_not_of("0123456789", colon + 1) == std::string::npos &&
                   listen.size() - colon - 1 <= 5 && std::stoi(listen.substr(colon + 1)) <= 65535;
    if (!port_ok || colon == 0) {
      in.error_at("observability.http.listen",
                  fmt::format("'{}' is not host:port; expected e.g. 127.0.0.1:9464 or 0.0.0.0:9464", listen));
    }
  }
  if (!c.errors.dlq_topic.empty()) {
    if (topic_matches(c.reply.engine_pattern, c.errors.dlq_topic)) {
      in.error_at("errors.dlq_topic", fmt::format("'{}' matches reply.engine_pattern '{}'; the engine would read dead "
                                                  "letters as replies. Use a topic outside the pattern",
                                                  c.errors.dlq_topic, c.reply.engine_pattern));
    }
    if (reads(c.errors.dlq_topic)) {
      in.error_at("errors.dlq_topic", "is also consumed as input; dead letters would be handled again");
    }
  }
}

}  // namespace

EnvLookup process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    if (const char* v = std::getenv(name.c_str())) return std::string(v);
    return std::nullopt;
  };
}

Interpolated interpolate(std::string_view text, const EnvLookup& env) {
  Interpolated out;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text.compare(i, 3, "$${") == 0) {
      out.text += "${";
      i += 3;
      continue;
    }
    if (text.compare(i, 2, "${") != 0) {
      out.text += text[i++];
      continue;
    }
    auto close = text.find('}', i + 2);
    if (close == std::string_view::npos) {
      out.error = fmt::format("'${{' at character {} has no closing '}}'; write $${{ for a literal", i + 1);
      return out;
    }
    std::string_view inner = text.substr(i + 2, close - i - 2);
    std::string_view name = inner;
    std::optional<std::string_view> fallback;
    if (auto sep = inner.find(":-"); sep != std::string_view::npos) {
      name = inner.substr(0, sep);
      fallback = inner.substr(sep + 2);
    }
    bool valid_name = !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0]));
    for (char ch : name) valid_name = valid_name && (std::isalnum(static_cast<unsigned char>(ch)) || ch == '_');
    if (!valid_name) {
      out.error = fmt::format("'${{{}}}' is not a variable reference; expected ${{NAME}} or ${{NAME:-default}}", inner);
      return out;
    }
    auto value = env(std::string(name));
    if (value && !(fallback && value->empty())) {
      out.text += *value;
    } else if (fallback) {
      out.text += *fallback;
    } else {
      out.error = fmt::format("environment variable {} is not set; set it or write ${{{}:-default}}", name, name);
      return out;
    }
    i = close + 1;
  }
  return out;
}

bool topic_matches(const std::string& pattern, const std::string& topic) {
  try {
    return std::regex_match(topic, std::regex(pattern));
  } catch (const std::regex_error&) {
    return false;
  }
}

ConnectorConfig parse(std::string_view yaml, const std::string& source, const EnvLookup& env) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    throw ConfigError(fmt::format("{}:{}:{}: YAML syntax: {}", source, e.mark.line + 1, e.mark.column + 1, e.msg));
  }
  Loader in(source, env);
  if (root.IsNull()) {
    throw ConfigError(source + ":1:1: the file is empty; see docs/config.md for the keys");
  }
  in.walk(root, "");
  in.check_required(root);
  // Values with errors were not kept (their defaults stand in), so the cross-field checks still
  // run on the rest: one lint run reports every problem.
  ConnectorConfig c = build(in, source);
  cross_check(in, c);
  if (!in.errors().empty()) throw ConfigError(fmt::format("{}", fmt::join(in.errors(), "\n")));
  return c;
}

ConnectorConfig load(const std::string& path, const EnvLookup& env) {
  std::ifstream file(path);
  if (!file) throw ConfigError(fmt::format("{}: cannot read the file ({})", path, std::strerror(errno)));
  std::stringstream text;
  text << file.rdbuf();
  return parse(text.str(), path, env);
}

}  // namespace fxconnect::config
