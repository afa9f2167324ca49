// `flow:` and `lists:` of a connector config → a Flow (steps.h). Every problem is collected with
// its place (file:line:column), so one `lint` run reports them all.
#include <algorithm>
#include <charconv>
#include <fstream>
#include <regex>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <yaml-cpp/yaml.h>

#include "core/duration.h"
#include "core/json_exact.h"
#include "core/template.h"
#include "flow/steps.h"
#include "flow/yaml_json.h"
#include "systems/soap/soap.h"

namespace fxconnect::flow {
namespace {

namespace json = boost::json;

std::string step_kind_name(Step::Kind kind) {
  switch (kind) {
    case Step::Kind::validate: return "validate";
    case Step::Kind::map: return "map";
    case Step::Kind::call: return "call";
    case Step::Kind::fail_when: return "fail_when";
    case Step::Kind::reply: return "reply";
  }
  return "?";
}

// The steps that call a legacy system (their answer is kept under `as`).
const std::set<std::string> kCallKinds{"call", "sql", "file_exchange", "exec"};

std::string call_kind_name(CallSpec::Kind kind, const std::string& written) {
  switch (kind) {
    case CallSpec::Kind::http: return "call";
    case CallSpec::Kind::sql: return "sql";
    case CallSpec::Kind::file_exchange: return "file_exchange";
    case CallSpec::Kind::exec: return "exec";
  }
  return written;
}

bool is_name(const std::string& s) {
  static const std::regex re("[A-Za-z_][A-Za-z0-9_]*");
  return std::regex_match(s, re);
}

std::string join_quoted(const std::vector<std::string>& names) {
  std::vector<std::string> q;
  q.reserve(names.size());
  for (const auto& n : names) q.push_back(fmt::format("'{}'", n));
  return q.empty() ? "(none)" : fmt::format("{}", fmt::join(q, ", "));
}

class Compiler {
 public:
  explicit Compiler(const config::ConnectorConfig& config) : config_(config), source_(config.source) {
    for (const auto& s : config.systems) systems_.emplace_back(s.name, "http");
    for (const auto& s : config.sql_systems) systems_.emplace_back(s.name, "postgres");
    for (const auto& s : config.file_systems) {
      systems_.emplace_back(s.name, s.kind == config::FileSystemConfig::Kind::sftp ? "sftp" : "dir");
    }
    for (const auto& s : config.exec_systems) systems_.emplace_back(s.name, "exec");
  }

  std::shared_ptr<Flow> run() {
    auto flow = std::make_shared<Flow>();
    flow->jq_input_bytes = config_.flow.jq_input_bytes;
    if (config_.flow.lists) read_lists(*config_.flow.lists, *flow);
    if (config_.flow.steps) read_steps(*config_.flow.steps, *flow);
    if (!errors_.empty()) throw ConfigError(fmt::format("{}", fmt::join(errors_, "\n")));
    return flow;
  }

 private:
  // ---------------------------------------------------------------- places and errors
  std::string place(const YAML::Node& node) const {
    return fmt::format("{}:{}:{}", source_, node.Mark().line + 1, node.Mark().column + 1);
  }
  void error(const YAML::Node& node, const std::string& path, const std::string& message) {
    errors_.push_back(fmt::format("{}: {}: {}", place(node), path, message));
  }
  std::string file(const std::string& name) const {
    if (!name.empty() && name[0] == '/') return name;
    return config_.flow.base_dir + "/" + name;
  }

  // Only the keys in `allowed` (and each listed in `required`) under a mapping.
  bool keys(const YAML::Node& node, const std::string& path, std::initializer_list<const char*> allowed,
            std::initializer_list<const char*> required = {}) {
    if (!node.IsMap()) {
      error(node, path, fmt::format("expected a mapping with keys {}", fmt::join(allowed, ", ")));
      return false;
    }
    bool ok = true;
    for (const auto& kv : node) {
      auto key = kv.first.Scalar();
      if (std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; })) {
        error(kv.first, fmt::format("{}.{}", path, key),
              fmt::format("unknown key; valid keys: {}", fmt::join(allowed, ", ")));
        ok = false;
      }
    }
    for (const char* r : required) {
      if (!node[r]) {
        error(node, path, fmt::format("`{}` is required", r));
        ok = false;
      }
    }
    return ok;
  }
  std::optional<std::string> scalar(const YAML::Node& node, const std::string& path, bool non_empty = true) {
    if (!node.IsScalar()) {
      error(node, path, "expected a single value");
      return std::nullopt;
    }
    if (non_empty && node.Scalar().empty()) {
      error(node, path, "must not be empty");
      return std::nullopt;
    }
    return node.Scalar();
  }
  std::optional<bool> boolean(const YAML::Node& node, const std::string& path) {
    auto s = scalar(node, path);
    if (!s) return std::nullopt;
    if (*s == "true") return true;
    if (*s == "false") return false;
    error(node, path, fmt::format("'{}' is not a boolean; expected true or false", *s));
    return std::nullopt;
  }

