#include "config/config.h"

#include <array>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <yaml-cpp/yaml.h>
#include <boost/url/parse.hpp>

#include "config/kafka_security.h"
#include "config/spec.h"
#include "core/duration.h"
#include "core/regex.h"
#include "core/secrets.h"
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
  Loader(std::string source, const EnvLookup& env) : source_(std::move(source)), env_(env) {
    auto slash = source_.rfind('/');
    base_dir_ = slash == std::string::npos ? "." : source_.substr(0, slash == 0 ? 1 : slash);
  }

  // `prefix` is where the node is (`systems.corebanking`), `spec` the same place in the spec
  // (`systems.*`).
  void walk(const YAML::Node& node, const std::string& prefix, const std::string& spec) {
    if (!node.IsMap()) {
      error(node, prefix.empty() ? "(document)" : prefix, "expected a mapping of keys" + valid_keys_hint(spec, prefix));
      return;
    }
    for (const auto& kv : node) {
      std::string key = kv.first.Scalar();
      std::string path = prefix.empty() ? key : fmt::format("{}.{}", prefix, key);
      std::string spec_path = spec.empty() ? key : fmt::format("{}.{}", spec, key);
      const Field* field = find_field(spec_path);
      if (!field) {
        error(kv.first, path, "unknown key" + valid_keys_hint(spec, prefix));
        continue;
      }
      seen_.push_back(path);
      places_[path] = place(kv.first);
      const YAML::Node& value = kv.second;
      switch (field->kind) {
        case Kind::section: walk(value, path, spec_path); break;
        case Kind::named: read_named(value, path, spec_path); break;
        case Kind::map: read_map(value, path); break;
        case Kind::list: read_list(value, *field, path); break;
        case Kind::string:
        case Kind::integer:
        case Kind::boolean:
        case Kind::duration:
        case Kind::enumeration:
        case Kind::regex:
        case Kind::percent:
        case Kind::rate: read_scalar(value, *field, path); break;
        case Kind::yaml: yaml_[path] = std::make_shared<const YAML::Node>(value); break;  // keeps its marks
      }
    }
  }

  void check_required(const YAML::Node& root) {
    for (const auto& f : connector_fields()) {
      if (!f.required) continue;
      for (const auto& path : instances(std::string(f.path))) {
        if (is_seen(path)) continue;
        std::string parent = parent_of(path);
        if (!parent.empty() && !is_seen(parent)) continue;  // the missing parent is the problem
        auto at = places_.count(parent)
                      ? places_.at(parent)
                      : fmt::format("{}:{}:{}", source_, root.Mark().line + 1, root.Mark().column + 1);
        errors_.push_back(fmt::format("{}: {}: required key is missing ({})", at, path, f.description));
      }
    }
  }

  // The names under a `named` key (`systems` → corebanking, kyc), in document order.
  const std::vector<std::string>& names(const std::string& path) { return names_[path]; }

  std::optional<Scalar> scalar(std::string_view path) const {
    auto it = scalars_.find(std::string(path));
    if (it == scalars_.end()) return std::nullopt;
    return it->second;
  }
  // The value, else the spec's default.
  std::string text(std::string_view path) const {
    if (auto s = scalar(path)) return s->text;
    return std::string(find_field(spec_of(std::string(path)))->default_value);
  }
  // A list's items, else the spec's default (comma-separated).
  std::vector<Property> list(std::string_view path) const {
    if (auto it = lists_.find(std::string(path)); it != lists_.end()) return it->second;
    std::vector<Property> out;
    std::string_view def = find_field(spec_of(std::string(path)))->default_value;
    std::size_t start = 0;
    while (!def.empty() && start <= def.size()) {
      auto comma = def.find(',', start);
      out.push_back(Property{std::string(def.substr(start, comma - start)), "", source_, std::string(path)});
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
    for (auto& p : out) p.value = p.name;
    return out;
  }
  std::string place_of(std::string_view path) const {
    auto it = places_.find(std::string(path));
    return it == places_.end() ? source_ : it->second;
  }
  std::string where(std::string_view path) const {
    if (auto s = scalar(path)) return s->where;
    if (auto it = places_.find(std::string(path)); it != places_.end()) return it->second;
    return source_;
  }
  const std::vector<Property>& map(std::string_view path) { return maps_[std::string(path)]; }
  std::shared_ptr<const YAML::Node> yaml(std::string_view path) const {
    auto it = yaml_.find(std::string(path));
    return it == yaml_.end() ? nullptr : it->second;
  }
  void error_at(std::string_view path, const std::string& message) {
    errors_.push_back(fmt::format("{}: {}: {}", where(path), path, message));
  }
  // For one item of a list: its own place comes first.
  void error_at_item(std::string_view where, std::string_view path, const std::string& message) {
    errors_.push_back(fmt::format("{}: {}: {}", where, path, message));
  }
  std::vector<std::string>& errors() { return errors_; }
  bool seen(std::string_view path) const { return is_seen(path); }

 private:
  void read_scalar(const YAML::Node& node, const Field& field, const std::string& path) {
    if (!node.IsScalar()) {
      error(node, path, fmt::format("expected a single value ({})", field.description));
      return;
    }
    auto text = interpolate(node.Scalar(), env_, base_dir_);
    if (!text.error.empty()) {
      error(node, path, text.error);
      return;
    }
    remember_secrets(field.path, text.text);
    std::string where = place(node);
    std::string problem = check(field, text.text);
    if (!problem.empty()) {
      errors_.push_back(fmt::format("{}: {}: {}", where, path, problem));
      return;
    }
    scalars_[path] = Scalar{text.text, where};
  }

  void read_named(const YAML::Node& node, const std::string& path, const std::string& spec) {
    if (node.IsNull()) return;
    if (!node.IsMap()) {
      error(node, path, "expected a mapping of names to their settings");
      return;
    }
    for (const auto& kv : node) {
      std::string name = kv.first.Scalar();
      std::string item = fmt::format("{}.{}", path, name);
      if (name.empty() || name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") !=
                              std::string::npos) {
        error(kv.first, item,
              "a name of letters, digits, '_' and '-' only (it is used in ${...} references and metrics)");
        continue;
      }
      names_[path].push_back(name);
      seen_.push_back(item);
      places_[item] = place(kv.first);
      walk(kv.second, item, spec + ".*");
    }
  }

  void read_list(const YAML::Node& node, const Field& field, const std::string& path) {
    auto& out = lists_[path];
    auto add = [&](const YAML::Node& item) {
      if (!item.IsScalar()) {
        error(item, path, "expected a list of single values");
        return;
      }
      auto text = interpolate(item.Scalar(), env_, base_dir_);
      if (!text.error.empty()) {
        error(item, path, text.error);
        return;
      }
      remember_secrets(field.path, text.text);
      out.push_back(Property{text.text, text.text, place(item), path});
    };
    if (node.IsScalar()) {
      add(node);  // one value stands for a list of one
    } else if (node.IsSequence()) {
      for (const auto& item : node) add(item);
    } else {
      error(node, path, fmt::format("expected a list ({})", field.description));
    }
    if (out.empty() && field.required) error(node, path, "must not be empty");
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
      auto text = interpolate(kv.second.Scalar(), env_, base_dir_);
      if (!text.error.empty()) {
        error(kv.second, path + "." + kv.first.Scalar(), text.error);
        continue;
      }
      remember_secrets(kv.first.Scalar(), text.text);
      // A collector's headers are credentials whatever their names (docs/security.md).
      if (path == "observability.tracing.headers") core::add_secret(text.text);
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
      case Kind::regex: try { core::make_regex(text);
        } catch (const std::regex_error& e) {
          return fmt::format("'{}' is not a valid regular expression ({})", text, e.what());
        }
        return {};
      case Kind::string:
        if (text.empty()) return "must not be empty";
        return {};
      case Kind::percent: {
        if (!core::parse_percent(text))
          return fmt::format("'{}' is not a percentage; expected 0% to 100%, e.g. 50%", text);
        return {};
      }
      case Kind::rate: {
        if (!core::parse_rate(text)) {
          return fmt::format("'{}' is not a rate; expected calls per unit of time, e.g. 200/s, 5/ms or 600/m", text);
        }
        return {};
      }
      case Kind::section:
      case Kind::named:
      case Kind::list:
      case Kind::yaml:
      case Kind::map: return {};
    }
    return {};
  }

  // The spec path of a concrete one: the name after a `named` key becomes `*`.
  static std::string spec_of(const std::string& path) {
    std::string spec, rest = path;
    const Field* parent = nullptr;
    while (!rest.empty()) {
      auto dot = rest.find('.');
      std::string segment = rest.substr(0, dot);
      rest = dot == std::string::npos ? "" : rest.substr(dot + 1);
      if (parent && parent->kind == Kind::named) segment = "*";
      if (!spec.empty()) spec += '.';
      spec += segment;
      parent = find_field(spec);
    }
    return spec;
  }

  // The concrete paths of a spec path: itself, or one per name for each `*`.
  std::vector<std::string> instances(const std::string& spec) const {
    auto star = spec.find(".*");
    if (star == std::string::npos) return {spec};
    std::vector<std::string> out;
    std::string named = spec.substr(0, star);
    std::string tail = spec.substr(star + 2);
    auto it = names_.find(named);
    if (it == names_.end()) return out;
    for (const auto& name : it->second) {
      for (auto& rest : instances(fmt::format("{}.{}{}", named, name, tail))) out.push_back(std::move(rest));
    }
    return out;
  }

  // The keys valid under `spec` (the spec path), for a message about `where` (the concrete one).
  std::string valid_keys_hint(const std::string& spec, const std::string& where) const {
    std::vector<std::string> keys;
    for (const auto& f : connector_fields()) {
      std::string p(f.path);
      if (parent_of(p) == spec) keys.push_back(p.substr(spec.empty() ? 0 : spec.size() + 1));
    }
    return fmt::format("; valid keys{}: {}", where.empty() ? "" : " in " + where, fmt::join(keys, ", "));
  }

  // Secrets never printed (core/secrets.h): the value of a key named like one (`name` is the
  // spec's path for a key, `systems.*.auth.bearer`, so a system's own name never counts; for a map
  // entry its name: `sasl.password`, `Authorization`), and a password inside any value.
  static void remember_secrets(std::string_view name, const std::string& value) {
    if (core::is_secret_name(name)) {
      core::add_secret(value);
      // `Bearer <token>`, `Basic <credentials>`: the credential alone too.
      if (auto space = value.find(' '); space != std::string::npos) core::add_secret(value.substr(space + 1));
    }
    core::add_secrets_inside(value);
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
  std::string base_dir_;  // the config file's directory: `${file:relative}` starts here
  const EnvLookup& env_;
  std::map<std::string, Scalar> scalars_;
  std::map<std::string, std::vector<Property>> maps_;
  std::map<std::string, std::vector<Property>> lists_;
  std::map<std::string, std::vector<std::string>> names_;
  std::map<std::string, std::shared_ptr<const YAML::Node>> yaml_;
  std::map<std::string, std::string> places_;  // where each key seen was written
  std::vector<std::string> seen_;
  std::vector<std::string> errors_;
};

