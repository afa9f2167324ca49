#include "engine/definition.h"

#include <cmath>

#include <cerrno>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <yaml-cpp/yaml.h>

#include "config/config.h"
#include "core/regex.h"
#include "core/template.h"
#include "fxconnect/handler.h"

namespace fxconnect::engine {
using namespace core;  // NOLINT(google-build-using-namespace): templates are the engine's language
namespace {

// YAML → JSON for message templates and sample data (scalars stay strings unless they read as
// numbers, booleans or null, as YAML means them).
boost::json::value to_json(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      boost::json::object o;
      for (const auto& kv : node) o[kv.first.Scalar()] = to_json(kv.second);
      return o;
    }
    case YAML::NodeType::Sequence: {
      boost::json::array a;
      for (const auto& v : node) a.push_back(to_json(v));
      return a;
    }
    case YAML::NodeType::Scalar: {
      const std::string& s = node.Scalar();
      if (node.Tag() == "!") return boost::json::string(s);  // quoted: a string, always
      if (s == "true") return true;
      if (s == "false") return false;
      if (s == "null" || s == "~") return nullptr;
      // Numbers as JSON writes them; anything else (nan, inf, 0x10, 1_000) stays text.
      static const std::regex number(R"(-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?)");
      if (!std::regex_match(s, number)) return boost::json::string(s);
      errno = 0;
      char* end = nullptr;
      long long i = std::strtoll(s.c_str(), &end, 10);
      if (*end == '\0' && errno != ERANGE) return i;
      return std::strtod(s.c_str(), nullptr);
    }
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined: return nullptr;
  }
  return nullptr;
}

class Checker {
 public:
  explicit Checker(std::string source) : source_(std::move(source)) {}
  std::string place(const YAML::Node& n) const {
    return fmt::format("{}:{}:{}", source_, n.Mark().line + 1, n.Mark().column + 1);
  }
  void error(const YAML::Node& n, const std::string& what) { errors_.push_back(place(n) + ": " + what); }
  // The keys of `map` must be among `allowed`.
  void only(const YAML::Node& map, const std::string& where, std::initializer_list<std::string> allowed) {
    for (const auto& kv : map) {
      auto key = kv.first.Scalar();
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        error(kv.first, fmt::format("{}.{}: unknown key; valid keys: {}", where, key, fmt::join(allowed, ", ")));
      }
    }
  }
  std::string text(const YAML::Node& map, const std::string& key, const std::string& where, bool required) {
    auto n = map[key];
    if (!n) {
      if (required) error(map, fmt::format("{}: `{}` is required", where, key));
      return {};
    }
    if (!n.IsScalar() || n.Scalar().empty()) {
      error(n, fmt::format("{}.{}: expected a non-empty text", where, key));
      return {};
    }
    return n.Scalar();
  }
  const std::vector<std::string>& errors() const { return errors_; }

 private:
  std::string source_;
  std::vector<std::string> errors_;
};

}  // namespace

std::optional<std::chrono::milliseconds> parse_iso_duration(std::string_view text) {
  static const std::regex re(R"(P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d{1,3})?)S)?)?)");
  std::smatch m;  // the whole text: a NUL byte does not end it
  std::string s(text);
  if (s == "P" || s == "PT" || s.empty() || s.back() == 'T' || !std::regex_match(s, m, re)) return std::nullopt;
  // strtod, not stod: a number too large for a double is +inf here, not std::out_of_range.
  auto num = [&](int i) { return m[i].matched ? std::strtod(m[i].str().c_str(), nullptr) : 0.0; };
  double ms = num(1) * 86'400'000 + num(2) * 3'600'000 + num(3) * 60'000 + num(4) * 1000;
  // Past what milliseconds hold (~292 million years), llround's result is unspecified.
  if (!(ms < 9.2e18)) return std::nullopt;
  return std::chrono::milliseconds(std::llround(ms));
}

std::vector<std::string> ProcessDefinition::receive_topics() const {
  std::vector<std::string> out;
  for (const auto& n : nodes) {
    if (auto* r = std::get_if<ReceiveNode>(&n); r && std::find(out.begin(), out.end(), r->topic) == out.end()) {
      out.push_back(r->topic);
    }
  }
  return out;
}

std::vector<std::string> ProcessDefinition::send_topics() const {
  std::vector<std::string> out;
  for (const auto& n : nodes) {
    if (auto* s = std::get_if<SendNode>(&n); s && std::find(out.begin(), out.end(), s->topic) == out.end()) {
      out.push_back(s->topic);
    }
  }
  return out;
}