  static json::value to_json(const YAML::Node& node) { return yaml_to_json(node); }

  // ---------------------------------------------------------------- paths in templates
  // Whether `path` starts at data a step can read: `request`, `headers`, `map` or an earlier
  // call's `as`; the error names the roots that exist.
  void check_path(const YAML::Node& at, const std::string& key, const std::string& path) {
    if (!core::valid_path(path)) {
      error(at, key, fmt::format("'{}' is not a data path such as request.customer.id or map.items[0].sku", path));
      return;
    }
    if (path[0] == '@') {
      if (path != "@uuid") error(at, key, fmt::format("'{}': the only @ name in a flow is @uuid", path));
      return;
    }
    auto root = path.substr(0, path.find_first_of(".["));
    if (std::find(roots_.begin(), roots_.end(), root) == roots_.end()) {
      auto later = std::find(all_as_.begin(), all_as_.end(), root) != all_as_.end();
      error(at, key,
            fmt::format("'{}' starts at '{}', which {}; data here: {}", path, root,
                        later ? "a later step sets (steps run in order)" : "is not defined", fmt::join(roots_, ", ")));
    }
  }
  void check_template(const YAML::Node& at, const std::string& key, const json::value& tmpl) {
    auto problems = core::check_template(tmpl);
    for (const auto& p : problems) error(at, key, p);
    if (!problems.empty()) return;
    for (const auto& p : core::template_paths(tmpl)) check_path(at, key, p);
  }
  std::optional<std::string> text_template(const YAML::Node& node, const std::string& key) {
    auto s = scalar(node, key, false);
    if (!s) return std::nullopt;
    check_template(node, key, json::value(*s));
    return s;
  }
  std::optional<JqProgram> jq(const YAML::Node& node, const std::string& key, bool text = false) {
    auto s = scalar(node, key);
    if (!s) return std::nullopt;
    auto program = text ? JqProgram::compile_text(*s) : JqProgram::compile(*s);
    if (!program) {
      error(node, key, fmt::format("not a jq {}: {}", text ? "text" : "expression", program.error().message));
      return std::nullopt;
    }
    return std::move(program).value();
  }

  // ---------------------------------------------------------------- lists
  void read_lists(const YAML::Node& node, Flow& flow) {
    if (node.IsNull()) return;
    if (!node.IsMap()) return error(node, "lists", "expected a mapping of list names to lists");
    for (const auto& kv : node) {
      auto name = kv.first.Scalar();
      auto path = "lists." + name;
      if (!is_name(name)) {
        error(kv.first, path, "a list name of letters, digits and '_' (not starting with a digit)");
        continue;
      }
      const auto& spec = kv.second;
      if (!spec.IsMap() || spec.size() == 0) {
        error(spec, path, "expected { csv: file, key: column, value: column } or inline { key: value, ... }");
        continue;
      }
      bool insensitive = false;
      if (spec["case"] && (spec["csv"] || spec["entries"])) {
        auto c = scalar(spec["case"], path + ".case");
        if (c && *c != "sensitive" && *c != "insensitive") {
          error(spec["case"], path + ".case", fmt::format("'{}' is not one of sensitive|insensitive", *c));
        }
        insensitive = c && *c == "insensitive";
      }
      Result<ValueList> list = Error{};
      if (spec["csv"]) {
        if (!keys(spec, path, {"csv", "key", "value", "case"}, {"csv", "key", "value"})) continue;
        auto csv = scalar(spec["csv"], path + ".csv");
        auto key = scalar(spec["key"], path + ".key");
        auto value = scalar(spec["value"], path + ".value");
        if (!csv || !key || !value) continue;
        auto interpolated = config::interpolate(*csv, config::process_env());
        if (!interpolated.error.empty()) {
          error(spec["csv"], path + ".csv", interpolated.error);
          continue;
        }
        list = ValueList::from_csv(name, file(interpolated.text), *key, *value, insensitive);
        if (!list) error(spec["csv"], path + ".csv", list.error().message);
      } else {
        const auto& entries = spec["entries"] ? spec["entries"] : spec;
        if (spec["entries"] && !keys(spec, path, {"entries", "case"})) continue;
        if (!entries.IsMap()) {
          error(entries, path + ".entries", "expected a mapping of key: value");
          continue;
        }
        std::vector<std::pair<std::string, std::string>> items;
        for (const auto& e : entries) {
          if (!e.second.IsScalar()) {
            error(e.second, path + "." + e.first.Scalar(), "expected a single value");
            continue;
          }
          items.emplace_back(e.first.Scalar(), e.second.Scalar());
        }
        list = ValueList::from_entries(name, std::move(items), insensitive);
        if (!list) error(entries, path, list.error().message);
      }
      if (list) flow.lists[name] = std::make_unique<ValueList>(std::move(list).value());
      list_names_.push_back(name);
    }
  }