// `kafka.security` (at `at`), files resolved against the config's directory.
template <class Resolve>
KafkaSecurity kafka_security(const Loader& in, const std::string& at, const Resolve& resolve) {
  KafkaSecurity s;
  if (!in.seen(at)) return s;
  s.where = in.place_of(at);
  s.protocol = in.text(at + ".protocol");
  s.ca_file = resolve(in.text(at + ".ca_file"));
  s.cert_file = resolve(in.text(at + ".cert_file"));
  s.key_file = resolve(in.text(at + ".key_file"));
  s.key_password = in.text(at + ".key_password");
  s.verify = in.text(at + ".verify") == "true";
  s.verify_host = in.text(at + ".verify_host") == "true";
  s.mechanism = in.text(at + ".sasl.mechanism");
  s.user = in.text(at + ".sasl.user");
  s.password = in.text(at + ".sasl.password");
  s.token_url = in.text(at + ".sasl.token_url");
  s.client_id = in.text(at + ".sasl.client_id");
  s.client_secret = in.text(at + ".sasl.client_secret");
  s.scope = in.text(at + ".sasl.scope");
  return s;
}

ConnectorConfig build(Loader& in, const std::string& source) {
  ConnectorConfig c;
  c.source = source;
  c.kafka.bootstrap = in.text("kafka.bootstrap");
  c.kafka.group_id = in.text("kafka.group_id");
  c.kafka.properties = in.map("kafka.properties");
  c.kafka.consumer_properties = in.map("kafka.consumer_properties");
  c.kafka.producer_properties = in.map("kafka.producer_properties");
  auto slash = source.rfind('/');
  std::string base_dir = slash == std::string::npos ? "." : source.substr(0, slash == 0 ? 1 : slash);
  auto resolve = [&](const std::string& file) {
    return file.empty() || file.front() == '/' ? file : base_dir + "/" + file;
  };
  c.kafka.security = kafka_security(in, "kafka.security", resolve);
  c.kafka.write_check = in.text("kafka.write_check") == "true";
  c.kafka.fetch_wakeup = in.text("kafka.fetch_wakeup") == "true";
  c.kafka.decode_thread = in.text("kafka.decode_thread") == "true";
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
  c.observability.otlp_ca_file = resolve(in.text("observability.tracing.ca_file"));
  c.observability.otlp_cert_file = resolve(in.text("observability.tracing.cert_file"));
  c.observability.otlp_key_file = resolve(in.text("observability.tracing.key_file"));
  c.observability.otlp_headers = in.map("observability.tracing.headers");
  c.observability.metrics_token = in.text("observability.http.metrics_token");
  c.observability.http_cert_file = resolve(in.text("observability.http.tls.cert_file"));
  c.observability.http_key_file = resolve(in.text("observability.http.tls.key_file"));
  c.observability.http_max_connections = std::stoul(in.text("observability.http.max_connections"));
  c.observability.http_request_timeout = *core::parse_duration(in.text("observability.http.request_timeout"));
  c.observability.http_max_request_bytes = std::stoul(in.text("observability.http.max_request_bytes"));
  c.observability.http_max_headers = std::stoul(in.text("observability.http.max_headers"));
  for (const auto& name : in.names("systems")) {
    auto at = [&](std::string_view key) { return fmt::format("systems.{}.{}", name, key); };
    auto duration = [&](std::string_view key) { return *core::parse_duration(in.text(at(key))); };
    if (in.seen(at("postgres"))) {
      PostgresSystemConfig sys;
      sys.name = name;
      sys.where = in.place_of("systems." + name);
      sys.dsn = in.text(at("postgres.dsn"));
      sys.pool = std::stoi(in.text(at("postgres.pool")));
      sys.statement_timeout = duration("postgres.statement_timeout");
      sys.connect_timeout = duration("postgres.connect_timeout");
      sys.max_rows = static_cast<std::size_t>(std::stoll(in.text(at("postgres.max_rows"))));
      c.sql_systems.push_back(std::move(sys));
      continue;
    }
    if (in.seen(at("sftp")) || in.seen(at("dir"))) {
      FileSystemConfig sys;
      sys.name = name;
      sys.where = in.place_of("systems." + name);
      sys.kind = in.seen(at("sftp")) ? FileSystemConfig::Kind::sftp : FileSystemConfig::Kind::dir;
      std::string kind = sys.kind == FileSystemConfig::Kind::sftp ? "sftp." : "dir.";
      if (sys.kind == FileSystemConfig::Kind::sftp) {
        sys.url = in.text(at("sftp.url"));
        sys.user = in.text(at("sftp.user"));
        sys.password = in.text(at("sftp.password"));
        sys.key_file = resolve(in.text(at("sftp.key_file")));
        sys.known_hosts = resolve(in.text(at("sftp.known_hosts")));
        sys.timeout = duration("sftp.timeout");
        sys.connect_timeout = duration("sftp.connect_timeout");
      } else {
        sys.path = resolve(in.text(at("dir.path")));
      }
      sys.poll = duration(kind + "poll");
      sys.complete = in.text(at(kind + "complete")) == "marker" ? FileSystemConfig::Complete::marker
                                                                : FileSystemConfig::Complete::size_stable;
      sys.stable_for = duration(kind + "stable_for");
      sys.marker_suffix = in.text(at(kind + "marker_suffix"));
      sys.await_timeout = duration(kind + "await_timeout");
      sys.max_file_bytes = static_cast<std::size_t>(std::stoll(in.text(at(kind + "max_file_bytes"))));
      c.file_systems.push_back(std::move(sys));
      continue;
    }
    if (in.seen(at("exec"))) {
      ExecSystemConfig sys;
      sys.name = name;
      sys.where = in.place_of("systems." + name);
      for (const auto& part : in.list(at("exec.command"))) sys.command.push_back(part.value);
      if (!sys.command.empty() && sys.command.front().find('/') != std::string::npos) {
        sys.command.front() = resolve(sys.command.front());
      }
      sys.timeout = duration("exec.timeout");
      for (const auto& e : in.list(at("exec.env"))) sys.env.push_back(e.value);
      sys.working_dir = resolve(in.text(at("exec.working_dir")));
      if (sys.working_dir.empty()) sys.working_dir = base_dir;
      sys.max_output_bytes = static_cast<std::size_t>(std::stoll(in.text(at("exec.max_output_bytes"))));
      sys.max_in_flight = std::stoi(in.text(at("exec.max_in_flight")));
      sys.unavailable_exit_codes.clear();
      for (const auto& code : in.list(at("exec.unavailable_exit_codes"))) {
        char* end = nullptr;
        long v = std::strtol(code.value.c_str(), &end, 10);
        if (!code.value.empty() && *end == '\0' && v >= 1 && v <= 255) sys.unavailable_exit_codes.push_back(int(v));
      }
      c.exec_systems.push_back(std::move(sys));
      continue;
    }
    HttpSystemConfig sys;
    sys.name = name;
    sys.where = in.place_of("systems." + name);
    for (const auto& e : in.list(at("endpoints"))) sys.endpoints.push_back(e.value);
    sys.failover = in.text(at("balance")) == "failover";
    sys.timeout = *core::parse_duration(in.text(at("timeout")));
    sys.connect_timeout = *core::parse_duration(in.text(at("connect_timeout")));
    sys.max_in_flight = std::stoi(in.text(at("max_in_flight")));
    if (auto rate = in.text(at("rate_limit")); !rate.empty()) sys.rate_limit = core::parse_rate(rate);
    sys.retry.attempts = std::stoi(in.text(at("retry.attempts")));
    sys.retry.backoff = *core::parse_duration(in.text(at("retry.backoff")));
    sys.retry.max_backoff = *core::parse_duration(in.text(at("retry.max_backoff")));
    sys.retry.on.clear();
    for (const auto& o : in.list(at("retry.on"))) sys.retry.on.push_back(o.value);
    sys.retry_non_idempotent = in.text(at("retry_non_idempotent")) == "true";
    sys.circuit_breaker.enabled = in.text(at("circuit_breaker.enabled")) == "true";
    sys.circuit_breaker.failure_rate = core::parse_percent(in.text(at("circuit_breaker.failure_rate"))).value_or(0.5);
    sys.circuit_breaker.window = std::stoi(in.text(at("circuit_breaker.window")));
    sys.circuit_breaker.min_calls = std::stoi(in.text(at("circuit_breaker.min_calls")));
    sys.circuit_breaker.open_for = *core::parse_duration(in.text(at("circuit_breaker.open_for")));
    sys.headers = in.map(at("headers"));
    using Auth = HttpSystemConfig::AuthKind;
    if (in.seen(at("auth.basic"))) {
      sys.auth.kind = Auth::basic;
      sys.auth.user = in.text(at("auth.basic.user"));
      sys.auth.password = in.text(at("auth.basic.password"));
    } else if (in.seen(at("auth.bearer"))) {
      sys.auth.kind = Auth::bearer;
      sys.auth.token = in.text(at("auth.bearer"));
    } else if (in.seen(at("auth.oauth2"))) {
      sys.auth.kind = Auth::oauth2;
      sys.auth.token_url = in.text(at("auth.oauth2.token_url"));
      sys.auth.client_id = in.text(at("auth.oauth2.client_id"));
      sys.auth.client_secret = in.text(at("auth.oauth2.client_secret"));
      sys.auth.scope = in.text(at("auth.oauth2.scope"));
    }
    sys.tls.ca_file = in.text(at("tls.ca_file"));
    sys.tls.cert_file = in.text(at("tls.cert_file"));
    sys.tls.key_file = in.text(at("tls.key_file"));
    sys.tls.verify = in.text(at("tls.verify")) == "true";
    sys.tls.verify_host = in.text(at("tls.verify_host")) == "true";
    sys.proxy = in.text(at("proxy"));
    sys.http_version = in.text(at("http_version"));
    sys.compress = in.text(at("compress")) == "true";
    sys.max_response_bytes = static_cast<std::size_t>(std::stoll(in.text(at("max_response_bytes"))));
    sys.soap.version = in.text(at("soap.version"));
    sys.soap.namespaces = in.map(at("soap.namespaces"));
    c.systems.push_back(std::move(sys));
  }
  c.flow.steps = in.yaml("flow");
  c.flow.lists = in.yaml("lists");
  c.flow.base_dir = base_dir;
  c.flow.jq_input_bytes = static_cast<std::size_t>(std::stoll(in.text("flow_limits.jq_input_bytes")));
  c.log.level = in.text("log.level");
  c.log.format = in.text("log.format");
  c.log.bodies = in.text("log.bodies") == "true";
  return c;
}

