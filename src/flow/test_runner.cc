#include "flow/test_runner.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstring>
#include <deque>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <yaml-cpp/yaml.h>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/json/parse.hpp>

#include "config/config.h"
#include "core/json_exact.h"
#include "flow/flow.h"
#include "flow/transforms.h"
#include "flow/yaml_json.h"
#include "systems/soap/soap.h"

namespace fxconnect::flow {
namespace {

namespace json = boost::json;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(fmt::format("{}: cannot read the file ({})", path, std::strerror(errno)));
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool same_name(std::string_view a, std::string_view b) {  // header names: ASCII case-insensitive
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string dir_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash == 0 ? 1 : slash);
}

std::string resolve(const std::string& base_dir, const std::string& name) {
  return !name.empty() && name[0] == '/' ? name : base_dir + "/" + name;
}

std::string place(const std::string& file, const YAML::Node& n) {
  return fmt::format("{}:{}:{}", file, n.Mark().line + 1, n.Mark().column + 1);
}

// ---------------------------------------------------------------- JSON comparison
bool equal(const json::value& a, const json::value& b) {
  if (core::is_number(a) && core::is_number(b)) {
    if (a.is_double() || b.is_double()) {
      auto plain_a = core::without_raw_numbers(a), plain_b = core::without_raw_numbers(b);
      return (plain_a ? *plain_a : a).to_number<double>() == (plain_b ? *plain_b : b).to_number<double>();
    }
    return core::number_text(a) == core::number_text(b);
  }
  if (a.kind() != b.kind()) return false;
  if (a.is_object()) {
    const auto &oa = a.get_object(), &ob = b.get_object();
    if (oa.size() != ob.size()) return false;
    for (const auto& kv : oa) {
      const auto* other = ob.if_contains(kv.key());
      if (!other || !equal(kv.value(), *other)) return false;
    }
    return true;
  }
  if (a.is_array()) {
    const auto &aa = a.get_array(), &ab = b.get_array();
    if (aa.size() != ab.size()) return false;
    for (std::size_t i = 0; i < aa.size(); ++i) {
      if (!equal(aa[i], ab[i])) return false;
    }
    return true;
  }
  return a == b;
}

// Differences of `actual` from `expected`, one line per JSON path. `subset`: members of `actual`
// that `expected` does not name are fine.
void diff(const json::value& expected, const json::value& actual, const std::string& path, bool subset,
          std::vector<std::string>& out) {
  const auto* eo = expected.if_object();
  const auto* ao = actual.if_object();
  if (eo && ao && !core::raw_number_text(expected) && !core::raw_number_text(actual)) {
    for (const auto& kv : *eo) {
      std::string p = path + "." + std::string(kv.key());
      if (const auto* a = ao->if_contains(kv.key())) {
        diff(kv.value(), *a, p, subset, out);
      } else {
        out.push_back(fmt::format("{}: missing; expected {}", p, core::serialize(kv.value())));
      }
    }
    if (!subset) {
      for (const auto& kv : *ao) {
        if (!eo->contains(kv.key())) {
          out.push_back(
              fmt::format("{}.{}: not expected; got {}", path, std::string(kv.key()), core::serialize(kv.value())));
        }
      }
    }
    return;
  }
  const auto* ea = expected.if_array();
  const auto* aa = actual.if_array();
  if (ea && aa && ea->size() == aa->size()) {
    for (std::size_t i = 0; i < ea->size(); ++i) diff((*ea)[i], (*aa)[i], fmt::format("{}[{}]", path, i), subset, out);
    return;
  }
  if (!equal(expected, actual)) {
    out.push_back(fmt::format("{}: expected {}, got {}", path, core::serialize(expected), core::serialize(actual)));
  }
}

// ---------------------------------------------------------------- recorded legacy answers
struct Exchange {
  std::string where;  // of the `expect`
  YAML::Node expect;
  YAML::Node respond;
};

struct Outcome {
  std::optional<json::value> reply;
  std::optional<Error> error;
  std::vector<std::string> problems;  // unexpected calls, mismatched expectations
};

// One test case's Call: the request, recorded answers for start_http/start_soap, the outcome.
class TestCall final : public Call {
 public:
  TestCall(boost::asio::io_context& io, Request request, const config::ConnectorConfig& config,
           std::map<std::string, std::deque<Exchange>>& legacy, Outcome& outcome, std::string base_dir)
      : io_(io),
        request_(std::move(request)),
        config_(config),
        legacy_(legacy),
        outcome_(outcome),
        base_dir_(std::move(base_dir)) {}

