// Running a compiled flow for one request: the steps in order on the loop thread; a call step
// waits for its answer without holding the thread. Every way out ends in call->reply or call->fail.
#include <charconv>
#include <chrono>

#include <fmt/format.h>
#include <boost/json/object.hpp>

#include "core/json_exact.h"
#include "core/template.h"
#include "flow/steps.h"
#include "observability/logging.h"
#include "systems/soap/soap.h"

namespace fxconnect::flow {
namespace {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

Error with_prefix(Error e, const std::string& prefix) {
  e.message = prefix + ": " + e.message;
  return e;
}

// The root of a data path (`account` of `account.body.id`).
std::string_view root_of(std::string_view path) { return path.substr(0, path.find_first_of(".[")); }

struct Hooks {
  Environment env;
  Explain explain;
};

class Run : public std::enable_shared_from_this<Run> {
 public:
  Run(std::shared_ptr<Flow> flow, std::shared_ptr<Call> call, std::shared_ptr<const Hooks> hooks)
      : flow_(std::move(flow)),
        call_(std::move(call)),
        hooks_(std::move(hooks)),
        env_(hooks_->env),
        explain_(hooks_->explain) {}

  void start() {
    const auto& request = call_->request();
    vars_.uuid = std::string(request.process_instance_uuid());
    vars_.data_name = "the request's data";
    // The body again, with numbers exact (the runtime's parse keeps doubles).
    auto body = core::parse_exact(request.body);
    if (!body) return call_->fail(with_prefix(body.error(), "request"));
    json::object headers;
    for (const auto& h : request.headers) {
      if (!headers.contains(h.name)) headers[h.name] = h.value ? json::value(*h.value) : json::value(nullptr);
    }
    auto& data = data_.as_object();
    data["request"] = std::move(body).value();
    data["headers"] = std::move(headers);
    data["map"] = json::object();
    advance();
  }

 private:
  // Runs steps until one waits (a call) or the flow ends.
  void advance() {
    while (next_ < flow_->steps.size()) {
      const Step& step = flow_->steps[next_++];
      started_ = Clock::now();
      span_ = call_->start_span("flow " + step.name);
      if (explain_) input_ = data_;
      if (step.kind == Step::Kind::call) {
        if (!step.call->when) return start_call(step);
        auto holds = step.call->when->test(core::serialize(data_), flow_->jq_input_bytes);
        if (!holds) {
          end_step(
              step,
              Error{ErrorCode::handler_failed,
                    fmt::format("{}: when '{}': {}", step.name, step.call->when->expression(), holds.error().message),
                    false, std::nullopt},
              nullptr);
          return;
        }
        if (holds.value()) return start_call(step);
        if (!end_step(step, std::nullopt, json::value("skipped: `when` does not hold"))) return;
        continue;
      }
      json::value output;
      auto error = run_step(step, output);
      if (!end_step(step, error, std::move(output))) return;
      if (step.kind == Step::Kind::reply) return;  // answered
    }
  }

  // Ends a step: metrics, span, explain; on error answers the request. False when it failed.
  bool end_step(const Step& step, const std::optional<Error>& error, json::value output) {
    step.metrics->seconds.observe(std::chrono::duration<double>(Clock::now() - started_).count());
    if (explain_) {
      explain_(StepTrace{step.name, std::move(input_),
                         error ? json::value(json::object{{"error", to_string(error->code)},
                                                          {"message", error->message},
                                                          {"field", error->field ? *error->field : ""}})
                               : std::move(output),
                         error.has_value()});
    }
    if (error) {
      ++step.metrics->failures;
      span_->fail(error->message);
      span_->end();
      Error e = *error;
      if (!e.step) e.step = step.name;
      call_->fail(std::move(e));
      return false;
    }
    span_->end();
    return true;
  }