// The keys only an HTTP system has (everything under systems.<name> but the other kinds' sections).
constexpr std::array kOtherKinds{"postgres", "sftp", "dir", "exec"};

void check_system_kinds(Loader& in, const ConnectorConfig& c) {
  auto all = [&] {
    std::vector<std::string> names;
    for (const auto& s : c.systems) names.push_back(s.name);
    for (const auto& s : c.sql_systems) names.push_back(s.name);
    for (const auto& s : c.file_systems) names.push_back(s.name);
    for (const auto& s : c.exec_systems) names.push_back(s.name);
    return names;
  }();
  for (const auto& name : all) {
    auto at = [&](std::string_view key) { return fmt::format("systems.{}.{}", name, key); };
    std::vector<std::string> kinds;
    if (in.seen(at("endpoints"))) kinds.emplace_back("endpoints");
    for (const char* k : kOtherKinds) {
      if (in.seen(at(k))) kinds.emplace_back(k);
    }
    if (kinds.empty()) {
      in.error_at("systems." + name,
                  "what kind of system is it? Set one of `endpoints` (HTTP: REST or SOAP), `postgres`, `sftp`, "
                  "`dir`, `exec`");
      continue;
    }
    if (kinds.size() > 1) {
      in.error_at("systems." + name, fmt::format("set only one of {} (a system is of one kind; declare another "
                                                 "system for the other)",
                                                 fmt::join(kinds, ", ")));
      continue;
    }
    if (kinds.front() == "endpoints") continue;
    // An HTTP key under a system of another kind would be silently ignored: refuse it.
    for (const auto& f : connector_fields()) {
      std::string_view path = f.path;
      constexpr std::string_view prefix = "systems.*.";
      if (path.substr(0, prefix.size()) != prefix) continue;
      auto key = path.substr(prefix.size());
      if (key.find('.') != std::string_view::npos) continue;  // top-level keys of a system only
      if (std::find(kOtherKinds.begin(), kOtherKinds.end(), key) != kOtherKinds.end()) continue;
      if (in.seen(at(key))) {
        in.error_at(at(key), fmt::format("an HTTP system's key; this system is `{}`: see systems.<name>.{}.* in "
                                         "docs/config.md for its keys",
                                         kinds.front(), kinds.front()));
      }
    }
  }
  for (const auto& sys : c.sql_systems) {
    auto at = [&](std::string_view key) { return fmt::format("systems.{}.postgres.{}", sys.name, key); };
    if (sys.statement_timeout < std::chrono::milliseconds(1)) {
      in.error_at(at("statement_timeout"), "must be at least 1ms (PostgreSQL counts it in milliseconds)");
    }
  }
  for (const auto& sys : c.file_systems) {
    std::string kind = sys.kind == FileSystemConfig::Kind::sftp ? "sftp" : "dir";
    auto at = [&](std::string_view key) { return fmt::format("systems.{}.{}.{}", sys.name, kind, key); };
    if (sys.kind == FileSystemConfig::Kind::sftp) {
      auto url = boost::urls::parse_absolute_uri(sys.url);
      if (!url || url->scheme() != "sftp" || url->host().empty() || url->has_query() || url->has_fragment()) {
        in.error_at(at("url"), fmt::format("'{}' is not an SFTP folder; expected sftp://host[:port]/folder", sys.url));
      }
      if (sys.key_file.empty() && sys.password.empty()) {
        in.error_at("systems." + sys.name + ".sftp", "set `key_file` or `password`: how the user logs in");
      }
    }
    if (sys.marker_suffix.find('/') != std::string::npos) {
      in.error_at(at("marker_suffix"),
                  fmt::format("'{}' contains '/'; expected a suffix such as .done", sys.marker_suffix));
    }
  }
  for (const auto& sys : c.exec_systems) {
    auto at = [&](std::string_view key) { return fmt::format("systems.{}.exec.{}", sys.name, key); };
    if (sys.command.empty() || sys.command.front().empty()) in.error_at(at("command"), "must name a program");
    for (const auto& e : in.list(at("env"))) {
      bool ok = !e.value.empty() && e.value.find_first_of("=\0") == std::string::npos;
      if (!ok) in.error_at_item(e.where, at("env"), fmt::format("'{}' is not a variable name", e.value));
    }
    for (const auto& code : in.list(at("unavailable_exit_codes"))) {
      char* end = nullptr;
      long v = std::strtol(code.value.c_str(), &end, 10);
      if (code.value.empty() || *end != '\0' || v < 1 || v > 255) {
        in.error_at_item(code.where, at("unavailable_exit_codes"),
                         fmt::format("'{}' is not an exit code; expected 1..255", code.value));
      }
    }
  }
  // Files, folders and programs are checked when the connector starts (systems::Systems), not here:
  // `lint` and `fxconnect test` run where the production's folders do not exist.
}