  // ---------------------------------------------------------------- steps
  void read_steps(const YAML::Node& node, Flow& flow) {
    if (!node.IsSequence() || node.size() == 0) {
      return error(node, "flow", "expected a list of steps (- validate: ..., - map: ..., - call: ..., - reply: ...)");
    }
    // Every `as`, so that a path to a later step's answer gets a precise message.
    for (const auto& s : node) {
      if (!s.IsMap() || s.size() != 1) continue;
      auto kv = *s.begin();  // a copy: the iterator's value dies with the iterator
      const YAML::Node& c = kv.second;
      if (!c.IsMap() || !kCallKinds.count(kv.first.Scalar())) continue;
      YAML::Node as = c["as"] ? c["as"] : c["system"];
      if (as && as.IsScalar()) all_as_.push_back(as.Scalar());
    }
    roots_ = {"request", "headers", "map"};
    std::map<std::string, int> seen_names;
    bool replied = false;
    for (std::size_t i = 0; i < node.size(); ++i) {
      const auto& s = node[i];
      auto path = fmt::format("flow[{}]", i);
      if (!s.IsMap() || s.size() != 1) {
        error(s, path,
              "a step is a mapping with exactly one of validate, map, call, sql, file_exchange, exec, fail_when, "
              "reply");
        continue;
      }
      auto kv = *s.begin();
      auto kind_name = kv.first.Scalar();
      path += "." + kind_name;
      if (replied) error(kv.first, path, "a step after `reply`; the reply is the last step");
      Step step{Step::Kind::reply, "", place(kv.first), {}, {}, {}, {}, {}, nullptr};
      if (kind_name == "validate") {
        step.kind = Step::Kind::validate;
        read_validate(kv.second, path, step);
      } else if (kind_name == "map") {
        step.kind = Step::Kind::map;
        read_map(kv.second, path, step, flow);
      } else if (kind_name == "call") {
        step.kind = Step::Kind::call;
        read_call(kv.second, path, step);
      } else if (kind_name == "sql") {
        step.kind = Step::Kind::call;
        read_sql(kv.second, path, step);
      } else if (kind_name == "file_exchange") {
        step.kind = Step::Kind::call;
        read_file_exchange(kv.second, path, step);
      } else if (kind_name == "exec") {
        step.kind = Step::Kind::call;
        read_exec(kv.second, path, step);
      } else if (kind_name == "fail_when") {
        step.kind = Step::Kind::fail_when;
        step.fail_when = read_fail_when(kv.second, path);
      } else if (kind_name == "reply") {
        step.kind = Step::Kind::reply;
        step.reply = to_json(kv.second);
        check_template(kv.second, path, step.reply);
        replied = true;
      } else {
        error(kv.first, path,
              "unknown step; valid steps: validate, map, call, sql, file_exchange, exec, fail_when, reply");
        continue;
      }
      step.name = step.call ? fmt::format("{}:{}", call_kind_name(step.call->kind, kind_name), step.call->as)
                            : step_kind_name(step.kind);
      if (int n = ++seen_names[step.name]; n > 1) step.name += fmt::format("#{}", n);
      step.metrics = std::make_shared<observability::FlowStepMetrics>();
      step.metrics->step = step.name;
      flow.steps.push_back(std::move(step));
    }
    if (!replied) {
      error(node, "flow", "the flow has no `reply` step; end it with - reply: <the reply body template>");
    }
  }

  void read_validate(const YAML::Node& node, const std::string& path, Step& step) {
    if (!keys(node, path, {"schema"}, {"schema"})) return;
    auto name = scalar(node["schema"], path + ".schema");
    if (!name) return;
    auto schema = Schema::load(file(*name));
    if (!schema) return error(node["schema"], path + ".schema", schema.error().message);
    step.schema = std::make_shared<const Schema>(std::move(schema).value());
  }