  std::optional<Error> run_step(const Step& step, json::value& output) {
    switch (step.kind) {
      case Step::Kind::validate: return validate(step);
      case Step::Kind::map: return map(step, output);
      case Step::Kind::fail_when: return check(step.fail_when, step.name);
      case Step::Kind::reply: {
        auto body = render(step.reply, step.name);
        if (!body) return body.error();
        output = body.value();
        call_->reply(Reply{core::serialize(body.value())});
        return std::nullopt;
      }
      case Step::Kind::call: break;
    }
    return Error{ErrorCode::internal, step.name + ": not a synchronous step", false, std::nullopt};
  }

  // ---------------------------------------------------------------- validate
  std::optional<Error> validate(const Step& step) {
    const auto& body = data_.as_object().at("request");
    auto plain = core::without_raw_numbers(body);
    auto problems = step.schema->validate(plain ? *plain : body);
    if (problems.empty()) return std::nullopt;
    const auto& first = problems.front();
    std::string field = first.field.empty() ? "request" : "request." + first.field;
    std::string more = problems.size() > 1 ? fmt::format(" (and {} more problem{})", problems.size() - 1,
                                                         problems.size() > 2 ? "s" : "")
                                           : "";
    return Error{ErrorCode::invalid_request, fmt::format("{}: {}{}", field, first.message, more), false, field};
  }

  // ---------------------------------------------------------------- map
  std::optional<Error> map(const Step& step, json::value& output) {
    json::object added;
    for (const auto& f : step.fields) {
      auto value = field(f);
      if (!value) return value.error();
      if (!value.value()) continue;  // absent and not required
      data_.as_object()["map"].as_object()[f.name] = *value.value();
      if (explain_) added[f.name] = std::move(*value.value());
    }
    output = std::move(added);
    return std::nullopt;
  }

  Result<std::optional<json::value>> field(const MapField& f) {
    std::string name = f.source == MapField::Source::from ? f.path : "map." + f.name;
    auto fail = [&](const Error& e) -> Error {
      Error out = e;
      out.message = name + ": " + e.message;
      if (out.code == ErrorCode::invalid_request && !out.field) out.field = name;
      return out;
    };
    json::value v;
    switch (f.source) {
      case MapField::Source::from: {
        const auto* found = core::lookup(data_, f.path);
        if (!found) {
          if (f.default_value) return std::optional<json::value>(*f.default_value);
          if (!f.required) return std::optional<json::value>();
          return fail(
              Error{ErrorCode::invalid_request, fmt::format("missing (map.{} needs it)", f.name), false, std::nullopt});
        }
        v = *found;
        break;
      }
      case MapField::Source::value: {
        auto r = render(f.value, "map." + f.name);
        if (!r) return r.error();
        v = std::move(r).value();
        break;
      }
      case MapField::Source::uuid: v = json::value(env_.uuid ? env_.uuid() : uuid_v4()); break;
      case MapField::Source::now: v = json::value(f.now->format(env_.now())); break;
      case MapField::Source::jq: {
        auto r = f.jq->first(core::serialize(data_), flow_->jq_input_bytes);
        if (!r) return fail(Error{ErrorCode::handler_failed, "jq: " + r.error().message, false, std::nullopt});
        v = std::move(r).value();
        break;
      }
    }
    auto step = [&](Result<json::value> r) -> std::optional<Error> {
      if (!r) return fail(r.error());
      v = std::move(r).value();
      return std::nullopt;
    };
    if (f.trim) {
      if (auto e = step(trim(v))) return *e;
    }
    if (f.upper) {
      if (auto e = step(upper(v))) return *e;
    }
    if (f.lower) {
      if (auto e = step(lower(v))) return *e;
    }
    if (f.date) {
      if (auto e = step(f.date->apply(v))) return *e;
    }
    if (f.lookup) {
      std::string key;
      if (const auto* s = v.if_string()) {
        key = std::string(s->data(), s->size());
      } else if (auto n = core::number_text(v)) {
        key = *n;
      } else {
        return fail(
            Error{ErrorCode::invalid_request,
                  fmt::format("expected a string to look up in list {}, got {}", f.lookup->name(), type_name(v)), false,
                  std::nullopt});
      }
      auto found = f.lookup->find(key);
      if (!found) return fail(f.lookup->not_found(key));
      v = json::value(std::string(*found));
    }
    if (f.minor_units) {
      auto currency = core::render_text(*f.minor_units, data_, vars_);
      if (!currency) return fail(currency.error());
      std::string code = currency.value();
      for (auto& c : code) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      if (auto e = step(to_minor_units(v, code))) return *e;
    }
    switch (f.type) {
      case MapField::Type::number:
        if (auto e = step(to_number(v))) return *e;
        break;
      case MapField::Type::string:
        if (auto e = step(to_string(v))) return *e;
        break;
      case MapField::Type::boolean:
        if (auto e = step(to_boolean(v))) return *e;
        break;
      case MapField::Type::none: break;
    }
    return std::optional<json::value>(std::move(v));
  }

