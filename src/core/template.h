// Templates: JSON with ${path} placeholders over data, as the engine renders a message send node's
// payload from the process data, and as a flow (src/flow/) renders its calls and its reply.
//
// - A string that is exactly "${path}" becomes the value at `path`, with its type (object, number...).
// - Inside longer text, "${path}" is replaced by the value's text (a string as is, numbers and
//   booleans as JSON, a raw number of core/json_exact.h as its literal); an object or array cannot
//   be embedded in text.
// - "$${" stands for a literal "${".
// - Paths: `a.b[0].c`. `@uuid`, `@id`, `@index` are the instance's processInstanceUuid,
//   processInstanceId and its index in the run.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "fxconnect/error.h"

namespace fxconnect::core {

struct InstanceVars {
  std::string uuid;
  std::int64_t id = 0;
  std::int64_t index = 0;
  std::string_view data_name = "the process data";  // for "no such path in ..."
};

// Whether `path` is a well-formed data path (a.b[0].c or @name).
bool valid_path(std::string_view path);
// The value at `path` in `data`, or nullptr.
const boost::json::value* lookup(const boost::json::value& data, std::string_view path);

// Syntax problems of a template (unclosed placeholder, bad path), one text each.
std::vector<std::string> check_template(const boost::json::value& tmpl);
std::vector<std::string> check_text_template(std::string_view tmpl);

// Renders; an error names the placeholder and why it cannot be filled.
Result<boost::json::value> render(const boost::json::value& tmpl, const boost::json::value& data,
                                  const InstanceVars& vars);
// `escape`, when given, is applied to each placeholder's text (e.g. XML escaping), not to the literal text.
using Escape = std::string (*)(std::string_view);
Result<std::string> render_text(std::string_view tmpl, const boost::json::value& data, const InstanceVars& vars,
                                Escape escape = nullptr);

// The paths of every placeholder in a template (JSON or text), in order; syntax errors are skipped
// (check_template reports them).
std::vector<std::string> template_paths(const boost::json::value& tmpl);
std::vector<std::string> text_template_paths(std::string_view tmpl);

}  // namespace fxconnect::core
