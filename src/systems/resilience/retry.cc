#include "systems/resilience/retry.h"

#include <algorithm>
#include <array>
#include <charconv>

namespace fxconnect::systems {
namespace {

using std::chrono::milliseconds;

constexpr std::string_view kExpected = "expected connect, timeout, broken or an HTTP status";

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A left-to-right reader of the fixed grammar of an HTTP-date.
class DateReader {
 public:
  explicit DateReader(std::string_view text) : text_(text) {}

  bool literal(std::string_view s) {
    if (text_.substr(0, s.size()) != s) return false;
    text_.remove_prefix(s.size());
    return true;
  }
  // Exactly `n` digits.
  bool number(std::size_t n, int& out) {
    if (text_.size() < n || !all_digits(text_.substr(0, n))) return false;
    out = 0;
    for (std::size_t i = 0; i < n; ++i) out = out * 10 + (text_[i] - '0');
    text_.remove_prefix(n);
    return true;
  }
  // One of `words` (case-sensitive, as RFC 9110 says): its index.
  template <std::size_t N>
  std::optional<int> word(const std::array<std::string_view, N>& words) {
    for (std::size_t i = 0; i < N; ++i) {
      if (literal(words[i])) return static_cast<int>(i);
    }
    return std::nullopt;
  }
  bool done() const { return text_.empty(); }