  const Request& request() const override { return request_; }
  boost::asio::any_io_executor executor() const override { return io_.get_executor(); }
  std::chrono::steady_clock::time_point deadline() const override {
    return std::chrono::steady_clock::now() + config_.processing.deadline;
  }
  boost::asio::cancellation_slot cancellation_slot() override { return cancel_.slot(); }

  void reply(Reply reply) override {
    if (answered_++) {
      outcome_.problems.emplace_back("the flow answered twice");
      return;
    }
    auto body = core::parse_exact(reply.body);
    if (body) {
      outcome_.reply = std::move(body).value();
    } else {
      outcome_.problems.push_back("the reply is not JSON: " + reply.body);
    }
  }
  void fail(Error error) override {
    if (answered_++) {
      outcome_.problems.emplace_back("the flow answered twice");
      return;
    }
    outcome_.error = std::move(error);
  }

  void start_http(std::string_view system, HttpRequest request,
                  std::function<void(Result<HttpResponse>)> done) override {
    auto exchange = next(system, fmt::format("{} {}", request.method, request.path));
    Result<HttpResponse> answer = Error{ErrorCode::internal, "unexpected call", false, std::nullopt};
    if (exchange) {
      check_http(*exchange, request);
      answer = http_answer(system, *exchange, request);
    }
    boost::asio::post(io_, [done = std::move(done), answer = std::move(answer)]() mutable { done(std::move(answer)); });
  }

  void start_sql(std::string_view system, SqlRequest request, std::function<void(Result<SqlResult>)> done) override {
    auto exchange = next(system, "SQL " + request.query);
    Result<SqlResult> answer = Error{ErrorCode::internal, "unexpected call", false, std::nullopt};
    if (exchange) {
      expect_text(*exchange, "query", request.query);
      expect_list(*exchange, "params", request.params);
      answer = sql_answer(system, *exchange, request);
    }
    boost::asio::post(io_, [done = std::move(done), answer = std::move(answer)]() mutable { done(std::move(answer)); });
  }

  void start_file_exchange(std::string_view system, FileExchangeRequest request,
                           std::function<void(Result<FileExchangeResponse>)> done) override {
    auto exchange = next(system, "file " + request.name);
    Result<FileExchangeResponse> answer = Error{ErrorCode::internal, "unexpected call", false, std::nullopt};
    if (exchange) {
      expect_text(*exchange, "name", request.name);
      expect_text(*exchange, "body", request.body);
      expect_text(*exchange, "answer", request.answer);
      if (auto err = recorded_error(system, *exchange)) {
        answer = *err;
      } else {
        answer = FileExchangeResponse{request.answer, request.answer.empty() ? "" : recorded_body(*exchange), false};
      }
    }
    boost::asio::post(io_, [done = std::move(done), answer = std::move(answer)]() mutable { done(std::move(answer)); });
  }

  void start_exec(std::string_view system, ExecRequest request,
                  std::function<void(Result<ExecResponse>)> done) override {
    auto exchange = next(system, "exec " + fmt::format("{}", fmt::join(request.args, " ")));
    Result<ExecResponse> answer = Error{ErrorCode::internal, "unexpected call", false, std::nullopt};
    if (exchange) {
      std::vector<std::optional<std::string>> args(request.args.begin(), request.args.end());
      expect_list(*exchange, "args", args);
      expect_text(*exchange, "stdin", request.input);
      answer = exec_answer(system, *exchange);
    }
    boost::asio::post(io_, [done = std::move(done), answer = std::move(answer)]() mutable { done(std::move(answer)); });
  }

  void start_soap(std::string_view system, SoapRequest request,
                  std::function<void(Result<SoapResponse>)> done) override {
    auto exchange = next(system, fmt::format("SOAP {}", request.action));
    Result<SoapResponse> answer = Error{ErrorCode::internal, "unexpected call", false, std::nullopt};
    if (exchange) {
      check_soap(*exchange, request);
      answer = soap_answer(system, *exchange);
    }
    boost::asio::post(io_, [done = std::move(done), answer = std::move(answer)]() mutable { done(std::move(answer)); });
  }

 private:
  std::optional<Exchange> next(std::string_view system, const std::string& what) {
    auto it = legacy_.find(std::string(system));
    if (it == legacy_.end() || it->second.empty()) {
      outcome_.problems.push_back(fmt::format("unexpected call to {}: {} (no recorded answer left)", system, what));
      return std::nullopt;
    }
    auto e = std::move(it->second.front());
    it->second.pop_front();
    return e;
  }

