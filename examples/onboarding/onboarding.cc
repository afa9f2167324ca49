#include "onboarding.h"

#include <array>
#include <charconv>
#include <chrono>
#include <stdexcept>
#include <variant>

#include <boost/uuid/random_generator.hpp>
#include <boost/uuid/uuid_io.hpp>

namespace onboarding {
namespace {

namespace json = boost::json;
using fxconnect::Error;
using fxconnect::ErrorCode;
using fxconnect::invalid_field;
using fxconnect::Result;

// ---- value list data ----------------------------------------------------------------------------

struct NameCode {
  std::string_view name;
  std::string_view code;
};

// ISO 3166-1 alpha-2 by English short name, plus the other names a process form commonly uses.
// Europe in full, then the countries a European bank's customers most often come from.
constexpr NameCode kCountries[] = {
    {"Albania", "AL"},
    {"Andorra", "AD"},
    {"Austria", "AT"},
    {"Belarus", "BY"},
    {"Belgium", "BE"},
    {"Bosnia and Herzegovina", "BA"},
    {"Bulgaria", "BG"},
    {"Croatia", "HR"},
    {"Cyprus", "CY"},
    {"Czechia", "CZ"},
    {"Czech Republic", "CZ"},
    {"Denmark", "DK"},
    {"Estonia", "EE"},
    {"Finland", "FI"},
    {"France", "FR"},
    {"Germany", "DE"},
    {"Greece", "GR"},
    {"Hungary", "HU"},
    {"Iceland", "IS"},
    {"Ireland", "IE"},
    {"Italy", "IT"},
    {"Latvia", "LV"},
    {"Liechtenstein", "LI"},
    {"Lithuania", "LT"},
    {"Luxembourg", "LU"},
    {"Malta", "MT"},
    {"Moldova", "MD"},
    {"Republic of Moldova", "MD"},
    {"Monaco", "MC"},
    {"Montenegro", "ME"},
    {"Netherlands", "NL"},
    {"The Netherlands", "NL"},
    {"North Macedonia", "MK"},
    {"Norway", "NO"},
    {"Poland", "PL"},
    {"Portugal", "PT"},
    {"Romania", "RO"},
    {"Russia", "RU"},
    {"Russian Federation", "RU"},
    {"San Marino", "SM"},
    {"Serbia", "RS"},
    {"Slovakia", "SK"},
    {"Slovenia", "SI"},
    {"Spain", "ES"},
    {"Sweden", "SE"},
    {"Switzerland", "CH"},
    {"Turkey", "TR"},
    {"Türkiye", "TR"},
    {"Ukraine", "UA"},
    {"United Kingdom", "GB"},
    {"Great Britain", "GB"},
    {"UK", "GB"},
    {"Holy See", "VA"},
    {"Vatican City", "VA"},
    // Beyond Europe.
    {"United States", "US"},
    {"United States of America", "US"},
    {"USA", "US"},
    {"Canada", "CA"},
    {"Mexico", "MX"},
    {"Brazil", "BR"},
    {"Argentina", "AR"},
    {"China", "CN"},
    {"Japan", "JP"},
    {"South Korea", "KR"},
    {"Republic of Korea", "KR"},
    {"India", "IN"},
    {"Philippines", "PH"},
    {"Vietnam", "VN"},
    {"Viet Nam", "VN"},
    {"Singapore", "SG"},
    {"Australia", "AU"},
    {"New Zealand", "NZ"},
    {"South Africa", "ZA"},
    {"Egypt", "EG"},
    {"Morocco", "MA"},
    {"Israel", "IL"},
    {"United Arab Emirates", "AE"},
    {"Saudi Arabia", "SA"},
    {"Kuwait", "KW"},
    {"Bahrain", "BH"},
};

struct CodeDecimals {
  std::string_view code;
  int decimals;
};

// ISO 4217 minor units. Note HUF: ISO 4217 says 2, although fillér coins are long gone.
constexpr CodeDecimals kCurrencies[] = {
    {"EUR", 2}, {"RON", 2}, {"USD", 2}, {"GBP", 2}, {"CHF", 2}, {"PLN", 2}, {"CZK", 2}, {"HUF", 2}, {"SEK", 2},
    {"NOK", 2}, {"DKK", 2}, {"BGN", 2}, {"RSD", 2}, {"MDL", 2}, {"UAH", 2}, {"TRY", 2}, {"CAD", 2}, {"AUD", 2},
    {"NZD", 2}, {"CNY", 2}, {"INR", 2}, {"BRL", 2}, {"MXN", 2}, {"ZAR", 2}, {"SGD", 2}, {"HKD", 2}, {"ILS", 2},
    {"AED", 2}, {"SAR", 2}, {"JPY", 0}, {"KRW", 0}, {"ISK", 0}, {"CLP", 0}, {"VND", 0}, {"BHD", 3}, {"KWD", 3},
    {"OMR", 3}, {"JOD", 3}, {"TND", 3}, {"LYD", 3}, {"IQD", 3},
};

// ---- small text helpers -------------------------------------------------------------------------

std::string_view trim(std::string_view s) {
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  return s;
}

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string ascii_upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

bool all_digits(std::string_view s) {
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// `text` in quotes for an error message, cut to 64 bytes (at a UTF-8 boundary) so a huge field
// cannot blow up the reply.
std::string quoted(std::string_view text) {
  constexpr std::size_t kMax = 64;
  if (text.size() <= kMax) return "'" + std::string(text) + "'";
  std::size_t n = kMax;
  while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
  return "'" + std::string(text.substr(0, n)) + "...'";
}

std::string zero_padded(unsigned value, std::size_t width) {
  auto s = std::to_string(value);
  return s.size() >= width ? s : std::string(width - s.size(), '0') + s;
}

// "a number", "an object", ... for "expected X, got Y".
std::string kind_name(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null: return "null";
    case json::kind::bool_: return "a boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_: return "a number";
    case json::kind::string: return "a string";
    case json::kind::array: return "an array";
    case json::kind::object: return "an object";
  }
  return "an unknown JSON value";
}

// ---- decimal amounts ----------------------------------------------------------------------------

enum class AmountProblem { not_a_number, negative, too_many_decimals, too_large };

// "1234.56" with `decimals` = 2 → 123456. Accepts digits with an optional '.' and at least one
// digit on each side; a leading '-' is recognised only to say "negative". Integers only.
std::variant<std::int64_t, AmountProblem> parse_minor(std::string_view text, int decimals) {
  bool negative = !text.empty() && text.front() == '-';
  if (negative) text.remove_prefix(1);
  auto dot = text.find('.');
  auto whole = text.substr(0, dot);
  auto fraction = dot == std::string_view::npos ? std::string_view() : text.substr(dot + 1);
  if (whole.empty() || !all_digits(whole) ||
      (dot != std::string_view::npos && (fraction.empty() || !all_digits(fraction)))) {
    return AmountProblem::not_a_number;
  }
  if (negative) return AmountProblem::negative;
  while (!fraction.empty() && fraction.back() == '0') fraction.remove_suffix(1);  // exact either way
  if (fraction.size() > static_cast<std::size_t>(decimals)) return AmountProblem::too_many_decimals;

  // value*10 + 9 stays far below 2^63 while value <= kMaxMinorUnits: no overflow on the way.
  std::int64_t value = 0;
  auto push = [&value](char digit) {
    value = value * 10 + (digit - '0');
    return value <= kMaxMinorUnits;
  };
  for (char c : whole) {
    if (!push(c)) return AmountProblem::too_large;
  }
  for (int i = 0; i < decimals; ++i) {
    if (!push(static_cast<std::size_t>(i) < fraction.size() ? fraction[static_cast<std::size_t>(i)] : '0')) {
      return AmountProblem::too_large;
    }
  }
  return value;
}

// Significant decimals of a decimal text ("1.2300" → 2), for the error message.
std::size_t decimals_of(std::string_view text) {
  auto dot = text.find('.');
  if (dot == std::string_view::npos) return 0;
  auto fraction = text.substr(dot + 1);
  while (!fraction.empty() && fraction.back() == '0') fraction.remove_suffix(1);
  return fraction.size();
}

// 123456 with 2 decimals → "1234.56".
std::string format_minor(std::int64_t minor, int decimals) {
  auto digits = std::to_string(minor);
  if (decimals == 0) return digits;
  auto d = static_cast<std::size_t>(decimals);
  if (digits.size() <= d) digits.insert(0, d + 1 - digits.size(), '0');
  digits.insert(digits.size() - d, ".");
  return digits;
}

std::string example_amount(const Currency& currency) {
  switch (currency.decimals) {
    case 0: return "\"1234\"";
    case 3: return "\"1234.567\"";
    default: return "\"1234.56\"";
  }
}

// "1 decimal", "3 decimals".
std::string decimals_text(std::size_t n) { return std::to_string(n) + (n == 1 ? " decimal" : " decimals"); }

std::string decimals_phrase(const Currency& currency) {
  return currency.code + " has " + decimals_text(static_cast<std::size_t>(currency.decimals));
}

// The shortest decimal text that reads back as `d` (std::to_chars without a precision).
std::string shortest_decimal(double d) {
  std::array<char, 512> buf{};  // a double in fixed notation needs at most ~330 characters
  auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), d, std::chars_format::fixed);
  if (ec != std::errc()) return "not-a-number";
  return std::string(buf.data(), end);
}