ProcessDefinition parse_definition(const std::string& yaml, const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    throw ConfigError(fmt::format("{}:{}:{}: YAML syntax: {}", source, e.mark.line + 1, e.mark.column + 1, e.msg));
  }
  Checker c(source);
  ProcessDefinition d;
  d.source = source;
  if (!root.IsMap()) throw ConfigError(source + ":1:1: a process definition is a mapping; see docs/engine.md");
  c.only(root, "process definition", {"process", "engine_pattern", "sample_data", "nodes"});
  d.name = c.text(root, "process", "process definition", true);
  if (root["engine_pattern"]) d.engine_pattern = c.text(root, "engine_pattern", "process definition", false);
  try {
    (void)make_regex(d.engine_pattern);
  } catch (const std::regex_error& e) {
    c.error(root["engine_pattern"], fmt::format("engine_pattern: not a valid regular expression ({})", e.what()));
  }
  if (auto sd = root["sample_data"]) {
    if (!sd.IsMap()) {
      c.error(sd, "sample_data: expected a mapping (the process data of each instance)");
    } else {
      d.sample_data = to_json(sd).as_object();
    }
  }
  auto nodes = root["nodes"];
  if (!nodes || !nodes.IsSequence() || nodes.size() == 0) {
    c.error(nodes ? nodes : root, "nodes: expected a list of send / receive / gateway nodes");
  }
  std::set<std::string> names;
  bool awaiting_receive = false;
  for (std::size_t i = 0; nodes && nodes.IsSequence() && i < nodes.size(); ++i) {
    const YAML::Node& n = nodes[i];
    std::string where = fmt::format("nodes[{}]", i);
    if (!n.IsMap()) {
      c.error(n, where + ": expected a mapping with one of send, receive, gateway");
      continue;
    }
    int kinds = (n["send"] ? 1 : 0) + (n["receive"] ? 1 : 0) + (n["gateway"] ? 1 : 0);
    if (kinds != 1) {
      c.error(n, where + ": name the node with exactly one of `send: NAME`, `receive: NAME`, `gateway: NAME`");
      continue;
    }
    if (n["send"]) {
      c.only(n, where, {"send", "topic", "message", "headers"});
      SendNode s{c.text(n, "send", where, true), c.text(n, "topic", where, true), nullptr, {}};
      if (!n["message"]) {
        c.error(n, where + ": `message` is required (the JSON the node sends; ${path} placeholders allowed)");
      } else {
        s.message = to_json(n["message"]);
        for (const auto& problem : check_template(s.message))
          c.error(n["message"], fmt::format("{}.message: {}", where, problem));
      }
      if (auto h = n["headers"]) {
        if (!h.IsMap()) c.error(h, where + ".headers: expected a mapping of header name → value template");
        for (const auto& kv : h.IsMap() ? h : YAML::Node(YAML::NodeType::Map)) {
          if (!kv.second.IsScalar()) {
            c.error(kv.second, where + ".headers." + kv.first.Scalar() + ": expected a single value");
            continue;
          }
          s.headers.emplace_back(kv.first.Scalar(), kv.second.Scalar());
        }
      }
      if (!names.insert(s.name).second && !s.name.empty())
        c.error(n["send"], where + ": node name '" + s.name + "' is used twice");
      if (awaiting_receive) c.error(n, where + ": a send node must be followed by a receive node before the next send");
      awaiting_receive = true;
      d.nodes.emplace_back(std::move(s));
    } else if (n["receive"]) {
      c.only(n, where, {"receive", "topic", "key", "timeout"});
      ReceiveNode r{
          c.text(n, "receive", where, true), c.text(n, "topic", where, true), c.text(n, "key", where, true), {}};
      auto timeout = n["timeout"] ? c.text(n, "timeout", where, false) : std::string("PT30S");
      if (auto t = parse_iso_duration(timeout); t && t->count() > 0) {
        r.timeout = *t;
      } else if (n["timeout"]) {
        c.error(n["timeout"], fmt::format("{}.timeout: '{}' is not an ISO 8601 duration such as PT30S, PT1M30S, PT0.5S",
                                          where, timeout));
      }
      if (!r.topic.empty() && !config::topic_matches(d.engine_pattern, r.topic)) {
        c.error(n["topic"],
                fmt::format("{}.topic: '{}' does not match engine_pattern '{}'; the engine would never read it", where,
                            r.topic, d.engine_pattern));
      }
      if (!r.key.empty() && r.key.find_first_of(".[]@ ") != std::string::npos) {
        c.error(n["key"], fmt::format("{}.key: '{}' must be a plain name (no dots, brackets or @): the reply is stored "
                                      "under it at the top of the process data",
                                      where, r.key));
      }
      if (!awaiting_receive) c.error(n, where + ": a receive node waits for the reply to a send node before it");
      awaiting_receive = false;
      if (!names.insert(r.name).second && !r.name.empty())
        c.error(n["receive"], where + ": node name '" + r.name + "' is used twice");
      d.nodes.emplace_back(std::move(r));
    } else {
      c.only(n, where, {"gateway", "error_if_present", "end_if_present"});
      GatewayNode g{c.text(n, "gateway", where, true), {}};
      for (const auto& kv : n) {  // in the order written: the first condition that holds wins
        auto key = kv.first.Scalar();
        if (key == "error_if_present" || key == "end_if_present") {
          g.branches.push_back({c.text(n, key, where, false),
                                key == "error_if_present" ? GatewayNode::End::error : GatewayNode::End::ok});
        }
      }
      if (g.branches.empty())
        c.error(n, where + ": a gateway needs `error_if_present: PATH` or `end_if_present: PATH`");
      for (const auto& b : g.branches) {
        if (!b.present.empty() && (!valid_path(b.present) || b.present[0] == '@')) {
          c.error(n, fmt::format("{}: '{}' is not a path into the process data such as a.b[0].c", where, b.present));
        }
      }
      d.nodes.emplace_back(std::move(g));
    }
  }
  if (awaiting_receive) c.error(root["nodes"], "nodes: the last send node has no receive node after it");
  if (!c.errors().empty()) throw ConfigError(fmt::format("{}", fmt::join(c.errors(), "\n")));
  return d;
}

ProcessDefinition load_definition(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw ConfigError(path + ": cannot read the file");
  std::stringstream s;
  s << f.rdbuf();
  return parse_definition(s.str(), path);
}

}  // namespace fxconnect::engine