// Files a setting names must be readable (checked by `lint` too: they are part of the deployment).
void check_readable(Loader& in, const std::string& key, const std::string& file) {
  if (!file.empty() && !std::ifstream(file)) {
    in.error_at(key, fmt::format("cannot read '{}' ({})", file, std::strerror(errno)));
  }
}

void check_systems(Loader& in, const ConnectorConfig& c) {
  check_system_kinds(in, c);
  for (const auto& sys : c.systems) {
    auto at = [&](std::string_view key) { return fmt::format("systems.{}.{}", sys.name, key); };
    for (const auto& e : in.list(at("endpoints"))) {
      auto url = boost::urls::parse_absolute_uri(e.value);
      bool ok = url && (url->scheme() == "http" || url->scheme() == "https") && url->has_authority() &&
                !url->host().empty() && !url->has_query() && !url->has_fragment();
      if (!ok) {
        in.error_at_item(e.where, at("endpoints"),
                         fmt::format("'{}' is not an endpoint; expected http://host:port[/prefix] or https://..., "
                                     "without query or fragment",
                                     e.value));
      }
    }
    for (const auto& o : in.list(at("retry.on"))) {
      const auto& v = o.value;
      bool status = v.size() == 3 && v.find_first_not_of("0123456789") == std::string::npos && std::stoi(v) >= 100 &&
                    std::stoi(v) <= 599;
      if (v != "connect" && v != "timeout" && v != "broken" && !status) {
        in.error_at_item(o.where, at("retry.on"),
                         fmt::format("'{}' is not a retry condition; expected connect, timeout, broken or an HTTP "
                                     "status such as 503",
                                     v));
      }
    }
    if (sys.retry.max_backoff < sys.retry.backoff) {
      in.error_at(at("retry.max_backoff"),
                  fmt::format("{} is shorter than retry.backoff ({})", core::format_duration(sys.retry.max_backoff),
                              core::format_duration(sys.retry.backoff)));
    }
    int kinds = in.seen(at("auth.basic")) + in.seen(at("auth.bearer")) + in.seen(at("auth.oauth2"));
    if (in.seen(at("auth")) && kinds != 1) {
      in.error_at(at("auth"), kinds == 0 ? "set one of basic, bearer, oauth2"
                                         : "set only one of basic, bearer, oauth2 (each replaces the others)");
    }
    if (!sys.auth.token_url.empty() && sys.auth.token_url.rfind("http://", 0) != 0 &&
        sys.auth.token_url.rfind("https://", 0) != 0) {
      in.error_at(at("auth.oauth2.token_url"),
                  fmt::format("'{}' is not an http:// or https:// URL", sys.auth.token_url));
    }
    if (sys.tls.cert_file.empty() != sys.tls.key_file.empty()) {
      in.error_at(sys.tls.cert_file.empty() ? at("tls.key_file") : at("tls.cert_file"),
                  "tls.cert_file and tls.key_file go together (a client certificate and its key)");
    }
    for (const char* key : {"tls.ca_file", "tls.cert_file", "tls.key_file"})
      check_readable(in, at(key), in.text(at(key)));
  }
}