  void read_map(const YAML::Node& node, const std::string& path, Step& step, const Flow& flow) {
    if (!node.IsMap() || node.size() == 0) return error(node, path, "expected a mapping of field names to fields");
    for (const auto& kv : node) {
      const auto& name = kv.first.Scalar();
      auto key = fmt::format("{}.{}", path, name);
      if (!is_name(name)) {
        error(kv.first, key, fmt::format("a field name of letters, digits and '_' (it is used as ${{map.{}}})", name));
        continue;
      }
      MapField f;
      f.name = name;
      f.where = place(kv.first);
      const auto& spec = kv.second;
      if (spec.IsScalar()) {  // shorthand: `name: request.a.b` copies
        f.path = spec.Scalar();
        check_path(spec, key, f.path);
        step.fields.push_back(std::move(f));
        continue;
      }
      if (!keys(spec, key,
                {"from", "value", "uuid", "now", "jq", "required", "default", "trim", "upper", "lower", "date",
                 "lookup", "minor_units", "type", "number", "string", "boolean", "zone"})) {
        continue;
      }
      int sources = 0;
      for (const char* s : {"from", "value", "uuid", "now", "jq"}) sources += spec[s] ? 1 : 0;
      if (sources != 1) {
        error(spec, key,
              sources == 0 ? "set a source: from (a data path), value (a template), uuid, now or jq"
                           : "set only one source of from, value, uuid, now, jq");
        continue;
      }
      if (spec["from"]) {
        if (auto p = scalar(spec["from"], key + ".from")) {
          f.path = *p;
          check_path(spec["from"], key + ".from", f.path);
        }
      } else if (spec["value"]) {
        f.source = MapField::Source::value;
        f.value = to_json(spec["value"]);
        check_template(spec["value"], key + ".value", f.value);
      } else if (spec["uuid"]) {
        f.source = MapField::Source::uuid;
        auto v = scalar(spec["uuid"], key + ".uuid");
        if (v && *v != "v4")
          error(spec["uuid"], key + ".uuid", fmt::format("'{}' is not a UUID version; expected v4", *v));
      } else if (spec["now"]) {
        f.source = MapField::Source::now;
        auto fmt = scalar(spec["now"], key + ".now");
        std::string zone = spec["zone"] ? spec["zone"].Scalar() : "";
        if (fmt) {
          auto t = DateTransform::make("iso", *fmt, "UTC", zone);
          if (t) {
            f.now = std::move(t).value();
          } else {
            error(spec["now"], key + ".now", t.error().message);
          }
        }
      } else {
        f.source = MapField::Source::jq;
        f.jq = jq(spec["jq"], key + ".jq");
      }
      if (spec["zone"] && !spec["now"]) error(spec["zone"], key + ".zone", "`zone` goes with `now` (dates: date.zone)");
      if (spec["required"]) {
        if (auto b = boolean(spec["required"], key + ".required")) f.required = *b;
        if (f.source != MapField::Source::from) error(spec["required"], key + ".required", "only with `from`");
      }
      if (spec["default"]) {
        f.default_value = to_json(spec["default"]);
        if (f.source != MapField::Source::from) error(spec["default"], key + ".default", "only with `from`");
      }
      for (auto [k, flag] : {std::pair{"trim", &f.trim}, std::pair{"upper", &f.upper}, std::pair{"lower", &f.lower}}) {
        if (spec[k]) {
          if (auto b = boolean(spec[k], key + "." + k)) *flag = *b;
        }
      }
      if (f.upper && f.lower) error(spec["lower"], key + ".lower", "set only one of upper and lower");
      if (spec["date"]) {
        const auto& d = spec["date"];
        if (keys(d, key + ".date", {"in", "out", "zone", "out_zone"}, {"in", "out"})) {
          auto get = [&](const char* k) { return d[k] ? d[k].Scalar() : std::string(); };
          auto t = DateTransform::make(get("in"), get("out"), get("zone"), get("out_zone"));
          if (t) {
            f.date = std::move(t).value();
          } else {
            error(d, key + ".date", t.error().message);
          }
        }
      }
      if (spec["lookup"]) {
        if (auto l = scalar(spec["lookup"], key + ".lookup")) {
          auto it = flow.lists.find(*l);
          if (it != flow.lists.end()) {
            f.lookup = it->second.get();
          } else if (std::find(list_names_.begin(), list_names_.end(), *l) == list_names_.end()) {
            error(spec["lookup"], key + ".lookup",
                  fmt::format("'{}' is not a list; lists: {}", *l, join_quoted(list_names_)));
          }
        }
      }
      if (spec["minor_units"]) f.minor_units = text_template(spec["minor_units"], key + ".minor_units");
      int types = 0;
      if (spec["type"]) {
        ++types;
        auto t = scalar(spec["type"], key + ".type");
        if (t == "number")
          f.type = MapField::Type::number;
        else if (t == "string")
          f.type = MapField::Type::string;
        else if (t == "boolean")
          f.type = MapField::Type::boolean;
        else if (t)
          error(spec["type"], key + ".type", fmt::format("'{}' is not one of number|string|boolean", *t));
      }
      for (auto [k, type] : {std::pair{"number", MapField::Type::number}, std::pair{"string", MapField::Type::string},
                             std::pair{"boolean", MapField::Type::boolean}}) {
        if (!spec[k]) continue;
        ++types;
        if (auto b = boolean(spec[k], key + "." + k); b && *b) f.type = type;
      }
      if (types > 1) error(spec, key, "set one type conversion (type: number|string|boolean)");
      step.fields.push_back(std::move(f));
    }
  }