// 10^n for the few n the currencies need (0..3).
std::int64_t pow10(int n) {
  std::int64_t p = 1;
  for (int i = 0; i < n; ++i) p *= 10;
  return p;
}

// ---- request fields -----------------------------------------------------------------------------

// The object `parent[key]`, or an error naming `path`.
Result<const json::object*> object_member(const json::object& parent, std::string_view key, const std::string& path,
                                          const std::string& expected) {
  const auto* v = parent.if_contains(key);
  if (!v || v->is_null()) return invalid_field(path, path + ": missing; expected " + expected);
  if (!v->is_object()) return invalid_field(path, path + ": expected " + expected + ", got " + kind_name(*v));
  return &v->get_object();
}

// The non-blank string `parent[key]`, trimmed, or an error naming `path`.
Result<std::string> text_member(const json::object& parent, std::string_view key, const std::string& path,
                                const std::string& expected) {
  const auto* v = parent.if_contains(key);
  if (!v || v->is_null()) return invalid_field(path, path + ": missing; expected " + expected);
  if (!v->is_string()) return invalid_field(path, path + ": expected " + expected + ", got " + kind_name(*v));
  auto text = trim(v->get_string());
  if (text.empty()) return invalid_field(path, path + ": is empty; expected " + expected);
  return std::string(text);
}