  // ---------------------------------------------------------------- templates
  // A template over the data; a missing path is an error whose code says whose data lacks it.
  Result<json::value> render(const json::value& tmpl, const std::string& step) {
    auto r = core::render(tmpl, data_, vars_);
    if (r) return r;
    return placeholder_error(r.error(), step);
  }
  Result<std::string> render_text(const std::string& tmpl, const std::string& step, core::Escape escape = nullptr) {
    auto r = core::render_text(tmpl, data_, vars_, escape);
    if (r) return r;
    return placeholder_error(r.error(), step);
  }
  Error placeholder_error(Error e, const std::string& step) {
    e.message = step + ": " + e.message;
    if (!e.field) {
      e.code = ErrorCode::internal;
      return e;
    }
    auto root = root_of(*e.field);
    if (root == "request") return e;  // invalid_request, naming the request's field
    e.code = root == "map" || root == "headers" ? ErrorCode::handler_failed : ErrorCode::legacy_failed;
    e.field.reset();
    return e;
  }

  // ---------------------------------------------------------------- fail_when
  std::optional<Error> check(const std::vector<FailWhen>& conditions, const std::string& step) {
    if (conditions.empty()) return std::nullopt;
    std::string input = core::serialize(data_);
    for (const auto& c : conditions) {
      auto holds = c.condition.test(input, flow_->jq_input_bytes);
      if (!holds) {
        return Error{ErrorCode::handler_failed,
                     fmt::format("{}: fail_when '{}': {}", step, c.condition.expression(), holds.error().message),
                     false, std::nullopt};
      }
      if (!holds.value()) continue;
      std::string message = fmt::format("{}: {}", step, c.condition.expression());
      if (c.message) {
        auto text = c.message->first(input, flow_->jq_input_bytes);
        if (text && text->is_string()) {
          message = std::string(text->get_string());
        } else if (text) {
          message = core::text_of(text.value());
        } else {
          message += " (message: " + text.error().message + ")";
        }
      }
      return Error{c.code, std::move(message), c.retriable, c.field};
    }
    return std::nullopt;
  }

  // ---------------------------------------------------------------- call
  void start_call(const Step& step) {
    switch (step.call->kind) {
      case CallSpec::Kind::http: return start_http(step);
      case CallSpec::Kind::sql: return start_sql(step);
      case CallSpec::Kind::file_exchange: return start_file_exchange(step);
      case CallSpec::Kind::exec: return start_exec(step);
    }
  }

  // A step that fails before its call is made.
  void fail_step(const Step& step, const Error& error) { end_step(step, error, nullptr); }

  // A rendered value as text: a string as it is, anything else as JSON.
  static std::string as_text(const json::value& v) {
    if (const auto* s = v.if_string()) return std::string(s->data(), s->size());
    return core::serialize(v);
  }

  // ---------------------------------------------------------------- sql
  void start_sql(const Step& step) {
    const CallSpec& c = *step.call;
    SqlRequest req;
    req.query = c.sql;
    req.max_rows = c.max_rows;
    for (const auto& p : c.params) {
      auto v = render(p, step.name);
      if (!v) return fail_step(step, v.error());
      if (v.value().is_null()) {
        req.params.emplace_back(std::nullopt);
      } else if (auto n = core::number_text(v.value())) {
        req.params.emplace_back(*n);  // exact digits
      } else if (v.value().is_bool()) {
        req.params.emplace_back(v.value().get_bool() ? "true" : "false");
      } else {
        req.params.emplace_back(as_text(v.value()));
      }
    }
    auto self = shared_from_this();
    call_->start_sql(c.system, std::move(req),
                     [self, &step](Result<SqlResult> answer) { self->sql_answered(step, std::move(answer)); });
  }