  std::vector<FailWhen> read_fail_when(const YAML::Node& node, const std::string& path) {
    std::vector<FailWhen> out;
    if (!node.IsSequence() || node.size() == 0) {
      error(node, path, "expected a list of { if: <jq condition>, error: { code, retriable, message } }");
      return out;
    }
    for (std::size_t i = 0; i < node.size(); ++i) {
      const auto& c = node[i];
      auto key = fmt::format("{}[{}]", path, i);
      if (!keys(c, key, {"if", "error"}, {"if"})) continue;
      auto condition = jq(c["if"], key + ".if");
      FailWhen f{condition ? std::move(*condition) : JqProgram::compile("false").value(),
                 ErrorCode::handler_failed,
                 false,
                 std::nullopt,
                 std::nullopt,
                 place(c["if"])};
      if (const auto& e = c["error"]) {
        if (keys(e, key + ".error", {"code", "retriable", "message", "field"})) {
          if (e["code"]) {
            auto code = scalar(e["code"], key + ".error.code");
            bool found = false;
            for (auto candidate : {ErrorCode::invalid_request, ErrorCode::handler_failed, ErrorCode::legacy_unavailable,
                                   ErrorCode::legacy_timeout, ErrorCode::legacy_failed, ErrorCode::internal}) {
              if (code && *code == to_string(candidate)) {
                f.code = candidate;
                found = true;
              }
            }
            if (code && !found) {
              error(e["code"], key + ".error.code",
                    fmt::format("'{}' is not an error code a flow may give; expected invalid_request, handler_failed, "
                                "legacy_unavailable, legacy_timeout, legacy_failed or internal",
                                *code));
            }
          }
          if (e["retriable"]) f.retriable = boolean(e["retriable"], key + ".error.retriable").value_or(false);
          if (e["message"]) f.message = jq(e["message"], key + ".error.message", true);
          if (e["field"]) f.field = scalar(e["field"], key + ".error.field");
        }
      }
      if (condition) out.push_back(std::move(f));
    }
    return out;
  }

  // `as`, `when` and `system` of any call step; the system must be of one of `kinds`. The name of
  // the system found, or "" (after an error).
  std::string read_target(const YAML::Node& node, const std::string& path, CallSpec& c,
                          std::initializer_list<const char*> kinds, const char* what) {
    if (node["when"]) c.when = jq(node["when"], path + ".when");
    // Without `as`, the answer is kept under the system's name (${kyc.status}).
    const auto& as_node = node["as"] ? node["as"] : node["system"];
    if (auto as = scalar(as_node, path + ".as")) {
      c.as = *as;
      if (!is_name(c.as)) {
        error(as_node, path + ".as", "a name of letters, digits and '_' (it is used as ${" + c.as + "...})");
      } else if (c.as == "request" || c.as == "headers" || c.as == "map") {
        error(as_node, path + ".as", fmt::format("'{}' is taken by the request's data; choose another name", c.as));
      } else if (std::find(roots_.begin(), roots_.end(), c.as) != roots_.end()) {
        error(as_node, path + ".as",
              fmt::format("'{}' is already the name of an earlier call's answer; set `as:` to another name", c.as));
      } else {
        as_ok_ = true;
      }
    }
    auto name = scalar(node["system"], path + ".system");
    if (!name) return "";
    c.system = *name;
    auto it = std::find_if(systems_.begin(), systems_.end(), [&](const auto& s) { return s.first == c.system; });
    std::vector<std::string> fitting;
    for (const auto& [n, k] : systems_) {
      if (std::any_of(kinds.begin(), kinds.end(), [&, &k = k](const char* kind) { return k == kind; })) {
        fitting.push_back(n);
      }
    }
    if (it == systems_.end()) {
      std::vector<std::string> all;
      for (const auto& sys : systems_) all.push_back(sys.first);
      error(node["system"], path + ".system",
            fmt::format("'{}' is not a system; declared under systems: {}", c.system, join_quoted(all)));
      return "";
    }
    if (std::none_of(kinds.begin(), kinds.end(), [&](const char* kind) { return it->second == kind; })) {
      error(node["system"], path + ".system",
            fmt::format("'{}' is {} system; {} reaches {} systems: {}", c.system, article(it->second), path, what,
                        join_quoted(fitting)));
      return "";
    }
    return c.system;
  }

  static std::string article(const std::string& kind) {
    return (kind == "http" ? "an " : kind == "exec" ? "an " : "a ") + kind;
  }

