// The typed transforms of a flow's `map:` step: dates, minor units, text and type conversions.
// Pure functions over values; each error is an invalid_request Error whose message says what was
// wrong and what would be valid, WITHOUT the field name (the caller prefixes it and sets `field`).
// Numbers are exact: they are read through core::number_text (src/core/json_exact.h), never as
// doubles, and results that do not fit int64 stay exact (core::number_from_text).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "fxconnect/error.h"

namespace date {
class time_zone;
}  // namespace date

namespace fxconnect::flow {

// A date (and optional time) format, in the letters of Java's DateTimeFormatter that people
// already write in integration specs: yyyy (4-digit year), MM, dd, HH, mm, ss, SSS (milliseconds),
// XXX (offset: Z or +02:00), Z... see the .cc. Other ASCII letters are refused (yy, two-digit
// years, above all: ambiguous); other characters and 'quoted text' are literals. Two names stand
// for a whole format: `iso` (ISO 8601: 2026-03-01, 2026-03-01T09:00:00Z, 2026-03-01T09:00:00.250+02:00,
// on input any of these; on output yyyy-MM-dd when the input had no time, else full with offset)
// and `epoch_ms` (milliseconds since 1970 as a number).
class DateFormat {
 public:
  // An error names the bad part of `pattern` and the letters allowed.
  static Result<DateFormat> parse(std::string_view pattern);
  const std::string& pattern() const { return pattern_; }
  bool has_time() const;
  bool has_offset() const;

 private:
  friend class DateTransform;
  enum class Kind { pattern, iso, epoch_ms };
  // One part of a pattern: literal text (`letter` 0) or a field: `letter` is y M d H m s S, or an
  // offset: X (XXX: Z or +02:00), x (xxx: +00:00 or +02:00), W (XX: Z or +0200), Z (xx, Z: +0200).
  struct Piece {
    char letter = 0;
    std::string literal;
  };
  std::string pattern_;
  Kind kind_ = Kind::pattern;
  std::vector<Piece> pieces_;
};

// `date: { in: dd/MM/yyyy, out: yyyy-MM-dd, zone: Europe/Bucharest, out_zone: UTC }`.
// Input without an offset is read in `zone` (IANA name; default UTC); output is written in
// `out_zone` (default: `zone`). A calendar check refuses 31/02 and 29/02 of a non-leap year,
// 24:00, 60 seconds; a local time that does not exist (spring-forward gap) is refused, one that
// exists twice (fall-back) takes the earlier offset.
class DateTransform {
 public:
  // An error names which of in/out/zone/out_zone is bad (`zone 'Europe/Nowhere' is not an IANA time zone`).
  static Result<DateTransform> make(std::string_view in, std::string_view out, std::string_view zone = "",
                                    std::string_view out_zone = "");
  // `value` must be a string (or a number for epoch_ms). E.g. "'31/02/1990' is not a calendar date
  // in dd/MM/yyyy (February 1990 has 28 days)".
  Result<boost::json::value> apply(const boost::json::value& value) const;
  // `now` rendered in the output format (for the `now` transform).
  std::string format(std::chrono::system_clock::time_point now) const;

 private:
  DateFormat in_;
  DateFormat out_;
  const date::time_zone* zone_ = nullptr;      // never null once made
  const date::time_zone* out_zone_ = nullptr;  // never null once made
};

// The ISO 4217 minor-unit exponent of `currency` (upper case; "EUR" → 2, "JPY" → 0, "KWD" → 3),
// or nullopt for a code that is not an active ISO 4217 currency.
std::optional<int> currency_exponent(std::string_view currency);

// An exact decimal amount (a JSON number or a string such as "1234.56", optional leading '-')
// → an integer number of minor units of `currency`: 1234.56 EUR → 123456, 1234 JPY → 1234,
// 1.234 KWD → 1234. More decimals than the currency has is an error (trailing zeros are fine:
// "100.00" JPY is 100), never rounding. Blanks, exponents, thousands separators: refused.
// The result is an int64 when it fits, else an exact raw number (core::number_from_text).
Result<boost::json::value> to_minor_units(const boost::json::value& amount, std::string_view currency);

// Text conversions; `value` must be a string (error otherwise, naming its JSON type).
Result<boost::json::value> trim(const boost::json::value& value);
Result<boost::json::value> upper(const boost::json::value& value);  // ASCII letters only; other bytes kept
Result<boost::json::value> lower(const boost::json::value& value);

// Type conversions. number: a number as is, or a string holding a JSON number literal ("42",
// "-1.50"), exact; "abc", "", "1,5" refused. string: a string as is, a number as its exact text,
// a boolean as true/false; objects/arrays/null refused. boolean: true/false, "true"/"false" (any
// case), 1/0 and "1"/"0"; anything else refused.
Result<boost::json::value> to_number(const boost::json::value& value);
Result<boost::json::value> to_string(const boost::json::value& value);
Result<boost::json::value> to_boolean(const boost::json::value& value);

// "a string", "a number" (raw numbers too), "null"... for "expected a string, got a number".
std::string_view type_name(const boost::json::value& v);

// A version 4 UUID in canonical text form (random).
std::string uuid_v4();

}  // namespace fxconnect::flow