  void sql_answered(const Step& step, Result<SqlResult> answer) {
    const CallSpec& c = *step.call;
    if (!answer) return call_done(step, with_prefix(answer.error(), step.name));
    auto rows = core::parse_exact(answer.value().json());
    if (!rows || !rows.value().is_array()) {
      return call_done(
          step, Error{ErrorCode::internal, step.name + ": the rows could not be read as JSON", false, std::nullopt});
    }
    auto& list = rows.value().as_array();
    auto count = [&] { return fmt::format("{} row{}", list.size(), list.size() == 1 ? "" : "s"); };
    json::value out;
    switch (c.rows) {
      case CallSpec::Rows::one:
        if (list.size() != 1) {
          return call_done(step, Error{ErrorCode::legacy_failed,
                                       fmt::format("{}: expected exactly one row, the query returned {} (rows: one; "
                                                   "`rows: optional` allows none)",
                                                   step.name, count()),
                                       false, std::nullopt});
        }
        out = std::move(list.front());
        break;
      case CallSpec::Rows::optional:
        if (list.size() > 1) {
          return call_done(
              step, Error{ErrorCode::legacy_failed,
                          fmt::format("{}: expected at most one row, the query returned {}", step.name, count()), false,
                          std::nullopt});
        }
        if (!list.empty()) out = std::move(list.front());
        break;
      case CallSpec::Rows::many: out = std::move(rows).value(); break;
      case CallSpec::Rows::none: out = json::object{{"affected", answer.value().affected}}; break;
    }
    data_.as_object()[c.as] = std::move(out);
    call_done(step, check(c.fail_when, step.name));
  }

  // ---------------------------------------------------------------- file_exchange
  void start_file_exchange(const Step& step) {
    const CallSpec& c = *step.call;
    FileExchangeRequest req;
    auto name = render_text(c.write_name, step.name);
    if (!name) return fail_step(step, name.error());
    req.name = std::move(name).value();
    auto body = render(c.write_body, step.name);
    if (!body) return fail_step(step, body.error());
    req.body = as_text(body.value());
    if (!c.await_name.empty()) {
      auto answer = render_text(c.await_name, step.name);
      if (!answer) return fail_step(step, answer.error());
      req.answer = std::move(answer).value();
    }
    req.timeout = c.await_timeout;
    req.archive = c.archive;
    auto self = shared_from_this();
    call_->start_file_exchange(c.system, std::move(req), [self, &step](Result<FileExchangeResponse> answer) {
      self->file_answered(step, std::move(answer));
    });
  }

  void file_answered(const Step& step, Result<FileExchangeResponse> answer) {
    const CallSpec& c = *step.call;
    if (!answer) return call_done(step, with_prefix(answer.error(), step.name));
    json::value out;
    if (!c.await_name.empty()) {
      auto parsed = parse_answer(c.parse, answer.value().body, fmt::format("{}: {}", step.name, answer.value().name));
      if (!parsed) return call_done(step, parsed.error());
      out = std::move(parsed).value();
    }
    data_.as_object()[c.as] = std::move(out);
    call_done(step, check(c.fail_when, step.name));
  }

  // ---------------------------------------------------------------- exec
  void start_exec(const Step& step) {
    const CallSpec& c = *step.call;
    ExecRequest req;
    for (const auto& a : c.args) {
      auto v = render_text(a, step.name);
      if (!v) return fail_step(step, v.error());
      req.args.push_back(std::move(v).value());
    }
    if (c.input) {
      auto in = render(*c.input, step.name);
      if (!in) return fail_step(step, in.error());
      req.input = as_text(in.value());
    }
    auto self = shared_from_this();
    call_->start_exec(c.system, std::move(req),
                      [self, &step](Result<ExecResponse> answer) { self->exec_answered(step, std::move(answer)); });
  }

