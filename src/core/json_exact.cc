#include "core/json_exact.h"

#include <charconv>
#include <cmath>
#include <vector>

#include <fmt/format.h>
#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/value_stack.hpp>

#include "core/json_text.h"

namespace fxconnect::core {
namespace {

namespace json = boost::json;

// The key of a raw number's one-member object. JSON text can spell it ("\u0000#"), so parse_exact
// refuses any key that starts with a NUL character.
constexpr std::string_view kRawKey{"\0#", 2};

// Whether a decimal literal holds at most 15 significant digits (a double keeps it exactly).
bool fits_double(std::string_view literal) {
  int digits = 0;
  bool leading = true;
  for (char c : literal) {
    if (c == 'e' || c == 'E') break;
    if (c < '0' || c > '9') continue;
    if (leading && c == '0') continue;
    leading = false;
    ++digits;
  }
  return digits <= 15;
}

// Whether a literal's mantissa has a digit other than 0 (1e-400 does, yet becomes 0.0).
bool has_nonzero_digit(std::string_view literal) {
  for (char c : literal) {
    if (c == 'e' || c == 'E') break;
    if (c >= '1' && c <= '9') return true;
  }
  return false;
}

class Handler {
 public:
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);

  json::value_stack st;
  std::string number;  // the literal of the number being read
  bool nul_key = false;

  bool on_document_begin(json::error_code&) {
    st.reset();
    return true;
  }
  bool on_document_end(json::error_code&) { return true; }
  bool on_object_begin(json::error_code&) { return true; }
  bool on_object_end(std::size_t n, json::error_code&) {
    st.push_object(n);
    return true;
  }
  bool on_array_begin(json::error_code&) { return true; }
  bool on_array_end(std::size_t n, json::error_code&) {
    st.push_array(n);
    return true;
  }
  bool on_key_part(json::string_view s, std::size_t n, json::error_code&) {
    if (n == s.size() && !s.empty() && s[0] == '\0') nul_key = true;  // the key's first part
    st.push_chars(s);
    return true;
  }
  bool on_key(json::string_view s, std::size_t n, json::error_code&) {
    if (n == s.size() && !s.empty() && s[0] == '\0') nul_key = true;  // a key in one piece
    st.push_key(s);
    return true;
  }
  bool on_string_part(json::string_view s, std::size_t, json::error_code&) {
    st.push_chars(s);
    return true;
  }
  bool on_string(json::string_view s, std::size_t, json::error_code&) {
    st.push_string(s);
    return true;
  }
  bool on_number_part(json::string_view s, json::error_code&) {
    number.append(s.data(), s.size());
    return true;
  }
  bool on_int64(std::int64_t i, json::string_view, json::error_code&) {
    number.clear();
    st.push_int64(i);
    return true;
  }
  bool on_uint64(std::uint64_t u, json::string_view, json::error_code&) {
    number.clear();
    st.push_uint64(u);
    return true;
  }
  bool on_double(double d, json::string_view s, json::error_code&) {
    number.append(s.data(), s.size());
    if (fits_double(number) && std::isfinite(d) && (d != 0 || !has_nonzero_digit(number))) {
      st.push_double(d);
    } else {
      st.push_key(kRawKey);
      st.push_string(number);
      st.push_object(1);
    }
    number.clear();
    return true;
  }
  bool on_bool(bool b, json::error_code&) {
    st.push_bool(b);
    return true;
  }
  bool on_null(json::error_code&) {
    st.push_null();
    return true;
  }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }
};

void write_double(std::string& out, double d) {
  if (!std::isfinite(d)) {
    out += "null";
    return;
  }
  fmt::format_to(std::back_inserter(out), "{}", d);
}

}  // namespace

Result<json::value> parse_exact(std::string_view text) {
  json::basic_parser<Handler> p(json::parse_options{});
  json::error_code ec;
  auto n = p.write_some(false, text.data(), text.size(), ec);
  if (!ec && n < text.size()) ec = json::error::extra_data;
  if (ec) {
    return Error{ErrorCode::invalid_request, fmt::format("not JSON: {} at byte {}", ec.message(), n), false,
                 std::nullopt};
  }
  // A key that starts with NUL could pass for a raw number: refuse it rather than guess.
  if (p.handler().nul_key) {
    return Error{ErrorCode::invalid_request, "a member name starts with a NUL character (\\u0000)", false,
                 std::nullopt};
  }
  return p.handler().st.release();
}

json::value raw_number(std::string literal) {  // NOLINT(performance-unnecessary-value-param): the API takes ownership
  json::object o;
  o.emplace(kRawKey, json::string(literal));
  return o;
}

