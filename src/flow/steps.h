// The compiled form of a flow (internal to src/flow/): what compile.cc builds from the YAML and
// run.cc executes. Immutable after compile, except the step metrics (loop thread only).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/json/value.hpp>

#include "flow/flow.h"
#include "flow/jq.h"
#include "flow/lists.h"
#include "flow/schema.h"
#include "flow/transforms.h"
#include "fxconnect/error.h"

namespace fxconnect::flow {

// `fail_when: - if: <jq> error: {...}`.
struct FailWhen {
  JqProgram condition;
  ErrorCode code = ErrorCode::handler_failed;
  bool retriable = false;
  std::optional<JqProgram> message;  // a jq text template; none: "<step>: condition '<if>' holds"
  std::optional<std::string> field;
  std::string where;  // file:line:column of the `if`
};

struct MapField {
  enum class Source { from, value, uuid, now, jq };
  std::string name;
  std::string where;
  Source source = Source::from;
  std::string path;                  // from
  boost::json::value value;          // value: a template
  std::optional<JqProgram> jq;       // jq
  std::optional<DateTransform> now;  // now: its output format
  bool required = true;
  std::optional<boost::json::value> default_value;
  bool trim = false, upper = false, lower = false;
  std::optional<DateTransform> date;
  const ValueList* lookup = nullptr;
  std::optional<std::string> minor_units;  // a text template giving the currency
  enum class Type { none, number, string, boolean } type = Type::none;
};

struct Extract {
  std::string name;
  std::string xpath;
  enum class Type { string, integer, number, boolean, list } type = Type::string;
  bool required = true;
};

// How the text of a file or a command's output becomes data: JSON (numbers exact), XML (elements
// by local name, as SOAP bodies), CSV (an array of objects by the header row) or the text itself.
enum class Parse { json, xml, csv, text };

// A call to a legacy system: `call` (REST or SOAP), `sql`, `file_exchange` or `exec`.
struct CallSpec {
  enum class Kind { http, sql, file_exchange, exec };
  Kind kind = Kind::http;
  std::optional<JqProgram> when;  // none: always; else only when this jq condition holds
  std::string as;
  std::string system;
  // sql
  std::string sql;                         // the query as written: values only ever go in as parameters
  std::vector<boost::json::value> params;  // value templates
  enum class Rows { one, optional, many, none } rows = Rows::many;
  std::size_t max_rows = 0;  // 0: the system's
  // file_exchange
  std::string write_name;                      // text template
  boost::json::value write_body;               // value template: a string is written as is, anything else as JSON
  std::string await_name;                      // text template; "" = write only
  std::chrono::milliseconds await_timeout{0};  // 0: the system's await_timeout
  std::string archive;
  // exec
  std::vector<std::string> args;            // text templates
  std::optional<boost::json::value> input;  // value template for stdin
  // file_exchange, exec: the answer's form
  Parse parse = Parse::json;
  // call (HTTP)
  bool soap = false;
  std::string method = "GET";
  std::string path;                                          // text template
  std::vector<std::pair<std::string, std::string>> query;    // name → text template
  std::vector<std::pair<std::string, std::string>> headers;  // name → text template
  std::optional<boost::json::value> body;                    // REST: a JSON template
  std::string xml;                                           // SOAP: an XML text template
  std::string action;
  std::vector<int> accept;
  std::vector<Extract> extract;
  std::vector<FailWhen> fail_when;
};

struct Step {
  enum class Kind { validate, map, call, fail_when, reply };
  Kind kind;
  std::string name;                      // "validate", "map", "call:account"... (spans, metrics, errors)
  std::string where;                     // file:line:column of the step
  std::shared_ptr<const Schema> schema;  // validate
  std::vector<MapField> fields;          // map
  std::optional<CallSpec> call;          // call
  std::vector<FailWhen> fail_when;       // fail_when
  boost::json::value reply;              // reply: a JSON template
  std::shared_ptr<observability::FlowStepMetrics> metrics;
};

class Flow {
 public:
  std::vector<Step> steps;
  std::map<std::string, std::unique_ptr<ValueList>> lists;
  std::size_t jq_input_bytes = 1 << 20;
};

}  // namespace fxconnect::flow