const char* const kMonthNames[] = {"January", "February", "March",     "April",   "May",      "June",
                                   "July",    "August",   "September", "October", "November", "December"};

// ---- the handler --------------------------------------------------------------------------------

class OnboardingHandler final : public fxconnect::Handler {
 public:
  explicit OnboardingHandler(Settings settings) : settings_(settings) {}

  // No legacy call in this example: the reply is computed inline (a real connector would send the
  // converted body to the core-banking system here, on call->executor(), and reply when it answers).
  void handle(std::shared_ptr<fxconnect::Call> call) override {
    Result<fxconnect::Reply> outcome = [&]() -> Result<fxconnect::Reply> {
      try {
        auto body = onboard(call->request().json, lists_, settings_, new_correlation_id(), today_utc());
        if (!body) return body.error();
        return fxconnect::Reply::json(body.value());
      } catch (const std::exception& e) {  // e.g. no entropy for the UUID, out of memory
        return Error{ErrorCode::internal, std::string("onboarding: ") + e.what(), true, std::nullopt};
      }
    }();
    try {
      call->finish(std::move(outcome));
    } catch (...) {
      // Nothing may escape handle(); a call dropped unfinished is answered `internal` by the runtime.
    }
  }

 private:
  const ValueLists lists_;  // built here, once, in the factory; read-only from then on
  const Settings settings_;
};

}  // namespace

// ---- conversions --------------------------------------------------------------------------------

Result<std::string> convert_date(std::string_view text, const std::string& field) {
  bool shape = text.size() == 10 && text[2] == '/' && text[5] == '/';
  for (std::size_t i : {0, 1, 3, 4, 6, 7, 8, 9}) shape = shape && text[i] >= '0' && text[i] <= '9';
  if (!shape) {
    return invalid_field(field,
                         field + ": " + quoted(text) + " is not a date in dd/MM/yyyy; expected e.g. '24/02/1990'");
  }
  auto number = [text](std::size_t at, std::size_t len) {
    unsigned n = 0;
    for (std::size_t i = at; i < at + len; ++i) n = n * 10 + static_cast<unsigned>(text[i] - '0');
    return n;
  };
  unsigned day = number(0, 2), month = number(3, 2), year = number(6, 4);

  std::string why;
  if (month < 1 || month > 12) {
    why = "there is no month " + std::string(text.substr(3, 2));
  } else if (day < 1) {
    why = "there is no day 00";
  } else {
    namespace chr = std::chrono;  // knows the month lengths, leap years included
    auto last = static_cast<unsigned>(
        chr::year_month_day_last(chr::year(static_cast<int>(year)), chr::month_day_last(chr::month(month))).day());
    if (day > last) {
      why = std::string(kMonthNames[month - 1]) + " " + zero_padded(year, 4) + " has " + std::to_string(last) + " days";
    }
  }
  if (!why.empty()) {
    return invalid_field(field, field + ": " + quoted(text) + " is not a calendar date in dd/MM/yyyy (" + why + ")");
  }
  return zero_padded(year, 4) + "-" + zero_padded(month, 2) + "-" + zero_padded(day, 2);
}