std::optional<std::string_view> raw_number_text(const json::value& v) {
  const auto* o = v.if_object();
  if (!o || o->size() != 1) return std::nullopt;
  const auto& kv = *o->begin();
  if (kv.key() != kRawKey || !kv.value().is_string()) return std::nullopt;
  const auto& s = kv.value().get_string();
  return std::string_view(s.data(), s.size());
}

bool is_number(const json::value& v) { return v.is_number() || raw_number_text(v).has_value(); }

std::optional<std::string> number_text(const json::value& v) {
  switch (v.kind()) {
    case json::kind::int64: return std::to_string(v.get_int64());
    case json::kind::uint64: return std::to_string(v.get_uint64());
    case json::kind::double_: {
      std::string out;
      write_double(out, v.get_double());
      return out;
    }
    case json::kind::object:
      if (auto raw = raw_number_text(v)) return std::string(*raw);
      return std::nullopt;
    default: return std::nullopt;
  }
}

json::value number_from_text(std::string_view literal) {
  bool integer = literal.find_first_of(".eE") == std::string_view::npos;
  if (integer) {
    std::int64_t i = 0;
    auto [p, ec] = std::from_chars(literal.data(), literal.data() + literal.size(), i);
    if (ec == std::errc() && p == literal.data() + literal.size()) return i;
    std::uint64_t u = 0;
    auto [p2, ec2] = std::from_chars(literal.data(), literal.data() + literal.size(), u);
    if (ec2 == std::errc() && p2 == literal.data() + literal.size()) return u;
  }
  if (fits_double(literal)) {
    double d = 0;
    auto [p, ec] = std::from_chars(literal.data(), literal.data() + literal.size(), d);
    if (ec == std::errc() && p == literal.data() + literal.size() && std::isfinite(d) &&
        (d != 0 || !has_nonzero_digit(literal))) {
      return d;
    }
  }
  return raw_number(std::string(literal));
}

void serialize_to(std::string& out, const json::value& v) {
  switch (v.kind()) {
    case json::kind::null: out += "null"; return;
    case json::kind::bool_: out += v.get_bool() ? "true" : "false"; return;
    case json::kind::int64: fmt::format_to(std::back_inserter(out), "{}", v.get_int64()); return;
    case json::kind::uint64: fmt::format_to(std::back_inserter(out), "{}", v.get_uint64()); return;
    case json::kind::double_: write_double(out, v.get_double()); return;
    case json::kind::string: {
      const auto& s = v.get_string();
      append_json_string(out, std::string_view(s.data(), s.size()));
      return;
    }
    case json::kind::array: {
      out += '[';
      bool first = true;
      for (const auto& e : v.get_array()) {
        if (!first) out += ',';
        first = false;
        serialize_to(out, e);
      }
      out += ']';
      return;
    }
    case json::kind::object: {
      if (auto raw = raw_number_text(v)) {
        out += *raw;
        return;
      }
      out += '{';
      bool first = true;
      for (const auto& kv : v.get_object()) {
        if (!first) out += ',';
        first = false;
        append_json_string(out, std::string_view(kv.key().data(), kv.key().size()));
        out += ':';
        serialize_to(out, kv.value());
      }
      out += '}';
      return;
    }
  }
}

std::string serialize(const json::value& v) {
  std::string out;
  serialize_to(out, v);
  return out;
}

std::optional<json::value> without_raw_numbers(const json::value& v) {
  if (auto raw = raw_number_text(v)) {
    double d = 0;
    std::from_chars(raw->data(), raw->data() + raw->size(), d);
    return json::value(d);
  }
  if (const auto* a = v.if_array()) {
    std::optional<json::array> copy;
    for (std::size_t i = 0; i < a->size(); ++i) {
      auto plain = without_raw_numbers((*a)[i]);
      if (!plain) continue;
      if (!copy) copy = *a;
      (*copy)[i] = std::move(*plain);
    }
    if (copy) return json::value(std::move(*copy));
    return std::nullopt;
  }
  if (const auto* o = v.if_object()) {
    std::optional<json::object> copy;
    for (const auto& kv : *o) {
      auto plain = without_raw_numbers(kv.value());
      if (!plain) continue;
      if (!copy) copy = *o;
      (*copy)[kv.key()] = std::move(*plain);
    }
    if (copy) return json::value(std::move(*copy));
    return std::nullopt;
  }
  return std::nullopt;
}

std::string text_of(const json::value& v) {
  if (const auto* s = v.if_string()) return std::string(s->data(), s->size());
  return core::serialize(v);
}

}  // namespace fxconnect::core