  void exec_answered(const Step& step, Result<ExecResponse> answer) {
    const CallSpec& c = *step.call;
    if (!answer) return call_done(step, with_prefix(answer.error(), step.name));
    auto parsed = parse_answer(c.parse, answer.value().out, step.name + ": stdout");
    if (!parsed) return call_done(step, parsed.error());
    data_.as_object()[c.as] = std::move(parsed).value();
    call_done(step, check(c.fail_when, step.name));
  }

  // A legacy system's text as data; text that is not of its declared form is legacy_failed.
  static Result<json::value> parse_answer(Parse parse, const std::string& text, const std::string& what) {
    auto failed = [&](const std::string& why) {
      return Error{ErrorCode::legacy_failed, fmt::format("{}: {}: {}", what, why, observability::log_safe(text, 200)),
                   false, std::nullopt};
    };
    switch (parse) {
      case Parse::text: return json::value(text);
      case Parse::json: {
        auto v = core::parse_exact(text);
        if (!v) return failed("not JSON (parse: json)");
        return v;
      }
      case Parse::xml: {
        auto v = systems::soap::xml_to_json(text);
        if (!v) return failed("not well-formed XML (parse: xml)");
        return v;
      }
      case Parse::csv: {
        auto v = csv_to_json(text, what);
        if (!v) return Error{ErrorCode::legacy_failed, v.error().message, false, std::nullopt};
        return v;
      }
    }
    return json::value(text);
  }

  // ---------------------------------------------------------------- call (HTTP)
  void start_http(const Step& step) {
    const CallSpec& c = *step.call;
    auto fail = [&](const Error& e) { end_step(step, e, nullptr); };
    auto path = render_text(c.path, step.name);
    if (!path) return fail(path.error());
    Headers headers;
    for (const auto& [name, tmpl] : c.headers) {
      auto v = render_text(tmpl, step.name);
      if (!v) return fail(v.error());
      headers.push_back(Header{name, std::move(v).value()});
    }
    auto self = shared_from_this();
    if (c.soap) {
      SoapRequest req;
      req.path = std::move(path).value();
      req.action = c.action;
      req.headers = std::move(headers);
      auto xml = render_text(c.xml, step.name, &fxconnect::xml_escape);
      if (!xml) return fail(xml.error());
      req.body = std::move(xml).value();
      call_->start_soap(c.system, std::move(req),
                        [self, &step](Result<SoapResponse> answer) { self->soap_answered(step, std::move(answer)); });
      return;
    }
    HttpRequest req;
    req.method = c.method;
    req.path = std::move(path).value();
    req.headers = std::move(headers);
    req.accept = c.accept;
    for (const auto& [name, tmpl] : c.query) {
      auto v = render_text(tmpl, step.name);
      if (!v) return fail(v.error());
      req.query.emplace_back(name, std::move(v).value());
    }
    if (c.body) {
      auto body = render(*c.body, step.name);
      if (!body) return fail(body.error());
      req.body = core::serialize(body.value());
      req.headers.push_back(Header{"Content-Type", std::string("application/json")});
    }
    call_->start_http(c.system, std::move(req),
                      [self, &step](Result<HttpResponse> answer) { self->http_answered(step, std::move(answer)); });
  }

  void http_answered(const Step& step, Result<HttpResponse> answer) {
    const CallSpec& c = *step.call;
    if (!answer) return call_done(step, with_prefix(answer.error(), step.name));
    auto& r = answer.value();
    json::object headers;
    for (const auto& h : r.headers) {
      std::string name = h.name;
      for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (!headers.contains(name)) headers[name] = h.value ? json::value(*h.value) : json::value(nullptr);
    }
    json::value body = json::value(r.body);
    auto first = r.body.find_first_not_of(" \t\r\n");
    if (first != std::string::npos &&
        (r.body[first] == '{' || r.body[first] == '[' || r.body[first] == '"' ||
         (r.header("content-type").value_or("").find("json") != std::string_view::npos))) {
      if (auto parsed = core::parse_exact(r.body)) body = std::move(parsed).value();
    }
    data_.as_object()[c.as] =
        json::object{{"status", r.status}, {"headers", std::move(headers)}, {"body", std::move(body)}};
    call_done(step, check(c.fail_when, step.name));
  }