// Properties that `kafka.security` sets: beside it they would silently fight over the same setting.
bool security_property(const std::string& name) {
  return name == "security.protocol" || name.rfind("ssl.", 0) == 0 || name.rfind("sasl.", 0) == 0 ||
         name == "enable.ssl.certificate.verification";
}

void check_kafka_security(Loader& in, const ConnectorConfig& c) {
  const auto& s = c.kafka.security;
  if (!in.seen("kafka.security")) return;
  for (const auto* props : {&c.kafka.properties, &c.kafka.consumer_properties, &c.kafka.producer_properties}) {
    for (const auto& p : *props) {
      if (security_property(p.name)) {
        in.error_at_item(p.where, p.written(),
                         "set by kafka.security (at " + s.where +
                             "); set TLS and SASL there only (docs/security.md maps each key to librdkafka's)");
      }
    }
  }
  bool tls = s.protocol == "ssl" || s.protocol == "sasl_ssl";
  bool sasl = s.protocol == "sasl_ssl" || s.protocol == "sasl_plaintext";
  if (!tls) {
    for (const char* key : {"ca_file", "cert_file", "key_file", "key_password", "verify", "verify_host"}) {
      if (in.seen(fmt::format("kafka.security.{}", key))) {
        in.error_at(fmt::format("kafka.security.{}", key),
                    fmt::format("a TLS setting, but kafka.security.protocol is {} (no TLS); use ssl or sasl_ssl, or "
                                "remove it",
                                s.protocol));
      }
    }
  }
  if (sasl && !in.seen("kafka.security.sasl")) {
    in.error_at("kafka.security", fmt::format("protocol {} needs `sasl: {{ mechanism, user, password }}`", s.protocol));
  }
  if (!sasl && in.seen("kafka.security.sasl")) {
    in.error_at("kafka.security.sasl", fmt::format("SASL settings, but kafka.security.protocol is {}; use sasl_ssl "
                                                   "(or sasl_plaintext), or remove them",
                                                   s.protocol));
  }
  if (s.cert_file.empty() != s.key_file.empty()) {
    in.error_at(s.cert_file.empty() ? "kafka.security.key_file" : "kafka.security.cert_file",
                "cert_file and key_file go together (a client certificate and its key)");
  }
  if (!s.key_password.empty() && s.key_file.empty()) {
    in.error_at("kafka.security.key_password", "is the passphrase of key_file, which is not set");
  }
  check_readable(in, "kafka.security.ca_file", s.ca_file);
  check_readable(in, "kafka.security.cert_file", s.cert_file);
  check_readable(in, "kafka.security.key_file", s.key_file);
  if (!in.seen("kafka.security.sasl")) return;
  bool oauth = s.mechanism == "OAUTHBEARER";
  auto need = [&](const char* key, const std::string& value, const char* what) {
    if (value.empty()) {
      in.error_at("kafka.security.sasl", fmt::format("mechanism {} needs `{}` ({})", s.mechanism, key, what));
    }
  };
  auto refuse = [&](const char* key) {
    if (in.seen(fmt::format("kafka.security.sasl.{}", key))) {
      in.error_at(fmt::format("kafka.security.sasl.{}", key),
                  fmt::format("not used by mechanism {}; {}", s.mechanism,
                              oauth ? "OAUTHBEARER takes token_url, client_id, client_secret, scope"
                                    : "token_url, client_id, client_secret and scope are for OAUTHBEARER"));
    }
  };
  if (oauth) {
    need("token_url", s.token_url, "the identity provider's token endpoint");
    need("client_id", s.client_id, "the client id");
    need("client_secret", s.client_secret, "the client secret");
    refuse("user");
    refuse("password");
    if (!s.token_url.empty() && s.token_url.rfind("https://", 0) != 0 && s.token_url.rfind("http://", 0) != 0) {
      in.error_at("kafka.security.sasl.token_url", fmt::format("'{}' is not an http:// or https:// URL", s.token_url));
    }
  } else {
    need("user", s.user, "the SASL user name");
    need("password", s.password, "the SASL password; use ${file:/run/secrets/...} or ${VAR}");
    for (const char* key : {"token_url", "client_id", "client_secret", "scope"}) refuse(key);
  }
}