  void mismatch(const Exchange& e, const std::string& what) {
    outcome_.problems.push_back(fmt::format("{}: expect: {}", e.where, what));
  }

  // `expect.<key>`, when given, must be what the flow sent.
  void expect_same(const Exchange& e, const char* key, const std::string& sent, const char* verb) {
    if (e.expect[key] && e.expect[key].Scalar() != sent) {
      mismatch(e, fmt::format("{} {} expected, the flow {} {}", key, e.expect[key].Scalar(), verb, sent));
    }
  }

  void check_http(const Exchange& e, const HttpRequest& r) {
    const auto& x = e.expect;
    if (!x) return;
    expect_same(e, "method", r.method, "used");
    expect_same(e, "path", r.path, "called");
    if (x["query"]) {
      for (const auto& kv : x["query"]) {
        bool found = false;
        for (const auto& [k, v] : r.query) found = found || (k == kv.first.Scalar() && v == kv.second.Scalar());
        if (!found) mismatch(e, fmt::format("query {}={} not sent", kv.first.Scalar(), kv.second.Scalar()));
      }
    }
    check_headers(e, r.headers);
    if (x["body"] || x["body_includes"]) {
      auto body = core::parse_exact(r.body);
      if (!body) return mismatch(e, "the body sent is not JSON: " + r.body);
      std::vector<std::string> d;
      bool subset = !x["body"];
      diff(yaml_to_json(subset ? x["body_includes"] : x["body"]), body.value(), "$", subset, d);
      for (const auto& line : d) mismatch(e, "body " + line);
    }
  }

  void check_soap(const Exchange& e, const SoapRequest& r) {
    const auto& x = e.expect;
    if (!x) return;
    expect_same(e, "action", r.action, "used");
    expect_same(e, "path", r.path, "called");
    check_headers(e, r.headers);
    expect_same(e, "body", r.body, "sent");
    if (const auto& inc = x["body_includes"]) {
      auto check = [&](const YAML::Node& n) {
        if (r.body.find(n.Scalar()) == std::string::npos) {
          mismatch(e, fmt::format("body_includes '{}': not in the body sent: {}", n.Scalar(), r.body));
        }
      };
      if (inc.IsSequence()) {
        for (const auto& n : inc) check(n);
      } else {
        check(inc);
      }
    }
  }

  void check_headers(const Exchange& e, const Headers& headers) {
    if (!e.expect["headers"]) return;
    for (const auto& kv : e.expect["headers"]) {
      bool found = false;
      for (const auto& h : headers) {
        found = found || (same_name(h.name, kv.first.Scalar()) && h.value == kv.second.Scalar());
      }
      if (!found) mismatch(e, fmt::format("header {}: {} not sent", kv.first.Scalar(), kv.second.Scalar()));
    }
  }

  // `expect.<key>` against text the flow sent: a YAML mapping or list is compared as JSON, a
  // scalar as text; `<key>_includes` lists pieces the text must contain.
  void expect_text(const Exchange& e, const std::string& key, const std::string& sent) {
    const auto& x = e.expect;
    if (!x) return;
    if (const auto& want = x[key]) {
      if (want.IsScalar()) {
        if (want.Scalar() != sent)
          mismatch(e, fmt::format("{} {} expected, the flow sent {}", key, want.Scalar(), sent));
      } else {
        auto got = core::parse_exact(sent);
        if (!got) return mismatch(e, fmt::format("{}: what the flow sent is not JSON: {}", key, sent));
        std::vector<std::string> d;
        diff(yaml_to_json(want), got.value(), "$", false, d);
        for (const auto& line : d) mismatch(e, fmt::format("{} {}", key, line));
      }
    }
    if (const auto& inc = x[key + "_includes"]) {
      auto check = [&](const YAML::Node& n) {
        if (sent.find(n.Scalar()) == std::string::npos) {
          mismatch(e, fmt::format("{}_includes '{}': not in what the flow sent: {}", key, n.Scalar(), sent));
        }
      };
      if (inc.IsSequence()) {
        for (const auto& n : inc) check(n);
      } else {
        check(inc);
      }
    }
  }