  void soap_answered(const Step& step, Result<SoapResponse> answer) {
    const CallSpec& c = *step.call;
    if (!answer) return call_done(step, with_prefix(answer.error(), step.name));
    const auto& r = answer.value();
    json::object out{{"http_status", r.status}, {"body", r.body}, {"xml", r.xml}};
    for (const auto& x : c.extract) {
      auto values = r.values(x.xpath);
      if (x.type == Extract::Type::list) {
        json::array a;
        for (auto& v : values) a.emplace_back(v);
        out[x.name] = std::move(a);
        continue;
      }
      auto bad = [&](const std::string& why) {
        return Error{ErrorCode::legacy_failed, fmt::format("{}: extract {} ({}): {}", step.name, x.name, x.xpath, why),
                     false, std::nullopt};
      };
      if (values.empty()) {
        if (!x.required) continue;
        return call_done(step, bad("nothing in the answer matches"));
      }
      const std::string& text = values.front();
      switch (x.type) {
        case Extract::Type::string: out[x.name] = text; break;
        case Extract::Type::integer: {
          auto trimmed = trim(json::value(text));  // a string in, so never an error
          std::string_view digits = trimmed.value().get_string();
          bool ok = !digits.empty() && digits != "-" &&
                    digits.find_first_not_of("0123456789", digits[0] == '-' ? 1 : 0) == std::string_view::npos;
          if (!ok) return call_done(step, bad(fmt::format("'{}' is not an integer", text)));
          out[x.name] = core::number_from_text(digits);
          break;
        }
        case Extract::Type::number: {
          auto n = to_number(json::value(text));
          if (!n) return call_done(step, bad(fmt::format("'{}' is not a number", text)));
          out[x.name] = std::move(n).value();
          break;
        }
        case Extract::Type::boolean: {
          auto b = to_boolean(json::value(text));
          if (!b) return call_done(step, bad(fmt::format("'{}' is not a boolean (true/false/1/0)", text)));
          out[x.name] = std::move(b).value();
          break;
        }
        case Extract::Type::list: break;
      }
    }
    data_.as_object()[c.as] = std::move(out);
    call_done(step, check(c.fail_when, step.name));
  }

  void call_done(const Step& step, const std::optional<Error>& error) {
    json::value output;
    if (explain_ && !error) output = data_.as_object().at(step.call->as);
    if (!end_step(step, error, std::move(output))) return;
    advance();
  }

  std::shared_ptr<Flow> flow_;
  std::shared_ptr<Call> call_;
  std::shared_ptr<const Hooks> hooks_;  // kept alive while a call is waiting
  const Environment& env_;
  const Explain& explain_;
  json::value data_ = json::object();  // a value, so that core::lookup and render see it without a copy
  core::InstanceVars vars_;
  std::size_t next_ = 0;
  Clock::time_point started_;
  std::unique_ptr<Span> span_;
  json::value input_;
};

class FlowHandler final : public Handler {
 public:
  FlowHandler(std::shared_ptr<Flow> flow, Environment env, Explain explain)
      : flow_(std::move(flow)), hooks_(std::make_shared<const Hooks>(Hooks{std::move(env), std::move(explain)})) {}

  void handle(std::shared_ptr<Call> call) override { std::make_shared<Run>(flow_, std::move(call), hooks_)->start(); }

 private:
  std::shared_ptr<Flow> flow_;
  std::shared_ptr<const Hooks> hooks_;
};

}  // namespace

std::unique_ptr<Handler> make_handler(std::shared_ptr<Flow> flow, Environment env, Explain explain) {
  return std::make_unique<FlowHandler>(std::move(flow), std::move(env), std::move(explain));
}

}  // namespace fxconnect::flow