void check_observability(Loader& in, const ConnectorConfig& c) {
  const auto& o = c.observability;
  if (const auto& e = o.otlp_endpoint; !e.empty() && e.rfind("http://", 0) != 0 && e.rfind("https://", 0) != 0) {
    in.error_at("observability.tracing.otlp_endpoint",
                fmt::format("'{}' is not an http:// or https:// URL; expected e.g. http://127.0.0.1:4318", e));
  }
  bool https = o.otlp_endpoint.rfind("https://", 0) == 0;
  for (const char* key : {"ca_file", "cert_file", "key_file"}) {
    auto path = fmt::format("observability.tracing.{}", key);
    if (in.seen(path) && !https) {
      in.error_at(path, "a TLS setting, but observability.tracing.otlp_endpoint is not an https:// URL");
    }
  }
  if (o.otlp_cert_file.empty() != o.otlp_key_file.empty()) {
    in.error_at(o.otlp_cert_file.empty() ? "observability.tracing.key_file" : "observability.tracing.cert_file",
                "cert_file and key_file go together (a client certificate and its key)");
  }
  if (in.seen("observability.tracing.headers") && o.otlp_endpoint.empty()) {
    in.error_at("observability.tracing.headers",
                "headers for an export, but observability.tracing.otlp_endpoint "
                "is not set");
  }
  for (const auto& h : o.otlp_headers) {
    bool token = !h.name.empty() && h.name.find_first_not_of(
                                        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                        "0123456789!#$%&'*+-.^_`|~") == std::string::npos;
    if (!token) in.error_at_item(h.where, h.written(), fmt::format("'{}' is not an HTTP header name", h.name));
    if (h.value.find_first_of("\r\n") != std::string::npos) {
      in.error_at_item(h.where, h.written(), "a header value must be one line");
    }
  }
  check_readable(in, "observability.tracing.ca_file", o.otlp_ca_file);
  check_readable(in, "observability.tracing.cert_file", o.otlp_cert_file);
  check_readable(in, "observability.tracing.key_file", o.otlp_key_file);
  check_readable(in, "observability.http.tls.cert_file", o.http_cert_file);
  check_readable(in, "observability.http.tls.key_file", o.http_key_file);
  if (o.http_listen.empty()) {
    for (const char* key :
         {"metrics_token", "tls", "max_connections", "request_timeout", "max_request_bytes", "max_headers"}) {
      auto path = fmt::format("observability.http.{}", key);
      if (in.seen(path)) in.error_at(path, "observability.http.listen is not set: there is no endpoint to apply it to");
    }
  }
  if (!o.metrics_token.empty() && o.metrics_token.find_first_of(" \t\r\n") != std::string::npos) {
    in.error_at("observability.http.metrics_token", "must not contain blanks or line ends");
  }
}