Result<std::int64_t> to_minor_units(const json::value& amount, const Currency& currency, const std::string& field) {
  std::string text;
  switch (amount.kind()) {
    case json::kind::string: text = amount.get_string(); break;
    case json::kind::int64: text = std::to_string(amount.get_int64()); break;
    case json::kind::uint64: text = std::to_string(amount.get_uint64()); break;
    case json::kind::double_: text = shortest_decimal(amount.get_double()); break;
    default:
      return invalid_field(field, field + ": expected an amount as a decimal string such as " +
                                      example_amount(currency) + " or a JSON number, got " + kind_name(amount));
  }
  auto parsed = parse_minor(text, currency.decimals);
  if (const auto* minor = std::get_if<std::int64_t>(&parsed)) return *minor;
  switch (std::get<AmountProblem>(parsed)) {
    case AmountProblem::not_a_number:
      return invalid_field(field,
                           field + ": " + quoted(text) + " is not an amount; expected a decimal number such as " +
                               example_amount(currency) + " ('.' as separator, " + decimals_phrase(currency) + ")");
    case AmountProblem::negative:
      return invalid_field(field, field + ": " + quoted(text) + " is negative; expected an amount greater than zero");
    case AmountProblem::too_many_decimals:
      return invalid_field(field, field + ": " + quoted(text) + " has " + decimals_text(decimals_of(text)) + " but " +
                                      decimals_phrase(currency) + "; expected e.g. " + example_amount(currency));
    case AmountProblem::too_large:
      return invalid_field(field, field + ": " + quoted(text) + " is too large; expected at most " +
                                      format_minor(kMaxMinorUnits, currency.decimals) + " " + currency.code);
  }
  return Error{ErrorCode::internal, field + ": unexpected amount problem", false, field};  // unreachable
}

// ---- value lists --------------------------------------------------------------------------------

ValueLists::ValueLists() {
  for (const auto& [name, code] : kCountries) {
    if (!countries_.emplace(ascii_lower(name), std::string(code)).second) {
      throw std::logic_error("country value list: '" + std::string(name) + "' is listed twice");
    }
  }
  for (const auto& [code, decimals] : kCurrencies) {
    if (!currencies_.emplace(std::string(code), decimals).second) {
      throw std::logic_error("currency value list: '" + std::string(code) + "' is listed twice");
    }
  }
}

std::optional<std::string_view> ValueLists::country_code(std::string_view name) const {
  auto it = countries_.find(ascii_lower(trim(name)));
  if (it == countries_.end()) return std::nullopt;
  return std::string_view(it->second);
}

std::optional<Currency> ValueLists::currency(std::string_view code) const {
  auto upper = ascii_upper(trim(code));
  auto it = currencies_.find(upper);
  if (it == currencies_.end()) return std::nullopt;
  return Currency{std::move(upper), it->second};
}

// ---- options, the conversion, the handler -------------------------------------------------------

Settings parse_settings(const fxconnect::HandlerOptions& options) {
  options.allow_only({"kyc_threshold"});
  Settings settings;
  auto it = options.values().find("kyc_threshold");
  if (it != options.values().end()) {
    auto parsed = parse_minor(trim(it->second.text), 3);
    const auto* milli = std::get_if<std::int64_t>(&parsed);
    if (!milli) {
      throw fxconnect::ConfigError(it->second.where + ": handler.options.kyc_threshold: " + quoted(it->second.text) +
                                   " is not an amount; expected a decimal number >= 0 with at most 3 decimals, "
                                   "e.g. 10000 or 2500.50");
    }
    settings.kyc_threshold_milli = *milli;
  }
  return settings;
}

