// JSON Schema draft 7 with valijson 1.0 (header-only) over Boost.JSON.
#include "flow/schema.h"

// valijson reports a bad schema by throwing only when this is set; otherwise it prints to
// std::cerr and aborts the process.
#ifndef VALIJSON_USE_EXCEPTIONS
#define VALIJSON_USE_EXCEPTIONS 1
#endif

#include <algorithm>
#include <cstddef>
#include <exception>
#include <fstream>
#include <iterator>
#include <mutex>
#include <optional>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json.hpp>

#include <valijson/adapters/boost_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

#include "core/regex.h"

namespace fxconnect::flow {

namespace {

Error schema_error(const std::string& name, const std::string& message) {
  Error error;
  error.code = ErrorCode::internal;
  error.message = "JSON Schema " + name + ": " + message;
  return error;
}

// valijson compiles `pattern` and `patternProperties` regexes (std::regex, ECMAScript) only while
// validating, where a bad one would throw from validate(). They are compiled once here instead, so
// a schema with one fails to load. Returns the problem, or "" when every regex compiles.
std::string check_regexes(const boost::json::value& node, const std::string& where) {
  if (const auto* array = node.if_array()) {
    for (std::size_t i = 0; i < array->size(); ++i) {
      std::string problem = check_regexes((*array)[i], where + "/" + std::to_string(i));
      if (!problem.empty()) return problem;
    }
    return "";
  }
  const auto* object = node.if_object();
  if (object == nullptr) return "";
  for (const auto& member : *object) {
    const std::string key(member.key());
    // Values under these keywords are data, not schemas.
    if (key == "enum" || key == "const" || key == "default" || key == "examples") continue;
    std::string path = where;
    path += '/';
    path += key;
    std::vector<std::string> regexes;
    if (key == "pattern" && member.value().is_string()) regexes.emplace_back(member.value().get_string());
    if (key == "patternProperties" && member.value().is_object()) {
      for (const auto& property : member.value().get_object()) regexes.emplace_back(property.key());
    }
    for (const std::string& regex : regexes) {
      try {
        const std::regex compiled = core::make_regex(regex);
      } catch (const std::regex_error& e) {
        std::string problem = "the regular expression '" + regex;
        problem += "' at ";
        problem += path;
        problem += " is not supported (";
        problem += e.what();
        problem += ")";
        return problem;
      }
    }
    std::string problem = check_regexes(member.value(), path);
    if (!problem.empty()) return problem;
  }
  return "";
}

// The `$ref`s that name another document (anything but a "#..." fragment of this one).
void collect_remote_refs(const boost::json::value& node, std::vector<std::string>& refs) {
  if (const auto* array = node.if_array()) {
    for (const auto& element : *array) collect_remote_refs(element, refs);
    return;
  }
  const auto* object = node.if_object();
  if (object == nullptr) return;
  for (const auto& member : *object) {
    const std::string_view key = member.key();
    if (key == "enum" || key == "const" || key == "default" || key == "examples") continue;
    if (key == "$ref" && member.value().is_string()) {
      const std::string ref(member.value().get_string());
      if (ref.empty() || ref.front() != '#') refs.push_back(ref);
      continue;
    }
    collect_remote_refs(member.value(), refs);
  }
}

// "[name]" or "[2]": what valijson puts in an error's context for each step into the document.
std::string_view step_of(const std::string& token) {
  std::string_view step(token);
  if (step.size() >= 2 && step.front() == '[' && step.back() == ']') return step.substr(1, step.size() - 2);
  return step;
}

bool all_digits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The dotted path of a valijson context (`<root>`, `[customer]`, `[items]`, `[2]`) and
// `extra_key` (a missing property, appended when not empty): "customer.birthDate", "items[2].id",
// "" for the root. A "[2]" step is an index when the document holds an array there (valijson writes
// keys and indexes alike), else the key "2".
std::string dotted_path(const std::vector<std::string>& context, const boost::json::value& document,
                        const std::string& extra_key) {
  std::string path;
  const boost::json::value* at = &document;
  auto add_key = [&path](std::string_view key) {
    if (!path.empty()) path.push_back('.');
    path.append(key);
  };
  for (std::size_t i = 0; i < context.size(); ++i) {
    if (i == 0 && context[i] == "<root>") continue;
    const std::string_view step = step_of(context[i]);
    if (at != nullptr && at->is_array() && all_digits(step)) {
      path.push_back('[');
      path.append(step);
      path.push_back(']');
      const std::size_t index = std::stoul(std::string(step));
      at = index < at->get_array().size() ? &at->get_array()[index] : nullptr;
      continue;
    }
    add_key(step);
    if (at != nullptr && at->is_object()) {
      at = at->get_object().if_contains(step);
    } else {
      at = nullptr;
    }
  }
  if (!extra_key.empty()) add_key(extra_key);
  return path;
}

// The number of steps into the document: the depth of a problem.
std::size_t depth_of(const std::string& path) {
  if (path.empty()) return 0;
  return 1 +
         static_cast<std::size_t>(
             std::count_if(path.begin(), path.end(), [](char c) { return c == '.' || c == '['; })) -
         (path.front() == '[' ? 1 : 0);
}

// Whether `path` is `prefix` or lies under it.
bool within(const std::string& path, const std::string& prefix) {
  if (prefix.empty()) return true;
  if (path.size() < prefix.size() || path.compare(0, prefix.size(), prefix) != 0) return false;
  return path.size() == prefix.size() || path[prefix.size()] == '.' || path[prefix.size()] == '[';
}

// valijson's messages that only say a subschema failed (the failure itself is reported too).
bool is_wrapper(const std::string& message) {
  static const char* const kPrefixes[] = {
      "Failed to validate against schema associated with property name",
      "Failed to validate against schema associated with pattern",
      "Failed to validate against additional properties schema",
      "Failed to validate item #",
      "Failed to validate against child schema #",
      "Failed to validate against a conditional schema",
      "Failed to validate against dependent schema",
  };
  return std::any_of(std::begin(kPrefixes), std::end(kPrefixes),
                     [&message](const char* prefix) { return message.rfind(prefix, 0) == 0; });
}

const char* kind_of(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::null: return "null";
    case boost::json::kind::bool_: return "a boolean";
    case boost::json::kind::int64:
    case boost::json::kind::uint64: return "an integer";
    case boost::json::kind::double_: return "a number";
    case boost::json::kind::string: return "a string";
    case boost::json::kind::array: return "an array";
    case boost::json::kind::object: return "an object";
  }
  return "a value";
}

// The name in `message` when it is `prefix` + name + "'." (valijson's wording), else nullopt.
std::optional<std::string> quoted_after(const std::string& message, const std::string& prefix) {
  if (message.size() <= prefix.size() + 2 || message.rfind(prefix, 0) != 0) return std::nullopt;
  if (message.compare(message.size() - 2, 2, "'.") != 0) return std::nullopt;
  return message.substr(prefix.size(), message.size() - prefix.size() - 2);
}

// valijson writes limits with std::to_string ("5.000000"): drop the trailing zeros ("5", "2.5").
std::string tidy_numbers(const std::string& message) {
  std::string out;
  const std::size_t n = message.size();
  for (std::size_t i = 0; i < n; ++i) {
    const bool digit_before = i > 0 && message[i - 1] >= '0' && message[i - 1] <= '9';
    if (message[i] == '.' && digit_before) {
      std::size_t end = i + 1;
      while (end < n && message[end] >= '0' && message[end] <= '9') ++end;
      if (end - i - 1 == 6) {
        std::string fraction = message.substr(i + 1, 6);
        while (!fraction.empty() && fraction.back() == '0') fraction.pop_back();
        if (!fraction.empty()) out += "." + fraction;
        i = end - 1;
        continue;
      }
    }
    out.push_back(message[i]);
  }
  return out;
}

// The value at a valijson context, or nullptr.
const boost::json::value* value_at(const std::vector<std::string>& context, const boost::json::value& document) {
  const boost::json::value* at = &document;
  for (std::size_t i = 0; i < context.size() && at != nullptr; ++i) {
    if (i == 0 && context[i] == "<root>") continue;
    const std::string_view step = step_of(context[i]);
    if (at->is_array() && all_digits(step)) {
      const std::size_t index = std::stoul(std::string(step));
      at = index < at->get_array().size() ? &at->get_array()[index] : nullptr;
    } else if (at->is_object()) {
      at = at->get_object().if_contains(step);
    } else {
      at = nullptr;
    }
  }
  return at;
}

}  // namespace