void cross_check(Loader& in, const ConnectorConfig& c) {
  check_systems(in, c);
  check_kafka_security(in, c);
  check_observability(in, c);
  if (in.seen("handler") && in.seen("flow")) {
    in.error_at("flow", "set only one of `handler` (a C++ handler) and `flow` (declarative steps), not both");
  } else if (!in.seen("handler") && !in.seen("flow")) {
    in.error_at_item(c.source + ":1:1", "handler",
                     "required key is missing: set `handler` (a C++ handler by name) or `flow` (declarative steps)");
  }
  if (in.seen("lists") && !in.seen("flow")) {
    in.error_at("lists", "value lists are for a `flow`'s lookups; this config has no `flow`");
  }
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

namespace {

// `${file:PATH}`: the file's content without the blanks and line ends around it (a secret file
// written with `echo` ends with a newline that is not part of the password). A relative PATH is
// relative to the config file's directory. Refused: an empty or unreadable file, a directory, one
// over 64 KiB (a secret, not a document).
struct SecretFile {
  std::string value;
  std::string problem;
  explicit operator bool() const { return problem.empty(); }
  const std::string& operator*() const { return value; }
  const std::string& error() const { return problem; }
};

SecretFile read_secret_file(std::string_view path, std::string_view base_dir) {
  constexpr std::size_t kLimit = std::size_t{64} * 1024;
  SecretFile out;
  if (path.empty()) {
    out.problem = "'${file:}' names no file; expected ${file:/run/secrets/name}";
    return out;
  }
  std::string full = path.front() == '/' || base_dir.empty() ? std::string(path) : fmt::format("{}/{}", base_dir, path);
  std::error_code ec;
  if (std::filesystem::is_directory(full, ec)) {
    out.problem = fmt::format("${{file:{}}}: '{}' is a directory; expected a file holding the secret", path, full);
    return out;
  }
  // Not a device or a pipe (/dev/stdin would wait forever); symbolic links, as Kubernetes mounts
  // secrets, are followed.
  if (std::filesystem::exists(full, ec) && !std::filesystem::is_regular_file(full, ec)) {
    out.problem =
        fmt::format("${{file:{}}}: '{}' is not a regular file; expected a file holding the secret", path, full);
    return out;
  }
  std::ifstream file(full, std::ios::binary);
  if (!file) {
    out.problem = fmt::format("${{file:{}}}: cannot read '{}' ({})", path, full, std::strerror(errno));
    return out;
  }
  std::string text(kLimit + 1, '\0');
  file.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(file.gcount()));
  if (text.size() > kLimit) {
    out.problem =
        fmt::format("${{file:{}}}: '{}' is larger than 64 KiB; expected a file holding one secret", path, full);
    return out;
  }
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  auto begin = std::find_if_not(text.begin(), text.end(), blank);
  auto end = std::find_if_not(text.rbegin(), std::make_reverse_iterator(begin), blank).base();
  out.value.assign(begin, end);
  if (out.value.empty()) out.problem = fmt::format("${{file:{}}}: '{}' is empty", path, full);
  return out;
}

}  // namespace

