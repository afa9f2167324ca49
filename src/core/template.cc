#include "core/template.h"

#include "core/json_exact.h"

#include <charconv>

#include <fmt/format.h>
#include <boost/json.hpp>

namespace fxconnect::core {
namespace {

namespace json = boost::json;

// One piece of a text template: literal text, or a placeholder's path.
struct Piece {
  bool placeholder;
  std::string text;
};

// Splits `tmpl` into pieces; `error` is set on a syntax problem.
std::vector<Piece> split(std::string_view tmpl, std::string& error) {
  std::vector<Piece> out;
  std::string literal;
  std::size_t i = 0;
  while (i < tmpl.size()) {
    if (tmpl.compare(i, 3, "$${") == 0) {
      literal += "${";
      i += 3;
    } else if (tmpl.compare(i, 2, "${") == 0) {
      auto close = tmpl.find('}', i + 2);
      if (close == std::string_view::npos) {
        error = fmt::format("'{}': '${{' at character {} has no closing '}}' (write $${{ for a literal)", tmpl, i + 1);
        return {};
      }
      auto path = tmpl.substr(i + 2, close - i - 2);
      if (!valid_path(path)) {
        error = fmt::format("'${{{}}}' is not a data path such as customer.name or items[0].id", path);
        return {};
      }
      if (!literal.empty()) out.push_back({false, std::move(literal)});
      literal.clear();
      out.push_back({true, std::string(path)});
      i = close + 1;
    } else {
      literal += tmpl[i++];
    }
  }
  if (!literal.empty()) out.push_back({false, std::move(literal)});
  return out;
}

Result<json::value> resolve(std::string_view path, const json::value& data, const InstanceVars& vars) {
  if (path == "@uuid") return json::value(vars.uuid);
  if (path == "@id") return json::value(vars.id);
  if (path == "@index") return json::value(vars.index);
  if (const auto* v = lookup(data, path)) return *v;
  return Error{ErrorCode::invalid_request, fmt::format("${{{}}}: no such path in {}", path, vars.data_name), false,
               std::string(path)};
}

void collect(const json::value& v, std::vector<std::string>& problems) {
  if (v.is_string()) {
    for (auto& p : check_text_template(v.as_string())) problems.push_back(std::move(p));
  } else if (v.is_object()) {
    for (const auto& kv : v.as_object()) collect(kv.value(), problems);
  } else if (v.is_array()) {
    for (const auto& e : v.as_array()) collect(e, problems);
  }
}

}  // namespace

bool valid_path(std::string_view path) {
  if (path.empty()) return false;
  if (path[0] == '@') return path == "@uuid" || path == "@id" || path == "@index";
  bool expect_name = true;
  std::size_t i = 0;
  while (i < path.size()) {
    char c = path[i];
    if (expect_name) {
      std::size_t start = i;
      while (i < path.size() && (std::isalnum(static_cast<unsigned char>(path[i])) || path[i] == '_' || path[i] == '-'))
        ++i;
      if (i == start) return false;
      expect_name = false;
    } else if (c == '.') {
      expect_name = true;
      ++i;
    } else if (c == '[') {
      auto close = path.find(']', i);
      if (close == std::string_view::npos || close == i + 1) return false;
      for (auto j = i + 1; j < close; ++j) {
        if (!std::isdigit(static_cast<unsigned char>(path[j]))) return false;
      }
      i = close + 1;
    } else {
      return false;
    }
  }
  return !expect_name;
}

const json::value* lookup(const json::value& data, std::string_view path) {
  if (!valid_path(path) || path[0] == '@') return nullptr;
  const json::value* cur = &data;
  std::size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '.') {
      ++i;
      continue;
    }
    if (path[i] == '[') {
      auto close = path.find(']', i);
      std::size_t index = 0;
      std::from_chars(path.data() + i + 1, path.data() + close, index);
      if (!cur->is_array() || index >= cur->as_array().size()) return nullptr;
      cur = &cur->as_array()[index];
      i = close + 1;
      continue;
    }
    auto end = path.find_first_of(".[", i);
    auto name = path.substr(i, end == std::string_view::npos ? std::string_view::npos : end - i);
    if (!cur->is_object()) return nullptr;
    const auto* next = cur->as_object().if_contains(name);
    if (!next) return nullptr;
    cur = next;
    i = end == std::string_view::npos ? path.size() : end;
  }
  return cur;
}