struct Schema::Impl {
  boost::json::value document;  // the schema's JSON, kept for the life of the compiled schema
  valijson::Schema schema;
  // Validators not in use. A Validator caches the regexes it compiled (std::regex: costly to build,
  // ~80% of a validation when built per call) and must not be shared between threads, so each
  // call borrows one from this pool and gives it back.
  std::mutex mutex;
  std::vector<std::unique_ptr<valijson::Validator>> idle;

  std::unique_ptr<valijson::Validator> borrow() {
    {
      std::lock_guard lock(mutex);
      if (!idle.empty()) {
        auto v = std::move(idle.back());
        idle.pop_back();
        return v;
      }
    }
    return std::make_unique<valijson::Validator>(valijson::Validator::kStrongTypes);
  }
  void give_back(std::unique_ptr<valijson::Validator> v) {
    std::lock_guard lock(mutex);
    idle.push_back(std::move(v));
  }
};

Schema::Schema(Schema&&) noexcept = default;
Schema& Schema::operator=(Schema&&) noexcept = default;
Schema::~Schema() = default;

Result<Schema> Schema::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return schema_error(path, "cannot read the file");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return schema_error(path, "cannot read the file");
  boost::system::error_code ec;
  boost::json::value json = boost::json::parse(text.str(), ec);
  if (ec) return schema_error(path, "not JSON: " + ec.message());
  return from_json(json, path);
}

