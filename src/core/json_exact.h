// JSON that keeps every number exactly as written, for flows (a 20-digit id stays 20 digits, an
// amount's decimals are never rounded).
//
// Boost.JSON holds int64, uint64 and double. A number that none of them holds exactly (an integer
// beyond 64 bits, a decimal with more than 15 significant digits) is kept as a *raw number*: its
// literal text, wrapped in a one-member object under a key no JSON text can produce unnoticed
// (a NUL character; parse() refuses input that uses it as a key). serialize() writes a raw number
// back as the literal, and doubles in their shortest round-trip form ("3664.09", never "3.66409E3").
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <boost/json/value.hpp>

#include "fxconnect/error.h"

namespace fxconnect::core {

// Parses `text` keeping numbers exact (see above). An error is invalid_request with the reason.
Result<boost::json::value> parse_exact(std::string_view text);

// A raw number holding `literal` (a valid JSON number literal; not checked).
boost::json::value raw_number(std::string literal);
// The literal of a raw number, or nullopt when `v` is not one.
std::optional<std::string_view> raw_number_text(const boost::json::value& v);
// Whether `v` is a number: int64, uint64, double or a raw number.
bool is_number(const boost::json::value& v);
// The exact decimal text of a number (int64, uint64, raw literal as written, double in its
// shortest round-trip form), or nullopt when `v` is not a number.
std::optional<std::string> number_text(const boost::json::value& v);
// The value for an exact decimal integer or decimal `literal`: int64/uint64 when it fits, a double
// when that is exact (at most 15 significant digits), else a raw number.
boost::json::value number_from_text(std::string_view literal);

// JSON text of `v`, raw numbers as their literals, doubles in shortest round-trip form.
std::string serialize(const boost::json::value& v);
void serialize_to(std::string& out, const boost::json::value& v);
// `v` with every raw number replaced by the nearest double (for consumers that need plain JSON,
// such as a JSON Schema validator). Returns nullopt when `v` has no raw number (use it as is).
std::optional<boost::json::value> without_raw_numbers(const boost::json::value& v);
// The text of a value inside a longer text: a string as is, anything else as serialize().
std::string text_of(const boost::json::value& v);

}  // namespace fxconnect::core