  // `expect.<key>`: a list of values the flow passed (NULL as null).
  void expect_list(const Exchange& e, const char* key, const std::vector<std::optional<std::string>>& sent) {
    if (!e.expect) return;
    const auto& want = e.expect[key];
    if (!want) return;
    std::vector<std::optional<std::string>> expected;
    for (const auto& n : want) {
      auto v = yaml_to_json(n);
      if (v.is_null()) {
        expected.emplace_back(std::nullopt);
      } else if (v.is_string()) {
        expected.emplace_back(std::string(v.get_string()));
      } else {
        expected.emplace_back(core::text_of(v));
      }
    }
    auto show = [](const std::vector<std::optional<std::string>>& list) {
      std::vector<std::string> out;
      out.reserve(list.size());
      for (const auto& v : list) out.push_back(v ? fmt::format("'{}'", *v) : "null");
      return fmt::format("[{}]", fmt::join(out, ", "));
    };
    if (expected != sent)
      mismatch(e, fmt::format("{} {} expected, the flow passed {}", key, show(expected), show(sent)));
  }

  // respond.<key> as a whole number in [min, max], or the run ends with exit 2 naming it.
  static std::uint64_t whole_number(const Exchange& e, const char* key, long long min, long long max) {
    const auto& text = e.respond[key].Scalar();
    long long v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size() || v < min || v > max) {
      throw ConfigError(
          fmt::format("{}: respond.{}: '{}' is not a whole number in {}..{}", e.where, key, text, min, max));
    }
    return static_cast<std::uint64_t>(v);
  }

  Result<SqlResult> sql_answer(std::string_view system, const Exchange& e, const SqlRequest& r) {
    if (auto err = recorded_error(system, e)) return *err;
    SqlResult out;
    const auto& rows = e.respond["rows"];
    if (rows && !rows.IsSequence()) {
      throw ConfigError(fmt::format("{}: respond.rows: expected a list of rows ({{ column: value }})", e.where));
    }
    // Column types from the recorded values, so that SqlResult::json() gives them back as written.
    for (const auto& row : rows) {
      if (!row.IsMap())
        throw ConfigError(fmt::format("{}: respond.rows: each row is a mapping column: value", e.where));
      std::vector<std::optional<std::string>> cells(out.columns.size());
      for (const auto& kv : row) {
        auto name = kv.first.Scalar();
        auto v = yaml_to_json(kv.second);
        auto it = std::find_if(out.columns.begin(), out.columns.end(), [&](const auto& c) { return c.name == name; });
        std::string type = v.is_null()                     ? ""
                           : v.is_bool()                   ? "bool"
                           : core::is_number(v)            ? "numeric"
                           : v.is_object() || v.is_array() ? "jsonb"
                                                           : "text";
        if (it == out.columns.end()) {
          out.columns.push_back(SqlColumn{name, type.empty() ? "text" : type});
          for (auto& earlier : out.rows) earlier.emplace_back(std::nullopt);
          cells.emplace_back();
          it = std::prev(out.columns.end());
        } else if (it->type == "text" && !type.empty()) {
          it->type = type;
        }
        std::optional<std::string> text;
        if (v.is_bool()) {
          text = v.get_bool() ? "t" : "f";
        } else if (auto n = core::number_text(v)) {
          text = *n;
        } else if (v.is_string()) {
          text = std::string(v.get_string());
        } else if (!v.is_null()) {
          text = core::serialize(v);
        }
        cells[static_cast<std::size_t>(it - out.columns.begin())] = std::move(text);
      }
      out.rows.push_back(std::move(cells));
    }
    out.affected = e.respond["affected"] ? whole_number(e, "affected", 0, 1LL << 62) : out.rows.size();
    std::size_t cap = r.max_rows ? r.max_rows : 0;
    for (const auto& s : config_.sql_systems) {
      if (s.name == system && !cap) cap = s.max_rows;
    }
    if (cap && out.rows.size() > cap) {
      return Error{ErrorCode::legacy_failed,
                   fmt::format("{}: the query returned more than {} rows (max_rows)", system, cap), false,
                   std::nullopt};
    }
    return out;
  }

  Result<ExecResponse> exec_answer(std::string_view system, const Exchange& e) {
    if (auto err = recorded_error(system, e)) return *err;
    ExecResponse out;
    out.out = recorded_body(e, "stdout");
    out.err = recorded_body(e, "stderr");
    out.exit_code = e.respond["exit_code"] ? static_cast<int>(whole_number(e, "exit_code", 0, 255)) : 0;
    if (out.exit_code == 0) return out;
    bool unavailable = false;
    for (const auto& s : config_.exec_systems) {
      if (s.name == system) {
        unavailable = std::find(s.unavailable_exit_codes.begin(), s.unavailable_exit_codes.end(), out.exit_code) !=
                      s.unavailable_exit_codes.end();
      }
    }
    return Error{unavailable ? ErrorCode::legacy_unavailable : ErrorCode::legacy_failed,
                 fmt::format("{}: the command exited with {}: {}", system, out.exit_code, out.err), unavailable,
                 std::nullopt};
  }

