// Message templates: JSON with ${path} placeholders over the process data, as the engine renders
// a message send node's payload.
//
// - A string that is exactly "${path}" becomes the value at `path`, with its type (object, number...).
// - Inside longer text, "${path}" is replaced by the value's text (a string as is, numbers and
//   booleans as JSON); an object or array cannot be embedded in text.
// - "$${" stands for a literal "${".
// - Paths: `a.b[0].c`. `@uuid`, `@id`, `@index` are the instance's processInstanceUuid,
//   processInstanceId and its index in the run.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "fxconnect/error.h"

namespace fxconnect::engine {

struct InstanceVars {
  std::string uuid;
  std::int64_t id = 0;
  std::int64_t index = 0;
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
Result<std::string> render_text(std::string_view tmpl, const boost::json::value& data, const InstanceVars& vars);

}  // namespace fxconnect::engine