 private:
  std::string_view text_;
};

constexpr std::array<std::string_view, 7> kDays = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
constexpr std::array<std::string_view, 7> kLongDays = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                                       "Friday", "Saturday", "Sunday"};
constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

struct DateParts {
  int year = 0;
  int month = 0;  // 1-12
  int day = 0;
  int hour = 0;
  int minute = 0;
  int second = 0;
};

// time-of-day = hour ":" minute ":" second (00:00:00 - 23:59:60, the last for a leap second).
bool read_time(DateReader& r, DateParts& p) {
  return r.number(2, p.hour) && r.literal(":") && r.number(2, p.minute) && r.literal(":") && r.number(2, p.second) &&
         p.hour <= 23 && p.minute <= 59 && p.second <= 60;
}

bool read_month(DateReader& r, DateParts& p) {
  auto m = r.word(kMonths);
  if (!m) return false;
  p.month = *m + 1;
  return true;
}

// IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT".
std::optional<DateParts> read_imf_fixdate(std::string_view text) {
  DateReader r(text);
  DateParts p;
  if (r.word(kDays) && r.literal(", ") && r.number(2, p.day) && r.literal(" ") && read_month(r, p) && r.literal(" ") &&
      r.number(4, p.year) && r.literal(" ") && read_time(r, p) && r.literal(" GMT") && r.done()) {
    return p;
  }
  return std::nullopt;
}

// rfc850-date: "Sunday, 06-Nov-94 08:49:37 GMT"; the year is placed in the century that puts it
// within 50 years of `this_year` (RFC 9110 5.6.7: a date more than 50 years ahead is in the past).
std::optional<DateParts> read_rfc850_date(std::string_view text, int this_year) {
  DateReader r(text);
  DateParts p;
  int yy = 0;
  if (!(r.word(kLongDays) && r.literal(", ") && r.number(2, p.day) && r.literal("-") && read_month(r, p) &&
        r.literal("-") && r.number(2, yy) && r.literal(" ") && read_time(r, p) && r.literal(" GMT") && r.done())) {
    return std::nullopt;
  }
  p.year = this_year - this_year % 100 + yy;
  if (p.year > this_year + 50) {
    p.year -= 100;
  } else if (p.year <= this_year - 50) {
    p.year += 100;
  }
  return p;
}

// asctime-date: "Sun Nov  6 08:49:37 1994" (a one-digit day is preceded by a space).
std::optional<DateParts> read_asctime_date(std::string_view text) {
  DateReader r(text);
  DateParts p;
  if (!(r.word(kDays) && r.literal(" ") && read_month(r, p) && r.literal(" "))) return std::nullopt;
  if (!(r.literal(" ") ? r.number(1, p.day) : r.number(2, p.day))) return std::nullopt;
  if (r.literal(" ") && read_time(r, p) && r.literal(" ") && r.number(4, p.year) && r.done()) return p;
  return std::nullopt;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<std::string> check_retry_conditions(const std::vector<std::string>& on) {
  for (const auto& condition : on) {
    if (condition == "connect" || condition == "timeout" || condition == "broken") continue;
    if (condition.size() == 3 && all_digits(condition) && condition >= "100" && condition <= "599") continue;
    if (condition == "tls") {
      return "'tls' is not a retry condition: a failed certificate verification fails the same way again; " +
             std::string(kExpected);
    }
    return "'" + condition + "' is not a retry condition; " + std::string(kExpected);
  }
  return std::nullopt;
}

bool RetryPolicy::retried_on(const AttemptFailure& failure) const {
  std::string condition;
  switch (failure.kind) {
    case AttemptFailure::Kind::connect: condition = "connect"; break;
    case AttemptFailure::Kind::timeout: condition = "timeout"; break;
    case AttemptFailure::Kind::broken: condition = "broken"; break;
    case AttemptFailure::Kind::status: condition = std::to_string(failure.status); break;
    case AttemptFailure::Kind::tls: return false;
  }
  return std::find(settings_.on.begin(), settings_.on.end(), condition) != settings_.on.end();
}

std::optional<milliseconds> RetryPolicy::next_wait(int attempt, const AttemptFailure& failure, bool idempotent,
                                                   Clock::time_point now, Clock::time_point deadline,
                                                   milliseconds min_attempt, std::mt19937_64& random,
                                                   std::chrono::system_clock::time_point wall_now) const {
  attempt = std::max(attempt, 1);
  if (attempt >= std::max(settings_.attempts, 1)) return std::nullopt;
  if (!retried_on(failure)) return std::nullopt;  // tls included: never
  // A request that was (maybe) sent may have had its effect: repeat it only if that is harmless.
  if (!idempotent && failure.kind != AttemptFailure::Kind::connect && !settings_.retry_non_idempotent) {
    return std::nullopt;
  }

  // backoff * 2^(attempt-1), capped, without overflow.
  const std::int64_t cap = std::max<std::int64_t>(settings_.max_backoff.count(), 0);
  std::int64_t bound = std::clamp<std::int64_t>(settings_.backoff.count(), 0, cap);
  for (int i = 1; i < attempt && bound > 0 && bound < cap; ++i) bound = bound > cap / 2 ? cap : bound * 2;
  milliseconds wait(std::uniform_int_distribution<std::int64_t>(0, bound)(random));

  if (failure.retry_after) {
    if (auto asked = parse_retry_after(*failure.retry_after, wall_now); asked && *asked > wait) wait = *asked;
  }

  // Room for the wait and one more attempt before the deadline. The wait and min_attempt are whole
  // milliseconds, so comparing with the floor of what is left is exact.
  const auto left = std::chrono::floor<milliseconds>(deadline - now);
  const auto needed = std::max(min_attempt, milliseconds(0));
  if (left < needed || wait > left - needed) return std::nullopt;
  return wait;
}

std::optional<milliseconds> parse_retry_after(std::string_view value, std::chrono::system_clock::time_point wall_now) {
  value = trim(value);
  if (all_digits(value)) {  // delta-seconds
    std::uint64_t seconds = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    const auto max_seconds =
        static_cast<std::uint64_t>(std::chrono::floor<std::chrono::seconds>(max_retry_after).count());
    if (ec == std::errc::result_out_of_range || seconds > max_seconds) return max_retry_after;
    return std::chrono::seconds(seconds);
  }

  using namespace std::chrono;
  const int this_year = static_cast<int>(year_month_day(floor<days>(wall_now)).year());
  auto parts = read_imf_fixdate(value);
  if (!parts) parts = read_rfc850_date(value, this_year);
  if (!parts) parts = read_asctime_date(value);
  if (!parts) return std::nullopt;
  const year_month_day date{year(parts->year), month(static_cast<unsigned>(parts->month)),
                            day(static_cast<unsigned>(parts->day))};
  if (!date.ok()) return std::nullopt;  // "31 Feb"
  const sys_time<milliseconds> at =
      sys_days(date) + hours(parts->hour) + minutes(parts->minute) + seconds(parts->second);
  // wall_now floored: `at` is whole milliseconds, so this is the exact wait rounded up.
  const milliseconds wait = at - floor<milliseconds>(wall_now);
  if (wait <= milliseconds(0)) return milliseconds(0);
  return std::min(wait, max_retry_after);
}

bool idempotent_method(std::string_view method) {
  constexpr std::array<std::string_view, 6> kIdempotent = {"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"};
  return std::find(kIdempotent.begin(), kIdempotent.end(), method) != kIdempotent.end();
}

}  // namespace fxconnect::systems