std::vector<std::string> check_text_template(std::string_view tmpl) {
  std::string error;
  split(tmpl, error);
  if (error.empty()) return {};
  return {error};
}

std::vector<std::string> check_template(const json::value& tmpl) {
  std::vector<std::string> problems;
  collect(tmpl, problems);
  return problems;
}

std::vector<std::string> text_template_paths(std::string_view tmpl) {
  std::string error;
  std::vector<std::string> out;
  for (auto& piece : split(tmpl, error)) {
    if (piece.placeholder) out.push_back(std::move(piece.text));
  }
  return out;
}

std::vector<std::string> template_paths(const json::value& tmpl) {
  std::vector<std::string> out;
  if (tmpl.is_string()) return text_template_paths(tmpl.get_string());
  if (tmpl.is_object()) {
    for (const auto& kv : tmpl.get_object()) {
      for (auto& p : template_paths(kv.value())) out.push_back(std::move(p));
    }
  } else if (tmpl.is_array()) {
    for (const auto& e : tmpl.get_array()) {
      for (auto& p : template_paths(e)) out.push_back(std::move(p));
    }
  }
  return out;
}

Result<std::string> render_text(std::string_view tmpl, const json::value& data, const InstanceVars& vars,
                                Escape escape) {
  std::string error;
  auto pieces = split(tmpl, error);
  if (!error.empty()) return Error{ErrorCode::invalid_request, error, false, {}};
  std::string out;
  for (const auto& piece : pieces) {
    if (!piece.placeholder) {
      out += piece.text;
      continue;
    }
    auto v = resolve(piece.text, data, vars);
    if (!v) return v.error();
    if (escape && !v->is_object() && !v->is_array()) {
      out += escape(text_of(v.value()));
    } else if (v->is_string()) {
      out += v->as_string();
    } else if (auto raw = raw_number_text(v.value())) {
      out += *raw;
    } else if (v->is_object() || v->is_array()) {
      return Error{ErrorCode::invalid_request,
                   fmt::format("${{{}}} is an {} and cannot be embedded in text; make \"${{{}}}\" the whole value",
                               piece.text, v->is_object() ? "object" : "array", piece.text),
                   false, piece.text};
    } else if (v->is_double()) {
      out += fmt::format("{}", v->as_double());  // shortest exact form, no exponent for 1234.56
    } else {
      out += json::serialize(v.value());
    }
  }
  return out;
}

Result<json::value> render(const json::value& tmpl, const json::value& data, const InstanceVars& vars) {
  if (tmpl.is_string()) {
    std::string_view s = tmpl.as_string();
    std::string error;
    auto pieces = split(s, error);
    if (!error.empty()) return Error{ErrorCode::invalid_request, error, false, {}};
    if (pieces.size() == 1 && pieces[0].placeholder) return resolve(pieces[0].text, data, vars);  // keeps the type
    auto text = render_text(s, data, vars);
    if (!text) return text.error();
    return json::value(std::move(text).value());
  }
  if (tmpl.is_object()) {
    json::object out;
    for (const auto& kv : tmpl.as_object()) {
      auto v = render(kv.value(), data, vars);
      if (!v) return v.error();
      out[kv.key()] = std::move(v).value();
    }
    return json::value(std::move(out));
  }
  if (tmpl.is_array()) {
    json::array out;
    for (const auto& e : tmpl.as_array()) {
      auto v = render(e, data, vars);
      if (!v) return v.error();
      out.push_back(std::move(v).value());
    }
    return json::value(std::move(out));
  }
  return tmpl;
}

}  // namespace fxconnect::core