Result<Schema> Schema::from_json(const boost::json::value& schema, const std::string& name) {
  if (!schema.is_object() && !schema.is_bool()) {
    return schema_error(
        name, std::string("not a schema: the document is ") + kind_of(schema) + ", not an object (or a boolean)");
  }
  if (std::string problem = check_regexes(schema, ""); !problem.empty()) return schema_error(name, problem);

  auto impl = std::make_unique<Impl>();
  impl->document = schema;
  try {
    valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
    const valijson::adapters::BoostJsonAdapter adapter(impl->document);
    // A $ref to another document is never fetched: the callback refuses, naming it.
    using Functions = valijson::SchemaParser::FunctionPtrs<valijson::adapters::BoostJsonAdapter>;
    const Functions::FetchDoc fetch = [](const std::string& uri) -> const boost::json::value* {
      throw std::runtime_error("the $ref '" + uri + "' names another document; remote references are not fetched");
    };
    const Functions::FreeDoc free_doc = [](const boost::json::value* /*document*/) {};
    parser.populateSchema(adapter, impl->schema, fetch, free_doc);
  } catch (const std::exception& e) {
    std::string message = std::string("not a valid draft-7 schema: ") + e.what();
    // valijson resolves a relative $ref (no base URI) inside this document and then reports only
    // the JSON pointer it could not follow: say which references name other documents.
    std::vector<std::string> remote;
    collect_remote_refs(impl->document, remote);
    if (!remote.empty() && message.find("not fetched") == std::string::npos) {
      message += " (references to other documents are not fetched:";
      for (const std::string& ref : remote) message += " '" + ref + "'";
      message += ")";
    }
    return schema_error(name, message);
  }
  Schema result;
  result.impl_ = std::move(impl);
  return result;
}

std::vector<Schema::Problem> Schema::validate(const boost::json::value& document) const {
  valijson::ValidationResults results;
  try {
    auto validator = impl_->borrow();
    const valijson::adapters::BoostJsonAdapter target(document);
    // Without results valijson stops at the first problem and builds no messages: the common,
    // valid case is cheap. Only an invalid document is checked again for every problem.
    bool valid = validator->validate(impl_->schema, target, nullptr);
    if (!valid) validator->validate(impl_->schema, target, &results);
    impl_->give_back(std::move(validator));
    if (valid) return {};
  } catch (const std::exception& e) {
    return {Problem{"", std::string("the document could not be checked against the schema: ") + e.what()}};
  }

  struct Found {
    Problem problem;
    bool wrapper;
  };
  std::vector<Found> found;
  // valijson reports a missing or an unexpected property at its parent object (naming it in the
  // message, "... 'name'."); the field is the property itself.
  static const std::string kMissing = "Missing required property '";
  static const std::string kUnexpected =
      "Object contains a property that could not be validated using 'properties' or 'additionalProperties' "
      "constraints: '";
  for (const auto& error : results) {
    const std::string& description = error.description;
    if (auto property = quoted_after(description, kMissing)) {
      found.push_back({{dotted_path(error.context, document, *property), "is required"}, false});
      continue;
    }
    if (auto property = quoted_after(description, kUnexpected)) {
      found.push_back(
          {{dotted_path(error.context, document, *property), "is not allowed (additionalProperties)"}, false});
      continue;
    }
    std::string message = tidy_numbers(description);
    if (description == "Value type not permitted by 'type' constraint.") {
      if (const auto* value = value_at(error.context, document)) {
        message = std::string("type not permitted by the schema: got ") + kind_of(*value);
      }
    }
    found.push_back({{dotted_path(error.context, document, ""), std::move(message)}, is_wrapper(description)});
  }

  std::vector<Problem> problems;
  for (const Found& f : found) {
    if (f.wrapper && std::any_of(found.begin(), found.end(), [&f](const Found& other) {
          return !other.wrapper && within(other.problem.field, f.problem.field);
        })) {
      continue;
    }
    const bool duplicate = std::any_of(problems.begin(), problems.end(), [&f](const Problem& p) {
      return p.field == f.problem.field && p.message == f.problem.message;
    });
    if (!duplicate) problems.push_back(f.problem);
  }
  std::stable_sort(problems.begin(), problems.end(),
                   [](const Problem& a, const Problem& b) { return depth_of(a.field) > depth_of(b.field); });
  return problems;
}

}  // namespace fxconnect::flow