Result<json::object> onboard(const json::value& request, const ValueLists& lists, const Settings& settings,
                             std::string_view correlation_id, std::string_view today) {
  const auto* root = request.if_object();
  if (!root) {
    return Error{ErrorCode::invalid_request,
                 "request: expected a JSON object with \"customer\" and \"loan\", got " + kind_name(request), false,
                 std::nullopt};
  }

  auto customer = object_member(*root, "customer", "customer",
                                "an object with id, firstName, lastName, birthDate (dd/MM/yyyy) and country");
  if (!customer) return customer.error();
  const auto& c = *customer.value();
  auto id = text_member(c, "id", "customer.id", "the customer's id in the process, a non-empty string");
  if (!id) return id.error();
  auto first_name = text_member(c, "firstName", "customer.firstName", "a non-empty string");
  if (!first_name) return first_name.error();
  auto last_name = text_member(c, "lastName", "customer.lastName", "a non-empty string");
  if (!last_name) return last_name.error();

  const std::string birth_field = "customer.birthDate";
  auto birth_text = text_member(c, "birthDate", birth_field, "a date in dd/MM/yyyy, e.g. '24/02/1990'");
  if (!birth_text) return birth_text.error();
  auto birth_date = convert_date(birth_text.value(), birth_field);
  if (!birth_date) return birth_date.error();
  if (birth_date.value() < "1900-01-01") {
    return invalid_field(birth_field, birth_field + ": " + quoted(birth_text.value()) +
                                          " is before 01/01/1900; expected a birth date from 1900 on");
  }
  if (birth_date.value() > today) {
    return invalid_field(birth_field, birth_field + ": " + quoted(birth_text.value()) +
                                          " is in the future; expected a birth date up to today (" +
                                          std::string(today) + ")");
  }

  auto country = text_member(c, "country", "customer.country", "a country name, e.g. 'Romania'");
  if (!country) return country.error();
  auto country_code = lists.country_code(country.value());
  if (!country_code) {
    return invalid_field("customer.country", "customer.country: " + quoted(country.value()) +
                                                 " is not in the country value list; expected an English country "
                                                 "name such as 'Romania', 'Germany' or 'United Kingdom'");
  }

  auto loan = object_member(*root, "loan", "loan", "an object with amount and currency");
  if (!loan) return loan.error();
  const auto& l = *loan.value();
  auto currency_text = text_member(l, "currency", "loan.currency", "an ISO 4217 code, e.g. 'RON'");
  if (!currency_text) return currency_text.error();
  auto currency = lists.currency(currency_text.value());
  if (!currency) {
    return invalid_field("loan.currency", "loan.currency: " + quoted(currency_text.value()) +
                                              " is not in the currency value list; expected an ISO 4217 code such "
                                              "as 'EUR', 'RON' or 'USD'");
  }
  const auto* amount = l.if_contains("amount");
  if (!amount || amount->is_null()) {
    return invalid_field("loan.amount",
                         "loan.amount: missing; expected an amount such as " + example_amount(*currency));
  }
  auto minor = to_minor_units(*amount, *currency, "loan.amount");
  if (!minor) return minor.error();
  if (minor.value() == 0) {
    return invalid_field("loan.amount", "loan.amount: is zero; expected an amount greater than zero");
  }

  // In thousandths of the currency, exact for 0..3 decimals and below 2^63 (kMaxMinorUnits * 1000).
  bool kyc_required = minor.value() * pow10(3 - currency->decimals) >= settings.kyc_threshold_milli;

  json::object reply;
  reply["customerRef"] = id.value();
  reply["firstName"] = first_name.value();
  reply["lastName"] = last_name.value();
  reply["birthDate"] = birth_date.value();
  reply["countryCode"] = *country_code;
  reply["amountMinor"] = minor.value();
  reply["currency"] = currency->code;
  reply["correlationId"] = correlation_id;
  reply["kycRequired"] = kyc_required;
  return reply;
}

std::string new_correlation_id() {
  // random_generator draws from the OS entropy source; one per thread, as it is not thread-safe.
  thread_local boost::uuids::random_generator generator;
  return boost::uuids::to_string(generator());
}

std::string today_utc() {
  using namespace std::chrono;
  year_month_day ymd{floor<days>(system_clock::now())};
  return zero_padded(static_cast<unsigned>(static_cast<int>(ymd.year())), 4) + "-" +
         zero_padded(static_cast<unsigned>(ymd.month()), 2) + "-" + zero_padded(static_cast<unsigned>(ymd.day()), 2);
}

std::unique_ptr<fxconnect::Handler> make_handler(const fxconnect::HandlerOptions& options) {
  return std::make_unique<OnboardingHandler>(parse_settings(options));
}

void register_onboarding(fxconnect::Registry& registry) {
  registry.add("onboarding",
               "bank onboarding: birth date dd/MM/yyyy -> ISO 8601, country name -> ISO 3166 code, amount -> "
               "minor units; adds correlationId and kycRequired (option kyc_threshold, default 10000)",
               make_handler);
}

}  // namespace onboarding