  std::optional<Error> recorded_error(std::string_view system, const Exchange& e) {
    if (!e.respond) return std::nullopt;
    const auto& err = e.respond["error"];
    if (!err) return std::nullopt;
    std::string code = err.IsMap() ? err["code"].Scalar() : err.Scalar();
    std::string message = err.IsMap() && err["message"] ? err["message"].Scalar() : "recorded " + code;
    for (auto c : {ErrorCode::legacy_unavailable, ErrorCode::legacy_timeout, ErrorCode::legacy_failed}) {
      if (code == to_string(c)) {
        return Error{c, fmt::format("{}: {}", system, message), c != ErrorCode::legacy_failed, std::nullopt};
      }
    }
    mismatch(e, fmt::format("respond.error '{}' is not legacy_unavailable, legacy_timeout or legacy_failed", code));
    return Error{ErrorCode::internal, "bad recorded error", false, std::nullopt};
  }

  // respond.<key> (or <key>_file, a file next to the tests file): a quoted scalar as is, anything
  // else as JSON.
  std::string recorded_body(const Exchange& e, const std::string& key = "body") {
    const auto& r = e.respond;
    if (!r) return "";
    if (r[key + "_file"]) return read_file(resolve(base_dir_, r[key + "_file"].Scalar()));
    if (!r[key]) return "";
    if (r[key].IsScalar() && r[key].Tag() != "?") return r[key].Scalar();  // quoted: text as is
    auto v = yaml_to_json(r[key]);
    return v.is_string() ? std::string(v.get_string()) : core::serialize(v);
  }

  int recorded_status(const Exchange& e, int fallback) {
    if (!e.respond["status"]) return fallback;
    const auto& text = e.respond["status"].Scalar();
    int status = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), status);
    if (ec != std::errc() || end != text.data() + text.size() || status < 100 || status > 599) {
      throw ConfigError(fmt::format("{}: respond.status: '{}' is not an HTTP status (100-599)", e.where, text));
    }
    return status;
  }

  Result<HttpResponse> http_answer(std::string_view system, const Exchange& e, const HttpRequest& r) {
    if (auto err = recorded_error(system, e)) return *err;
    HttpResponse out;
    out.status = recorded_status(e, 200);
    out.version = "1.1";
    out.body = recorded_body(e);
    if (e.respond["headers"]) {
      for (const auto& kv : e.respond["headers"]) out.headers.push_back(Header{kv.first.Scalar(), kv.second.Scalar()});
    }
    bool accepted = r.accept.empty() ? out.status >= 200 && out.status <= 299
                                     : std::find(r.accept.begin(), r.accept.end(), out.status) != r.accept.end();
    if (!accepted) {
      return Error{
          ErrorCode::legacy_failed,
          fmt::format("{}: {} {} answered HTTP {}: {}", system, r.method, r.path, out.status, out.body.substr(0, 200)),
          out.status >= 500 || out.status == 429, std::nullopt};
    }
    return out;
  }

  Result<SoapResponse> soap_answer(std::string_view system, const Exchange& e) {
    if (auto err = recorded_error(system, e)) return *err;
    const config::HttpSystemConfig* sys = nullptr;
    for (const auto& s : config_.systems) {
      if (s.name == system) sys = &s;
    }
    std::vector<std::pair<std::string, std::string>> namespaces;
    for (const auto& ns : sys->soap.namespaces) namespaces.emplace_back(ns.name, ns.value);
    std::string xml = recorded_body(e);
    bool v12 = sys->soap.version == "1.2";
    const char* env_ns = v12 ? "http://www.w3.org/2003/05/soap-envelope" : "http://schemas.xmlsoap.org/soap/envelope/";
    if (const auto& f = e.respond["fault"]) {  // a Fault without writing its envelope
      std::string code = f["code"] ? f["code"].Scalar() : (v12 ? "soap:Sender" : "soap:Client");
      std::string text = f["string"] ? f["string"].Scalar() : "fault";
      std::string body = v12 ? fmt::format(
                                   "<soap:Fault><soap:Code><soap:Value>{}</soap:Value></soap:Code><soap:Reason>"
                                   "<soap:Text xml:lang=\"en\">{}</soap:Text></soap:Reason></soap:Fault>",
                                   code, text)
                             : fmt::format(
                                   "<soap:Fault><faultcode>{}</faultcode><faultstring>{}</faultstring>"
                                   "</soap:Fault>",
                                   code, text);
      xml = fmt::format(R"(<soap:Envelope xmlns:soap="{}"><soap:Body>{}</soap:Body></soap:Envelope>)", env_ns, body);
    } else if (xml.find("Envelope") == std::string::npos) {  // only the Body's content recorded
      xml = fmt::format(R"(<soap:Envelope xmlns:soap="{}"><soap:Body>{}</soap:Body></soap:Envelope>)", env_ns, xml);
    }
    int status = recorded_status(e, e.respond["fault"] ? 500 : 200);
    return systems::soap::read_response(std::string(system), sys->soap.version, status, std::move(xml),
                                        std::move(namespaces));
  }

  boost::asio::io_context& io_;
  Request request_;
  const config::ConnectorConfig& config_;
  std::map<std::string, std::deque<Exchange>>& legacy_;
  Outcome& outcome_;
  std::string base_dir_;
  boost::asio::cancellation_signal cancel_;
  int answered_ = 0;
};