EnvLookup process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    if (const char* v = std::getenv(name.c_str())) return std::string(v);
    return std::nullopt;
  };
}

Interpolated interpolate(std::string_view text, const EnvLookup& env, std::string_view base_dir) {
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
    if (inner.rfind("file:", 0) == 0) {
      auto secret = read_secret_file(inner.substr(5), base_dir);
      if (!secret) {
        out.error = secret.error();
        return out;
      }
      core::add_secret(*secret);  // whatever key it is read for
      out.text += *secret;
      i = close + 1;
      continue;
    }
    std::string_view name = inner;
    std::optional<std::string_view> fallback;
    if (auto sep = inner.find(":-"); sep != std::string_view::npos) {
      name = inner.substr(0, sep);
      fallback = inner.substr(sep + 2);
    }
    bool valid_name = !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0]));
    for (char ch : name) valid_name = valid_name && (std::isalnum(static_cast<unsigned char>(ch)) || ch == '_');
    if (!valid_name) {
      out.error = fmt::format(
          "'${{{}}}' is not a variable reference; expected ${{NAME}}, ${{NAME:-default}} or ${{file:/path}}", inner);
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
    return std::regex_match(topic, core::make_regex(pattern));
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
  in.walk(root, "", "");
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

KafkaSection load_kafka_section(const std::string& path, const EnvLookup& env) {
  std::ifstream file(path);
  if (!file) throw ConfigError(fmt::format("{}: cannot read the file ({})", path, std::strerror(errno)));
  std::stringstream text;
  text << file.rdbuf();
  YAML::Node root;
  try {
    root = YAML::Load(text.str());
  } catch (const YAML::Exception& e) {
    throw ConfigError(fmt::format("{}:{}:{}: YAML syntax: {}", path, e.mark.line + 1, e.mark.column + 1, e.msg));
  }
  if (!root.IsMap() || !root["kafka"]) {
    throw ConfigError(
        fmt::format("{}:1:1: no `kafka:` section; expected `kafka: {{ bootstrap, security, "
                    "properties }}` (docs/config.md)",
                    path));
  }
  // Only `kafka:` is read; the rest of a connector config is not this tool's business.
  YAML::Node only(YAML::NodeType::Map);
  only["kafka"] = root["kafka"];
  Loader in(path, env);
  in.walk(only, "", "");
  auto slash = path.rfind('/');
  std::string base_dir = slash == std::string::npos ? "." : path.substr(0, slash == 0 ? 1 : slash);
  auto resolve = [&](const std::string& f) { return f.empty() || f.front() == '/' ? f : base_dir + "/" + f; };
  ConnectorConfig c;
  c.source = path;
  c.kafka.bootstrap = in.text("kafka.bootstrap");
  c.kafka.properties = in.map("kafka.properties");
  c.kafka.security = kafka_security(in, "kafka.security", resolve);
  check_kafka_security(in, c);
  if (!in.errors().empty()) throw ConfigError(fmt::format("{}", fmt::join(in.errors(), "\n")));
  return KafkaSection{c.kafka.bootstrap, c.kafka.security, c.kafka.properties, path};
}

}  // namespace fxconnect::config
