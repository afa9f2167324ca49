// The onboarding connector's business logic: a bank onboarding request from the process, turned
// into what the (legacy) core-banking system expects. Kept apart from Kafka so tests drive it
// directly; main.cc only registers the handler and runs the fxconnect command line.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "fxconnect/fxconnect.h"

namespace onboarding {

// The largest amount in minor units we reply with: 2^53 - 1, the largest integer every JSON
// reader (JavaScript included) keeps exact.
inline constexpr std::int64_t kMaxMinorUnits = 9'007'199'254'740'991;

// `dd/MM/yyyy` (a real calendar date, leap years included) → ISO 8601 `yyyy-MM-dd`.
// Errors name `field` and say what a valid value looks like.
fxconnect::Result<std::string> convert_date(std::string_view text, const std::string& field);

struct Currency {
  std::string code;  // ISO 4217, upper case
  int decimals = 2;  // ISO 4217 minor unit: 0 (JPY), 2 (EUR), 3 (KWD)
};

// A decimal amount — a JSON string such as "1234.56" (exact) or a JSON number — → integer minor
// units of `currency`. Integer arithmetic on the decimal text, never floating point: a JSON number
// arrives as a double and is taken as its shortest round-trip decimal text (the literal as written
// for up to 15 significant digits). Refused: non-numeric text, negative amounts, more decimals than
// the currency has (trailing zeros are fine: 100.00 JPY is 100), more than kMaxMinorUnits.
fxconnect::Result<std::int64_t> to_minor_units(const boost::json::value& amount, const Currency& currency,
                                               const std::string& field);

// The value lists: country names → ISO 3166-1 alpha-2, currency codes → ISO 4217 decimals.
// Built once per handler (in its factory) and only read afterwards, so requests share it freely.
class ValueLists {
 public:
  ValueLists();

  // "Romania", "ROMANIA", " romania " → "RO". ASCII case-insensitive, surrounding blanks ignored.
  std::optional<std::string_view> country_code(std::string_view name) const;
  // "RON", "ron" → {RON, 2}; nullopt for a currency outside the list.
  std::optional<Currency> currency(std::string_view code) const;
  std::size_t country_names() const { return countries_.size(); }

 private:
  std::unordered_map<std::string, std::string> countries_;  // lower-case name → alpha-2
  std::unordered_map<std::string, int> currencies_;         // upper-case code → decimals
};

// Handler options (handler.options in the connector config).
struct Settings {
  // `kyc_threshold`: a loan of at least this amount, in the request's own currency (major units,
  // compared nominally: the example does no FX conversion), gets "kycRequired": true. Kept in
  // thousandths so it compares exactly with any currency of up to 3 decimals. Default 10000.
  std::int64_t kyc_threshold_milli = 10'000'000;
};

// Reads the options; throws fxconnect::ConfigError naming the config file and line for an unknown
// option or a bad value.
Settings parse_settings(const fxconnect::HandlerOptions& options);

// The whole conversion, request JSON → reply JSON (see README.md for both shapes). Pure: the
// caller passes the correlation id and today's date (yyyy-MM-dd), so tests can pin them.
// The first invalid or missing field, in request order, becomes an `invalid_request` error.
fxconnect::Result<boost::json::object> onboard(const boost::json::value& request, const ValueLists& lists,
                                               const Settings& settings, std::string_view correlation_id,
                                               std::string_view today);

// A random (version 4) UUID in its canonical text form, for `correlationId`.
std::string new_correlation_id();

// Today's date in UTC as yyyy-MM-dd.
std::string today_utc();

// The handler factory: options → a handler holding the value lists and settings.
std::unique_ptr<fxconnect::Handler> make_handler(const fxconnect::HandlerOptions& options);

// Registers `onboarding` (make_handler) in `registry`.
void register_onboarding(fxconnect::Registry& registry);

}  // namespace onboarding