// ---------------------------------------------------------------- fixed clock and UUIDs
struct Fixed {
  std::string uuid = "00000000-0000-4000-8000-000000000001";
  std::chrono::system_clock::time_point now{std::chrono::milliseconds(1'767'225'600'000)};  // 2026-01-01T00:00:00Z
};

void read_fixed(const YAML::Node& node, const std::string& file, Fixed& fixed) {
  if (!node) return;
  if (node["uuid"]) {
    fixed.uuid = node["uuid"].Scalar();
    if (fixed.uuid.size() != 36) throw ConfigError(place(file, node["uuid"]) + ": fixed.uuid: not a UUID");
  }
  if (node["now"]) {
    auto t = DateTransform::make("iso", "epoch_ms", "UTC", "UTC");
    auto ms = t.value().apply(json::value(node["now"].Scalar()));
    if (!ms) {
      throw ConfigError(fmt::format("{}: fixed.now: {}", place(file, node["now"]), ms.error().message));
    }
    fixed.now = std::chrono::system_clock::time_point(
        std::chrono::milliseconds(ms.value().is_int64() ? ms.value().get_int64() : 0));
  }
}

// The n-th UUID of a case: `first` with n added to its last 12 hex digits.
std::string nth_uuid(const std::string& first, std::uint64_t n) {
  std::uint64_t tail = std::stoull(first.substr(24), nullptr, 16) + n;
  return first.substr(0, 24) + fmt::format("{:012x}", tail & 0xffffffffffffULL);
}

// ---------------------------------------------------------------- the expected outcome
void check_outcome(const YAML::Node& tc, const std::string& file, Outcome& o) {
  if (tc["reply"] || tc["reply_includes"]) {
    if (!o.reply) {
      o.problems.push_back(fmt::format("expected a reply, got the error {} ({}){}", to_string(o.error->code),
                                       o.error->message, o.error->field ? ", field " + *o.error->field : ""));
      return;
    }
    std::vector<std::string> d;
    bool subset = !tc["reply"];
    diff(yaml_to_json(subset ? tc["reply_includes"] : tc["reply"]), *o.reply, "$", subset, d);
    for (auto& line : d) o.problems.push_back("reply " + line);
  } else if (const auto& e = tc["error"]) {
    if (!o.error) {
      o.problems.push_back("expected an error, got the reply " + core::serialize(*o.reply));
      return;
    }
    auto mismatch = [&](const char* what, const std::string& expected, const std::string& got) {
      o.problems.push_back(
          fmt::format("error.{}: expected {}, got {} (message: {})", what, expected, got, o.error->message));
    };
    if (e["code"] && e["code"].Scalar() != to_string(o.error->code)) {
      mismatch("code", e["code"].Scalar(), std::string(to_string(o.error->code)));
    }
    if (e["field"] && e["field"].Scalar() != o.error->field.value_or("(none)")) {
      mismatch("field", e["field"].Scalar(), o.error->field.value_or("(none)"));
    }
    if (e["step"] && e["step"].Scalar() != o.error->step.value_or("(none)")) {
      mismatch("step", e["step"].Scalar(), o.error->step.value_or("(none)"));
    }
    if (e["retriable"] && (e["retriable"].Scalar() == "true") != o.error->retriable) {
      mismatch("retriable", e["retriable"].Scalar(), o.error->retriable ? "true" : "false");
    }
    for (const char* key : {"message", "message_includes"}) {
      if (!e[key]) continue;
      const auto& m = e[key].Scalar();
      bool ok =
          std::string_view(key) == "message" ? o.error->message == m : o.error->message.find(m) != std::string::npos;
      if (!ok) mismatch(key, "'" + m + "'", "'" + o.error->message + "'");
    }
  } else {
    throw ConfigError(
        fmt::format("{}: the case has no `reply`, `reply_includes` or `error` to check", place(file, tc)));
  }
}