  void read_call(const YAML::Node& node, const std::string& path, Step& step) {
    if (!keys(node, path,
              {"as", "when", "system", "method", "path", "query", "headers", "body", "accept", "soap", "extract",
               "fail_when"},
              {"system"})) {
      return;
    }
    CallSpec c;
    as_ok_ = false;
    const config::HttpSystemConfig* system = nullptr;
    if (auto name = read_target(node, path, c, {"http"}, "HTTP"); !name.empty()) {
      for (const auto& s : config_.systems) {
        if (s.name == name) system = &s;
      }
    }
    c.soap = static_cast<bool>(node["soap"]);
    if (c.soap) {
      const auto& s = node["soap"];
      if (keys(s, path + ".soap", {"action", "version"})) {
        if (s["action"]) c.action = scalar(s["action"], path + ".soap.action").value_or("");
        if (s["version"] && system) {
          auto v = scalar(s["version"], path + ".soap.version");
          if (v && *v != system->soap.version) {
            error(s["version"], path + ".soap.version",
                  fmt::format("system '{}' speaks SOAP {} (systems.{}.soap.version); a call cannot change it", c.system,
                              system->soap.version, c.system));
          }
        }
      }
      if (node["method"]) error(node["method"], path + ".method", "a SOAP call is always POST; remove `method`");
    } else if (node["method"]) {
      auto m = scalar(node["method"], path + ".method");
      static const std::set<std::string> methods{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"};
      if (m && !methods.count(*m)) {
        error(node["method"], path + ".method", fmt::format("'{}' is not one of GET|POST|PUT|PATCH|DELETE|HEAD", *m));
      }
      if (m) c.method = *m;
    }
    c.path = c.soap ? "" : "/";
    if (node["path"]) c.path = text_template(node["path"], path + ".path").value_or(c.path);
    for (auto [k, out] : {std::pair{"query", &c.query}, std::pair{"headers", &c.headers}}) {
      const auto& m = node[k];
      if (!m) continue;
      if (!m.IsMap()) {
        error(m, path + "." + k, "expected a mapping of name: text template");
        continue;
      }
      for (const auto& kv : m) {
        if (auto t = text_template(kv.second, path + "." + k + "." + kv.first.Scalar())) {
          out->emplace_back(kv.first.Scalar(), *t);
        }
      }
    }
    if (node["body"]) {
      if (c.soap) {
        if (!node["body"].IsScalar()) {
          error(node["body"], path + ".body",
                "a SOAP body is XML text (a text template), e.g. body: |\n  <k:Check ...>");
        } else {
          c.xml = text_template(node["body"], path + ".body").value_or("");
        }
      } else {
        c.body = to_json(node["body"]);
        check_template(node["body"], path + ".body", *c.body);
      }
    }
    if (const auto& a = node["accept"]) {
      auto add = [&](const YAML::Node& item) {
        auto s = scalar(item, path + ".accept");
        if (!s) return;
        int status = 0;
        auto [p, ec] = std::from_chars(s->data(), s->data() + s->size(), status);
        if (ec != std::errc() || p != s->data() + s->size() || status < 100 || status > 599) {
          error(item, path + ".accept", fmt::format("'{}' is not an HTTP status (100-599)", *s));
          return;
        }
        c.accept.push_back(status);
      };
      if (a.IsSequence()) {
        for (const auto& item : a) add(item);
      } else {
        add(a);
      }
    }
    if (const auto& x = node["extract"]) {
      if (!c.soap) {
        error(x, path + ".extract", "`extract` reads SOAP answers (set `soap:`); a REST answer is ${as.body}");
      } else if (!x.IsMap()) {
        error(x, path + ".extract", "expected name: { xpath: ..., type: string|integer|number|boolean|list }");
      } else {
        for (const auto& kv : x) read_extract(kv.first, kv.second, path + ".extract." + kv.first.Scalar(), system, c);
      }
    }
    if (node["fail_when"]) c.fail_when = read_fail_when(node["fail_when"], path + ".fail_when");
    if (as_ok_) roots_.push_back(c.as);
    step.call = std::move(c);
  }

  // A value template (a `${...}` string keeps its value's type), checked.
  json::value value_template(const YAML::Node& node, const std::string& key) {
    auto v = to_json(node);
    check_template(node, key, v);
    return v;
  }

  std::optional<Parse> parse_kind(const YAML::Node& node, const std::string& key) {
    auto p = scalar(node, key);
    if (!p) return std::nullopt;
    static const std::map<std::string, Parse> kinds{
        {"json", Parse::json}, {"xml", Parse::xml}, {"csv", Parse::csv}, {"text", Parse::text}};
    if (auto it = kinds.find(*p); it != kinds.end()) return it->second;
    error(node, key, fmt::format("'{}' is not one of json|xml|csv|text", *p));
    return std::nullopt;
  }

  std::chrono::milliseconds duration(const YAML::Node& node, const std::string& key) {
    auto text = scalar(node, key);
    if (!text) return {};
    auto d = core::parse_duration(*text);
    if (!d || d->count() <= 0) {
      error(node, key, fmt::format("'{}' is not a duration; expected {}", *text, core::duration_syntax));
      return {};
    }
    return *d;
  }

  void read_sql(const YAML::Node& node, const std::string& path, Step& step) {
    if (!keys(node, path, {"as", "when", "system", "query", "params", "rows", "max_rows", "fail_when"},
              {"system", "query"})) {
      return;
    }
    CallSpec c;
    c.kind = CallSpec::Kind::sql;
    as_ok_ = false;
    read_target(node, path, c, {"postgres"}, "SQL");
    if (auto q = scalar(node["query"], path + ".query")) {
      c.sql = *q;
      // A template in a query would put values into its text: they go in as parameters ($1...).
      if (c.sql.find("${") != std::string::npos) {
        error(node["query"], path + ".query",
              "a query takes values only as parameters: write $1, $2... and list the values under `params` "
              "(never ${...} in the query's text)");
      }
    }
    std::size_t highest = 0;
    for (std::size_t i = 0; i + 1 < c.sql.size(); ++i) {
      if (c.sql[i] != '$' || !std::isdigit(static_cast<unsigned char>(c.sql[i + 1]))) continue;
      std::size_t n = 0;
      std::size_t j = i + 1;
      while (j < c.sql.size() && std::isdigit(static_cast<unsigned char>(c.sql[j]))) n = n * 10 + (c.sql[j++] - '0');
      highest = std::max(highest, n);
    }
    if (const auto& p = node["params"]) {
      if (!p.IsSequence()) {
        error(p, path + ".params", "expected a list of values (templates such as \"${map.customerRef}\")");
      } else {
        for (std::size_t i = 0; i < p.size(); ++i) {
          c.params.push_back(value_template(p[i], fmt::format("{}.params[{}]", path, i)));
        }
      }
    }
    if (!c.sql.empty() && highest != c.params.size()) {
      error(node["params"] ? node["params"] : node["query"], path + ".params",
            fmt::format("the query uses {} parameter{} (${}{}) and {} value{} {} listed", highest,
                        highest == 1 ? "" : "s", highest == 0 ? "" : "1..$",
                        highest == 0 ? "none" : std::to_string(highest), c.params.size(),
                        c.params.size() == 1 ? "" : "s", c.params.size() == 1 ? "is" : "are"));
    }
    if (node["rows"]) {
      auto r = scalar(node["rows"], path + ".rows");
      static const std::map<std::string, CallSpec::Rows> rows{{"one", CallSpec::Rows::one},
                                                              {"optional", CallSpec::Rows::optional},
                                                              {"many", CallSpec::Rows::many},
                                                              {"none", CallSpec::Rows::none}};
      if (r && rows.count(*r)) {
        c.rows = rows.at(*r);
      } else if (r) {
        error(node["rows"], path + ".rows", fmt::format("'{}' is not one of one|optional|many|none", *r));
      }
    }
    if (node["max_rows"]) {
      auto m = scalar(node["max_rows"], path + ".max_rows");
      std::size_t v = 0;
      auto [end, ec] = m ? std::from_chars(m->data(), m->data() + m->size(), v) : std::from_chars_result{};
      if (m && (ec != std::errc() || end != m->data() + m->size() || v == 0)) {
        error(node["max_rows"], path + ".max_rows", fmt::format("'{}' is not a whole number of at least 1", *m));
      } else if (m) {
        c.max_rows = v;
      }
    }
    if (node["fail_when"]) c.fail_when = read_fail_when(node["fail_when"], path + ".fail_when");
    if (as_ok_) roots_.push_back(c.as);
    step.call = std::move(c);
  }

  void read_file_exchange(const YAML::Node& node, const std::string& path, Step& step) {
    if (!keys(node, path, {"as", "when", "system", "write", "await", "archive", "fail_when"}, {"system", "write"})) {
      return;
    }
    CallSpec c;
    c.kind = CallSpec::Kind::file_exchange;
    as_ok_ = false;
    read_target(node, path, c, {"sftp", "dir"}, "file exchange");
    if (const auto& w = node["write"]; keys(w, path + ".write", {"name", "body"}, {"name", "body"})) {
      c.write_name = text_template(w["name"], path + ".write.name").value_or("");
      c.write_body = value_template(w["body"], path + ".write.body");
    }
    if (const auto& a = node["await"]) {
      if (keys(a, path + ".await", {"name", "timeout", "parse"}, {"name"})) {
        c.await_name = text_template(a["name"], path + ".await.name").value_or("");
        if (a["timeout"]) c.await_timeout = duration(a["timeout"], path + ".await.timeout");
        if (a["parse"]) c.parse = parse_kind(a["parse"], path + ".await.parse").value_or(Parse::json);
      }
    }
    if (node["archive"]) {
      c.archive = scalar(node["archive"], path + ".archive").value_or("");
      if (!c.archive.empty() && (c.archive.front() == '/' || c.archive.find("..") != std::string::npos)) {
        error(node["archive"], path + ".archive",
              fmt::format("'{}': a folder inside the system's folder is expected (such as done/), without .. or a "
                          "leading /",
                          c.archive));
      }
    }
    if (node["fail_when"]) c.fail_when = read_fail_when(node["fail_when"], path + ".fail_when");
    if (as_ok_) roots_.push_back(c.as);
    step.call = std::move(c);
  }

  void read_exec(const YAML::Node& node, const std::string& path, Step& step) {
    if (!keys(node, path, {"as", "when", "system", "args", "stdin", "parse", "fail_when"}, {"system"})) return;
    CallSpec c;
    c.kind = CallSpec::Kind::exec;
    as_ok_ = false;
    read_target(node, path, c, {"exec"}, "exec");
    if (const auto& a = node["args"]) {
      if (!a.IsSequence()) {
        error(a, path + ".args", "expected a list of arguments (text templates), each passed as one argument");
      } else {
        for (std::size_t i = 0; i < a.size(); ++i) {
          if (auto t = text_template(a[i], fmt::format("{}.args[{}]", path, i))) c.args.push_back(*t);
        }
      }
    }
    if (node["stdin"]) c.input = value_template(node["stdin"], path + ".stdin");
    if (node["parse"]) c.parse = parse_kind(node["parse"], path + ".parse").value_or(Parse::json);
    if (node["fail_when"]) c.fail_when = read_fail_when(node["fail_when"], path + ".fail_when");
    if (as_ok_) roots_.push_back(c.as);
    step.call = std::move(c);
  }

  void read_extract(const YAML::Node& name_node, const YAML::Node& spec, const std::string& key,
                    const config::HttpSystemConfig* system, CallSpec& c) {
    const auto& name = name_node.Scalar();
    if (!is_name(name) || name == "body" || name == "xml" || name == "http_status" || name == "headers") {
      error(name_node, key, "a name of letters, digits and '_', other than body, xml, http_status and headers");
      return;
    }
    if (!keys(spec, key, {"xpath", "type", "required"}, {"xpath"})) return;
    Extract e{name, scalar(spec["xpath"], key + ".xpath").value_or(""), Extract::Type::string, true};
    if (!e.xpath.empty()) {
      std::vector<std::string> prefixes;
      if (system) {
        for (const auto& ns : system->soap.namespaces) prefixes.push_back(ns.name);
      }
      prefixes.emplace_back("soap");
      if (auto problem = systems::soap::check_xpath(e.xpath, prefixes); !problem.empty()) {
        error(spec["xpath"], key + ".xpath", problem);
      }
    }
    if (spec["type"]) {
      static const std::map<std::string, Extract::Type> types{{"string", Extract::Type::string},
                                                              {"integer", Extract::Type::integer},
                                                              {"number", Extract::Type::number},
                                                              {"boolean", Extract::Type::boolean},
                                                              {"list", Extract::Type::list}};
      auto t = scalar(spec["type"], key + ".type");
      if (t && types.count(*t)) {
        e.type = types.at(*t);
      } else if (t) {
        error(spec["type"], key + ".type", fmt::format("'{}' is not one of string|integer|number|boolean|list", *t));
      }
    }
    if (spec["required"]) e.required = boolean(spec["required"], key + ".required").value_or(true);
    c.extract.push_back(std::move(e));
  }

  const config::ConnectorConfig& config_;
  std::string source_;
  std::vector<std::string> errors_;
  std::vector<std::pair<std::string, std::string>> systems_;  // name, kind (http, postgres, sftp, dir, exec)
  std::vector<std::string> list_names_;
  std::vector<std::string> roots_;   // data a step may read (grows with each call's `as`)
  std::vector<std::string> all_as_;  // every call's `as`
  bool as_ok_ = false;               // the call step being read has a usable `as`
};

}  // namespace

json::value yaml_to_json(const YAML::Node& node) {
  static const std::regex number(R"(-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?)");  // RFC 8259
  if (node.IsMap()) {
    json::object o;
    for (const auto& kv : node) o[kv.first.Scalar()] = yaml_to_json(kv.second);
    return o;
  }
  if (node.IsSequence()) {
    json::array a;
    for (const auto& e : node) a.push_back(yaml_to_json(e));
    return a;
  }
  if (!node.IsDefined() || node.IsNull()) return nullptr;
  const auto& s = node.Scalar();
  if (node.Tag() != "?") return json::value(s);  // quoted: a string
  if (s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  if (std::regex_match(s, number)) return core::number_from_text(s);
  return json::value(s);
}

std::shared_ptr<Flow> compile(const config::ConnectorConfig& config) { return Compiler(config).run(); }

std::vector<std::shared_ptr<observability::FlowStepMetrics>> step_metrics(const Flow& flow) {
  std::vector<std::shared_ptr<observability::FlowStepMetrics>> out;
  for (const auto& s : flow.steps) out.push_back(s.metrics);
  return out;
}

}  // namespace fxconnect::flow