Request make_request(const YAML::Node& r, const std::string& file, const std::string& dir, std::size_t index) {
  Request req;
  req.topic = "test";
  req.offset = static_cast<std::int64_t>(index);
  if (!r || !r.IsMap()) throw ConfigError(place(file, r) + ": request: expected { headers: ..., body: ... }");
  if (r["headers"]) {
    for (const auto& kv : r["headers"]) req.headers.push_back(Header{kv.first.Scalar(), kv.second.Scalar()});
  }
  if (!first_value(req.headers, "processInstanceUuid")) {
    req.headers.insert(req.headers.begin(), Header{"processInstanceUuid", fmt::format("test-{}", index + 1)});
  }
  req.key = std::string(req.process_instance_uuid());
  if (r["body_file"]) {
    req.body = read_file(resolve(dir, r["body_file"].Scalar()));
  } else if (r["body_text"]) {
    req.body = r["body_text"].Scalar();
  } else if (r["body"]) {
    req.body = core::serialize(yaml_to_json(r["body"]));
  } else {
    throw ConfigError(place(file, r) + ": request: set body (YAML), body_file or body_text");
  }
  boost::system::error_code ec;
  req.json = json::parse(req.body, ec);
  return req;
}

// Refuses a mapping key outside `allowed` (a typo would otherwise check nothing).
void check_keys(const YAML::Node& node, const std::string& file, const std::string& what,
                std::initializer_list<const char*> allowed) {
  if (!node.IsMap()) throw ConfigError(fmt::format("{}: {}: expected a mapping", place(file, node), what));
  for (const auto& kv : node) {
    const auto& key = kv.first.Scalar();
    if (std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; })) {
      std::string valid;
      for (const char* a : allowed) valid += (valid.empty() ? "" : ", ") + std::string(a);
      throw ConfigError(fmt::format("{}: {}.{}: unknown key; valid keys: {}", place(file, kv.first), what, key, valid));
    }
  }
}

void print_trace(std::ostream& out, const StepTrace& t) {
  out << "  step " << t.step << (t.failed ? " (failed)" : "") << "\n    in:  " << core::serialize(t.input)
      << "\n    out: " << core::serialize(t.output) << "\n";
}

}  // namespace

int run_tests(const TestOptions& options, std::ostream& out, std::ostream& err) {
  int passed = 0, failed = 0;
  try {
    std::vector<std::pair<std::string, YAML::Node>> test_files;
    std::string connector;
    for (const auto& f : options.files) {
      YAML::Node doc;
      try {
        doc = YAML::LoadFile(f);
      } catch (const YAML::BadFile&) {
        throw ConfigError(fmt::format("{}: cannot read the file", f));
      } catch (const YAML::Exception& e) {
        throw ConfigError(fmt::format("{}:{}:{}: YAML syntax: {}", f, e.mark.line + 1, e.mark.column + 1, e.msg));
      }
      if (doc.IsMap() && doc["tests"]) {
        test_files.emplace_back(f, doc);
      } else if (connector.empty()) {
        connector = f;
      } else {
        throw ConfigError(
            fmt::format("{} and {} are both connector configs; give one (tests files have `tests:`)", connector, f));
      }
    }
    if (test_files.empty()) throw ConfigError("no tests file given (a YAML file with a top-level `tests:` list)");
    for (const auto& [file, doc] : test_files) {
      if (!doc["config"]) continue;
      auto named = resolve(dir_of(file), doc["config"].Scalar());
      if (connector.empty()) connector = named;
    }
    if (connector.empty())
      throw ConfigError("no connector config: give it, or name it with `config:` in the tests file");
    auto config = config::load(connector);
    if (!config.flow.steps) {
      throw ConfigError(fmt::format("{}: has a C++ `handler`; `fxconnect test` runs a `flow`", connector));
    }
    auto flow = compile(config);

    for (const auto& [file, doc] : test_files) {
      check_keys(doc, file, "(tests file)", {"config", "fixed", "tests"});
      Fixed file_fixed;
      read_fixed(doc["fixed"], file, file_fixed);
      const auto& tests = doc["tests"];
      if (!tests.IsSequence()) throw ConfigError(place(file, tests) + ": tests: expected a list of cases");
      for (std::size_t i = 0; i < tests.size(); ++i) {
        const auto& tc = tests[i];
        std::string name = tc["name"] ? tc["name"].Scalar() : fmt::format("{} case {}", file, i + 1);
        if (!options.only.empty() && name.find(options.only) == std::string::npos) continue;
        Fixed fixed = file_fixed;
        read_fixed(tc["fixed"], file, fixed);
        check_keys(tc, file, "tests[]", {"name", "request", "legacy", "reply", "reply_includes", "error", "fixed"});
        std::map<std::string, std::deque<Exchange>> legacy;
        if (const auto& l = tc["legacy"]) {
          if (!l.IsMap()) throw ConfigError(place(file, l) + ": legacy: expected system: [ { expect, respond }, ... ]");
          for (const auto& kv : l) {
            const auto& system = kv.first.Scalar();
            std::vector<std::string> all;
            for (const auto& sys : config.systems) all.push_back(sys.name);
            for (const auto& sys : config.sql_systems) all.push_back(sys.name);
            for (const auto& sys : config.file_systems) all.push_back(sys.name);
            for (const auto& sys : config.exec_systems) all.push_back(sys.name);
            if (std::find(all.begin(), all.end(), system) == all.end()) {
              std::string names = fmt::format("{}", fmt::join(all, ", "));
              throw ConfigError(fmt::format("{}: legacy.{}: not a system of {}; its systems: {}", place(file, kv.first),
                                            system, connector, names.empty() ? "(none)" : names));
            }
            if (!kv.second.IsSequence()) {
              throw ConfigError(place(file, kv.second) + ": legacy." + system +
                                ": expected a list of { expect, respond } (in call order; [] for none)");
            }
            for (const auto& x : kv.second) check_keys(x, file, "legacy." + system + "[]", {"expect", "respond"});
            auto& queue = legacy[kv.first.Scalar()];
            for (const auto& x : kv.second) {
              // No `respond`: an empty answer (a write-only file exchange, a command's silence).
              queue.push_back(
                  Exchange{place(file, x), x["expect"], x["respond"] ? x["respond"] : YAML::Node(YAML::NodeType::Map)});
            }
          }
        }
        Outcome outcome;
        boost::asio::io_context io;
        std::uint64_t uuids = 0;
        Environment env{[now = fixed.now] { return now; },
                        [&uuids, first = fixed.uuid] { return nth_uuid(first, uuids++); }};
        if (options.explain) out << "case " << name << "\n";
        Explain explain;
        if (options.explain) explain = [&out](const StepTrace& t) { print_trace(out, t); };
        auto handler = make_handler(flow, env, explain);
        auto call = std::make_shared<TestCall>(io, make_request(tc["request"], file, dir_of(file), i), config, legacy,
                                               outcome, dir_of(file));
        handler->handle(std::move(call));
        io.run();
        if (!outcome.reply && !outcome.error) outcome.problems.emplace_back("the flow gave no answer");
        if (outcome.reply || outcome.error) check_outcome(tc, file, outcome);
        for (const auto& [system, left] : legacy) {
          for (const auto& x : left) {
            outcome.problems.push_back(fmt::format("{}: expected call to {} was not made", x.where, system));
          }
        }
        if (outcome.problems.empty()) {
          ++passed;
          out << "ok    " << name << "\n";
        } else {
          ++failed;
          out << "FAIL  " << name << "\n";
          for (const auto& p : outcome.problems) out << "      " << p << "\n";
        }
      }
    }
  } catch (const ConfigError& e) {
    err << e.what() << "\n";
    return 2;
  } catch (const YAML::Exception& e) {
    err << "tests file: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {  // a value of the wrong kind in a tests file (status: abc)
    err << "tests file: " << e.what() << "\n";
    return 2;
  }
  out << passed << " passed, " << failed << " failed\n";
  return failed == 0 ? 0 : 1;
}

}  // namespace fxconnect::flow
