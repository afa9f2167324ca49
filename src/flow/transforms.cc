#include "flow/transforms.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <exception>
#include <mutex>
#include <random>

#include <date/date.h>
#include <date/tz.h>
#include <fmt/format.h>

#include "core/json_exact.h"

namespace fxconnect::flow {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using sys_ms = date::sys_time<milliseconds>;
using local_ms = date::local_time<milliseconds>;

Error bad(std::string message) { return Error{ErrorCode::invalid_request, std::move(message), false, std::nullopt}; }

Error wrong_type(std::string_view expected, const json::value& v) {
  return bad(fmt::format("expected {}, got {}", expected, type_name(v)));
}

std::string_view view(const json::string& s) { return {s.data(), s.size()}; }

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool all_digits(std::string_view s) { return std::all_of(s.begin(), s.end(), is_digit); }

int to_int(std::string_view digits) {
  int n = 0;
  std::from_chars(digits.data(), digits.data() + digits.size(), n);
  return n;
}

// ---------------------------------------------------------------------------------------------
// Date formats
//
// Pattern letters (Java DateTimeFormatter's, a fixed-width subset): yyyy MM dd HH mm ss SSS, and
// the offsets XXX (Z or +02:00), XX (Z or +0200), xxx (+00:00 or +02:00), xx and Z (+0000 or
// +0200). On input every offset letter reads Z, +02:00 and +0200. Each field has exactly its
// width in digits ('1/2/1990' does not match dd/MM/yyyy). An input pattern needs yyyy, MM and dd,
// each field once, and a time from the hour down (HH, HH:mm, ...).
//
// Zones: a value with an offset (or epoch_ms) is an instant; one without is local time in `zone`.
// A date alone (no time, no offset) written by a format without a time keeps its calendar day
// whatever the zones; written with a time (or as epoch_ms) it is the start of that day in `zone`.
// Sub-millisecond digits of ISO 8601 input are dropped.

constexpr std::string_view kAllowed =
    "the letters allowed are yyyy MM dd HH mm ss SSS and the offsets XXX (Z or +02:00), XX (Z or +0200), "
    "xxx (+00:00), xx or Z (+0000); put other letters in 'quotes'";

// What to say about a run of `count` letters `c` that is not a supported field, or "" when it is one.
std::string letter_problem(char c, std::size_t count) {
  auto run = std::string(count, c);
  switch (c) {
    case 'y':
    case 'u':
      if (c == 'y' && count == 4) return "";
      if (count == 2) return fmt::format("'{}' is a two-digit year (ambiguous): write yyyy", run);
      return fmt::format("'{}' is not supported: write yyyy (a 4-digit year)", run);
    case 'Y': return fmt::format("'{}' is a week-based year in Java: write yyyy", run);
    case 'M':
      if (count == 2) return "";
      if (count >= 3) return fmt::format("'{}' (a month name) is not supported: write MM", run);
      return fmt::format("'{}' is not supported: write MM (a 2-digit month)", run);
    case 'L': return fmt::format("'{}' is not supported: write MM", run);
    case 'd':
      if (count == 2) return "";
      return fmt::format("'{}' is not supported: write dd (a 2-digit day)", run);
    case 'D': return fmt::format("'{}' is the day of the year in Java: write dd", run);
    case 'H':
      if (count == 2) return "";
      return fmt::format("'{}' is not supported: write HH (a 2-digit hour, 00 to 23)", run);
    case 'h':
    case 'K':
    case 'k': return fmt::format("'{}' (a 12-hour or 1-24 clock) is not supported: write HH (00 to 23)", run);
    case 'm':
      if (count == 2) return "";
      return fmt::format("'{}' is not supported: write mm (2-digit minutes)", run);
    case 's':
      if (count == 2) return "";
      return fmt::format("'{}' is not supported: write ss (2-digit seconds)", run);
    case 'S':
      if (count == 3) return "";
      return fmt::format("'{}' is not supported: write SSS (milliseconds)", run);
    case 'X':
    case 'x':
      if (count == 2 || count == 3) return "";
      return fmt::format("'{}' is not supported: write XXX (Z or +02:00)", run);
    case 'Z':
      if (count <= 2) return "";
      return fmt::format("'{}' is not supported: write XXX (Z or +02:00)", run);
    case 'a': return fmt::format("'{}' (AM/PM) is not supported: write HH (00 to 23)", run);
    case 'T':
      return fmt::format("'{}' is not a field: put literal letters in quotes, as in yyyy-MM-dd'T'HH:mm:ss", run);
    default: return fmt::format("'{}' is not a supported letter", run);
  }
}

char piece_letter(char c, std::size_t count) {
  switch (c) {
    case 'X': return count == 3 ? 'X' : 'W';
    case 'x': return count == 3 ? 'x' : 'Z';
    default: return c;
  }
}

// The pattern text of a field, for messages ("dd needs 2 digits").
std::string_view field_text(char letter) {
  switch (letter) {
    case 'y': return "yyyy";
    case 'M': return "MM";
    case 'd': return "dd";
    case 'H': return "HH";
    case 'm': return "mm";
    case 's': return "ss";
    case 'S': return "SSS";
    case 'X': return "XXX";
    case 'x': return "xxx";
    case 'W': return "XX";
    default: return "Z";
  }
}

std::size_t field_width(char letter) {
  switch (letter) {
    case 'y': return 4;
    case 'S': return 3;
    default: return 2;
  }
}

bool is_offset_letter(char letter) { return letter == 'X' || letter == 'x' || letter == 'W' || letter == 'Z'; }
bool is_time_letter(char letter) { return letter == 'H' || letter == 'm' || letter == 's' || letter == 'S'; }

// The fields read from an input value.
struct Fields {
  int year = 1970;
  int month = 1;
  int day = 1;
  int hour = 0;
  int minute = 0;
  int second = 0;
  int millis = 0;
  bool has_time = false;
  std::optional<seconds> offset;  // when the text carried one
  std::optional<sys_ms> instant;  // epoch_ms: the instant itself
};

constexpr std::array<std::string_view, 12> kMonths = {"January",   "February", "March",    "April",
                                                      "May",       "June",     "July",     "August",
                                                      "September", "October",  "November", "December"};

// The calendar and clock check: "" or the reason in parentheses' words.
std::string calendar_problem(const Fields& f) {
  if (f.month < 1 || f.month > 12) return fmt::format("month {:02}; months are 01 to 12", f.month);
  if (f.day < 1) return fmt::format("day {:02}; days start at 01", f.day);
  auto last = date::year_month_day_last(date::year{f.year}, date::month_day_last(date::month(f.month))).day();
  auto days = static_cast<int>(static_cast<unsigned>(last));
  if (f.day > days) return fmt::format("{} {:04} has {} days", kMonths.at(f.month - 1), f.year, days);
  return "";
}

std::string clock_problem(const Fields& f) {
  if (f.hour > 23) return fmt::format("hour {:02}; hours are 00 to 23", f.hour);
  if (f.minute > 59) return fmt::format("minute {:02}; minutes are 00 to 59", f.minute);
  if (f.second > 59) return fmt::format("second {:02}; seconds are 00 to 59", f.second);
  return "";
}

// Reads an offset at `text[pos...]`: Z, +HH:MM, +HHMM (and +HH when `hour_only`). Returns the
// offset and the characters read, or nullopt.
std::optional<std::pair<seconds, std::size_t>> read_offset(std::string_view text, std::size_t pos, bool hour_only) {
  if (pos >= text.size()) return std::nullopt;
  if (text[pos] == 'Z' || text[pos] == 'z') return std::pair{seconds(0), std::size_t{1}};
  if (text[pos] != '+' && text[pos] != '-') return std::nullopt;
  int sign = text[pos] == '-' ? -1 : 1;
  auto rest = text.substr(pos + 1);
  auto two = [&](std::size_t at) { return rest.size() >= at + 2 && is_digit(rest[at]) && is_digit(rest[at + 1]); };
  if (!two(0)) return std::nullopt;
  int hours = to_int(rest.substr(0, 2));
  int mins = 0;
  std::size_t used = 3;
  if (rest.size() >= 3 && rest[2] == ':' && two(3)) {
    mins = to_int(rest.substr(3, 2));
    used = 6;
  } else if (two(2)) {
    mins = to_int(rest.substr(2, 2));
    used = 5;
  } else if (!hour_only) {
    return std::nullopt;
  }
  if (hours > 18 || mins > 59) return std::nullopt;
  return std::pair{seconds(sign * (hours * 3600 + mins * 60)), used};
}

std::string show_offset(seconds offset, bool z_for_zero, bool colon) {
  if (offset == seconds(0) && z_for_zero) return "Z";
  auto total = offset.count();
  char sign = total < 0 ? '-' : '+';
  if (total < 0) total = -total;
  auto h = total / 3600;
  auto m = (total / 60) % 60;
  auto s = total % 60;
  std::string out = colon ? fmt::format("{}{:02}:{:02}", sign, h, m) : fmt::format("{}{:02}{:02}", sign, h, m);
  if (s != 0) out += colon ? fmt::format(":{:02}", s) : fmt::format("{:02}", s);  // historic local mean times
  return out;
}

std::string quote(std::string_view s) { return fmt::format("'{}'", s); }

// What a piece of the text looks like for "found '1/'".
std::string excerpt(std::string_view text, std::size_t pos, std::size_t n) { return quote(text.substr(pos, n)); }

// Reads `text` by a compiled pattern.
template <class Pieces>
Result<Fields> read_pattern(std::string_view text, const Pieces& pieces, std::string_view pattern) {
  Fields f;
  auto mismatch = [&](const std::string& why) {
    return bad(fmt::format("{} does not match {} ({})", quote(text), pattern, why));
  };
  std::size_t pos = 0;
  for (const auto& piece : pieces) {
    if (piece.letter == 0) {
      if (text.substr(pos, piece.literal.size()) != piece.literal) {
        if (pos >= text.size()) return mismatch(fmt::format("the text ends where {} should be", quote(piece.literal)));
        return mismatch(fmt::format("expected {} at character {}, found {}", quote(piece.literal), pos + 1,
                                    excerpt(text, pos, piece.literal.size())));
      }
      pos += piece.literal.size();
      continue;
    }
    if (pos >= text.size()) return mismatch(fmt::format("the text ends where {} should be", field_text(piece.letter)));
    if (is_offset_letter(piece.letter)) {
      auto off = read_offset(text, pos, false);
      if (!off) {
        return mismatch(fmt::format("expected an offset such as Z, +02:00 or +0200 at character {}, found {}", pos + 1,
                                    excerpt(text, pos, 6)));
      }
      f.offset = off->first;
      pos += off->second;
      continue;
    }
    auto width = field_width(piece.letter);
    auto digits = text.substr(pos, width);
    if (digits.size() < width || !all_digits(digits)) {
      return mismatch(fmt::format("{} needs {} digits, found {} at character {}", field_text(piece.letter), width,
                                  excerpt(text, pos, width), pos + 1));
    }
    int n = to_int(digits);
    switch (piece.letter) {
      case 'y': f.year = n; break;
      case 'M': f.month = n; break;
      case 'd': f.day = n; break;
      case 'H': f.hour = n; break;
      case 'm': f.minute = n; break;
      case 's': f.second = n; break;
      default: f.millis = n; break;
    }
    if (is_time_letter(piece.letter)) f.has_time = true;
    pos += width;
  }
  if (pos < text.size())
    return mismatch(fmt::format("unexpected {} at character {}", quote(text.substr(pos)), pos + 1));
  return f;
}

constexpr std::string_view kIsoShapes = "such as 2026-03-01, 2026-03-01T09:00:00Z or 2026-03-01T09:00:00.250+02:00";

// ISO 8601: yyyy-MM-dd, optionally T (or t or a space) HH:mm[:ss[.fraction]] and an optional offset.
Result<Fields> read_iso(std::string_view text) {
  auto fail = [&] { return bad(fmt::format("{} is not an ISO 8601 date or date-time ({})", quote(text), kIsoShapes)); };
  auto digits_at = [&](std::size_t at, std::size_t n) {
    return at + n <= text.size() && all_digits(text.substr(at, n));
  };
  Fields f;
  if (!digits_at(0, 4) || text.size() < 10 || text[4] != '-' || !digits_at(5, 2) || text[7] != '-' ||
      !digits_at(8, 2)) {
    return fail();
  }
  f.year = to_int(text.substr(0, 4));
  f.month = to_int(text.substr(5, 2));
  f.day = to_int(text.substr(8, 2));
  if (text.size() == 10) return f;
  if (text[10] != 'T' && text[10] != 't' && text[10] != ' ') return fail();
  if (!digits_at(11, 2) || text.size() < 16 || text[13] != ':' || !digits_at(14, 2)) return fail();
  f.has_time = true;
  f.hour = to_int(text.substr(11, 2));
  f.minute = to_int(text.substr(14, 2));
  std::size_t pos = 16;
  if (pos < text.size() && text[pos] == ':') {
    if (!digits_at(pos + 1, 2)) return fail();
    f.second = to_int(text.substr(pos + 1, 2));
    pos += 3;
    if (pos < text.size() && (text[pos] == '.' || text[pos] == ',')) {
      std::size_t start = ++pos;
      while (pos < text.size() && is_digit(text[pos])) ++pos;
      auto fraction = text.substr(start, pos - start);
      if (fraction.empty() || fraction.size() > 9) return fail();
      // Milliseconds: finer digits are dropped (the transform works in milliseconds).
      std::string ms(fraction.substr(0, 3));
      ms.resize(3, '0');
      f.millis = to_int(ms);
    }
  }
  if (pos < text.size()) {
    auto off = read_offset(text, pos, true);
    if (!off || pos + off->second != text.size()) return fail();
    f.offset = off->first;
  }
  return f;
}

// epoch_ms: an integer number of milliseconds (a number, or a string of digits).
constexpr std::int64_t kMinMs = -62167219200000;  // 0000-01-01T00:00:00Z
constexpr std::int64_t kMaxMs = 253402300799999;  // 9999-12-31T23:59:59.999Z

Result<Fields> read_epoch_ms(const json::value& value) {
  std::string text;
  if (auto n = core::number_text(value)) {
    text = *n;
  } else if (value.is_string()) {
    text = std::string(view(value.get_string()));
  } else {
    return wrong_type("a number or a string of milliseconds since 1970 (epoch_ms)", value);
  }
  std::string_view digits = text;
  if (!digits.empty() && digits[0] == '-') digits.remove_prefix(1);
  if (digits.empty() || !all_digits(digits)) {
    return bad(fmt::format("{} is not a whole number of milliseconds since 1970 (epoch_ms)", quote(text)));
  }
  std::int64_t ms = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), ms);
  if (ec != std::errc() || ms < kMinMs || ms > kMaxMs) {
    return bad(fmt::format("{} milliseconds since 1970 is outside the years 0000 to 9999 (epoch_ms from {} to {})",
                           text, kMinMs, kMaxMs));
  }
  Fields f;
  f.has_time = true;
  f.instant = sys_ms(milliseconds(ms));
  return f;
}

std::string display_name(const std::string& pattern) {
  if (pattern == "iso") return "ISO 8601";
  return pattern;
}

// The local time of `f` as a count (no zone).
local_ms local_of(const Fields& f) {
  auto days = date::local_days(date::year{f.year} / date::month(f.month) / date::day(f.day));
  return local_ms(days) + std::chrono::hours(f.hour) + minutes(f.minute) + seconds(f.second) + milliseconds(f.millis);
}

std::string hh_mm(seconds since_midnight) {
  auto t = date::hh_mm_ss<seconds>(since_midnight);
  if (t.seconds().count() != 0) {
    return fmt::format("{:02}:{:02}:{:02}", t.hours().count(), t.minutes().count(), t.seconds().count());
  }
  return fmt::format("{:02}:{:02}", t.hours().count(), t.minutes().count());
}

seconds time_of_day(date::local_seconds t) { return t - date::floor<date::days>(t); }

// The instant a local time in `zone` denotes. A time in a spring-forward gap is an error unless
// `start_of_day` (a date alone: the day starts when the gap ends); a time that exists twice takes
// the earlier offset.
Result<sys_ms> to_instant(local_ms local, const date::time_zone& zone, bool start_of_day, std::string_view text) {
  auto info = zone.get_info(date::floor<seconds>(local));
  switch (info.result) {
    case date::local_info::nonexistent: {
      if (start_of_day) return sys_ms(info.first.end);
      auto from = date::local_seconds((info.first.end + info.first.offset).time_since_epoch());
      auto to = date::local_seconds((info.first.end + info.second.offset).time_since_epoch());
      return bad(fmt::format("{} does not exist in {}: on {} the clocks went from {} to {}", quote(text), zone.name(),
                             date::format("%F", date::floor<date::days>(from)), hh_mm(time_of_day(from)),
                             hh_mm(time_of_day(to))));
    }
    case date::local_info::ambiguous:  // the first of the two (the offset before the change)
    case date::local_info::unique:
    default: return sys_ms(local.time_since_epoch() - info.first.offset);
  }
}

struct Local {
  date::year_month_day ymd;
  date::hh_mm_ss<milliseconds> time{milliseconds(0)};
  seconds offset{0};
};

Local in_zone(sys_ms instant, const date::time_zone& zone) {
  auto info = zone.get_info(date::floor<seconds>(instant));
  auto local = instant + info.offset;
  auto day = date::floor<date::days>(local);
  return Local{date::year_month_day(day), date::hh_mm_ss<milliseconds>(local - day), info.offset};
}

std::string write_iso(const Local& l, bool with_time) {
  auto date_part = fmt::format("{:04}-{:02}-{:02}", static_cast<int>(l.ymd.year()),
                               static_cast<unsigned>(l.ymd.month()), static_cast<unsigned>(l.ymd.day()));
  if (!with_time) return date_part;
  auto out = fmt::format("{}T{:02}:{:02}:{:02}", date_part, l.time.hours().count(), l.time.minutes().count(),
                         l.time.seconds().count());
  if (l.time.subseconds().count() != 0) out += fmt::format(".{:03}", l.time.subseconds().count());
  return out + show_offset(l.offset, true, true);
}

template <class Pieces>
std::string write_pattern(const Local& l, const Pieces& pieces) {
  std::string out;
  for (const auto& piece : pieces) {
    switch (piece.letter) {
      case 0: out += piece.literal; break;
      case 'y': out += fmt::format("{:04}", static_cast<int>(l.ymd.year())); break;
      case 'M': out += fmt::format("{:02}", static_cast<unsigned>(l.ymd.month())); break;
      case 'd': out += fmt::format("{:02}", static_cast<unsigned>(l.ymd.day())); break;
      case 'H': out += fmt::format("{:02}", l.time.hours().count()); break;
      case 'm': out += fmt::format("{:02}", l.time.minutes().count()); break;
      case 's': out += fmt::format("{:02}", l.time.seconds().count()); break;
      case 'S': out += fmt::format("{:03}", l.time.subseconds().count()); break;
      case 'X': out += show_offset(l.offset, true, true); break;
      case 'x': out += show_offset(l.offset, false, true); break;
      case 'W': out += show_offset(l.offset, true, false); break;
      default: out += show_offset(l.offset, false, false); break;
    }
  }
  return out;
}

const date::time_zone* find_zone(std::string_view name) {
  try {
    return date::locate_zone(name);
  } catch (const std::exception&) {
    return nullptr;
  }
}

}  // namespace

Result<DateFormat> DateFormat::parse(std::string_view pattern) {
  DateFormat f;
  f.pattern_ = std::string(pattern);
  if (pattern == "iso") {
    f.kind_ = Kind::iso;
    return f;
  }
  if (pattern == "epoch_ms") {
    f.kind_ = Kind::epoch_ms;
    return f;
  }
  if (pattern.empty()) return bad(fmt::format("the format is empty; {}, or iso or epoch_ms", kAllowed));
  auto literal = [&](std::string_view text) {
    if (!f.pieces_.empty() && f.pieces_.back().letter == 0) {
      f.pieces_.back().literal += text;
    } else {
      f.pieces_.push_back(Piece{0, std::string(text)});
    }
  };
  std::size_t i = 0;
  while (i < pattern.size()) {
    char c = pattern[i];
    if (c == '\'') {
      if (i + 1 < pattern.size() && pattern[i + 1] == '\'') {  // '' is a quote
        literal("'");
        i += 2;
        continue;
      }
      std::string text;
      std::size_t j = i + 1;
      for (;; ++j) {
        if (j >= pattern.size()) {
          return bad(fmt::format("{}: the quote at character {} is not closed (write '' for a quote character)",
                                 quote(pattern), i + 1));
        }
        if (pattern[j] == '\'') {
          if (j + 1 < pattern.size() && pattern[j + 1] == '\'') {
            text += '\'';
            ++j;
            continue;
          }
          break;
        }
        text += pattern[j];
      }
      literal(text);
      i = j + 1;
      continue;
    }
    bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!letter) {
      literal(pattern.substr(i, 1));
      ++i;
      continue;
    }
    std::size_t count = 1;
    while (i + count < pattern.size() && pattern[i + count] == c) ++count;
    auto problem = letter_problem(c, count);
    if (!problem.empty()) {
      return bad(
          fmt::format("{}: {} (character {}); {}, or iso or epoch_ms", quote(pattern), problem, i + 1, kAllowed));
    }
    f.pieces_.push_back(Piece{piece_letter(c, count), {}});
    i += count;
  }
  return f;
}

bool DateFormat::has_time() const {
  if (kind_ != Kind::pattern) return true;
  return std::any_of(pieces_.begin(), pieces_.end(), [](const Piece& p) { return is_time_letter(p.letter); });
}

bool DateFormat::has_offset() const {
  if (kind_ != Kind::pattern) return true;
  return std::any_of(pieces_.begin(), pieces_.end(), [](const Piece& p) { return is_offset_letter(p.letter); });
}

Result<DateTransform> DateTransform::make(std::string_view in, std::string_view out, std::string_view zone,
                                          std::string_view out_zone) {
  DateTransform t;
  auto in_format = DateFormat::parse(in);
  if (!in_format) return bad("in format " + in_format.error().message);
  auto out_format = DateFormat::parse(out);
  if (!out_format) return bad("out format " + out_format.error().message);
  t.in_ = std::move(in_format).value();
  t.out_ = std::move(out_format).value();
  // An input pattern must give a whole date, each field once, and a time from the hour down.
  if (t.in_.kind_ == DateFormat::Kind::pattern) {
    std::string seen;
    for (const auto& p : t.in_.pieces_) {
      if (p.letter == 0) continue;
      char key = is_offset_letter(p.letter) ? 'X' : p.letter;
      if (seen.find(key) != std::string::npos) {
        return bad(fmt::format("in format '{}': {} appears twice", t.in_.pattern_,
                               key == 'X' ? std::string_view("an offset") : field_text(p.letter)));
      }
      seen += key;
    }
    auto has = [&](char c) { return seen.find(c) != std::string::npos; };
    if (!has('y') || !has('M') || !has('d')) {
      return bad(fmt::format("in format '{}': a date needs yyyy, MM and dd", t.in_.pattern_));
    }
    if ((has('m') && !has('H')) || (has('s') && !has('m')) || (has('S') && !has('s'))) {
      return bad(fmt::format("in format '{}': a time needs its larger fields (HH, then mm, ss, SSS)", t.in_.pattern_));
    }
    if (has('X') && !has('H')) {
      return bad(fmt::format("in format '{}': an offset needs a time (HH)", t.in_.pattern_));
    }
  }
  t.zone_ = find_zone(zone.empty() ? std::string_view("UTC") : zone);
  if (t.zone_ == nullptr)
    return bad(fmt::format("zone '{}' is not an IANA time zone (such as Europe/Bucharest)", zone));
  if (out_zone.empty()) {
    t.out_zone_ = t.zone_;
  } else {
    t.out_zone_ = find_zone(out_zone);
    if (t.out_zone_ == nullptr) {
      return bad(fmt::format("out_zone '{}' is not an IANA time zone (such as Europe/Bucharest)", out_zone));
    }
  }
  return t;
}

Result<json::value> DateTransform::apply(const json::value& value) const {
  Fields f;
  std::string text;
  if (in_.kind_ == DateFormat::Kind::epoch_ms) {
    text = core::text_of(value);
    auto read = read_epoch_ms(value);
    if (!read) return read.error();
    f = read.value();
  } else {
    if (!value.is_string()) return wrong_type("a string", value);
    text = std::string(view(value.get_string()));
    auto read = in_.kind_ == DateFormat::Kind::iso ? read_iso(text) : read_pattern(text, in_.pieces_, in_.pattern_);
    if (!read) return read.error();
    f = read.value();
    if (auto why = calendar_problem(f); !why.empty()) {
      return bad(fmt::format("{} is not a calendar date in {} ({})", quote(text), display_name(in_.pattern_), why));
    }
    if (auto why = clock_problem(f); !why.empty()) {
      return bad(fmt::format("{} is not a valid time in {} ({})", quote(text), display_name(in_.pattern_), why));
    }
  }

  bool date_only = !f.has_time && !f.offset;
  bool out_time = out_.kind_ == DateFormat::Kind::iso ? !date_only : out_.has_time();
  Local local;
  if (date_only && !out_time && out_.kind_ != DateFormat::Kind::epoch_ms) {
    // A calendar date written as a calendar date: no zone moves it to another day.
    local.ymd = date::year{f.year} / date::month(f.month) / date::day(f.day);
    local.offset = in_zone(date::sys_days(local.ymd), *out_zone_).offset;
  } else {
    sys_ms instant;
    if (f.instant) {
      instant = *f.instant;
    } else if (f.offset) {
      instant = sys_ms(local_of(f).time_since_epoch() - *f.offset);
    } else {
      auto r = to_instant(local_of(f), *zone_, date_only, text);
      if (!r) return r.error();
      instant = r.value();
    }
    if (out_.kind_ == DateFormat::Kind::epoch_ms) return json::value(instant.time_since_epoch().count());
    local = in_zone(instant, *out_zone_);
  }
  auto year = static_cast<int>(local.ymd.year());
  if (year < 0 || year > 9999) {
    return bad(fmt::format("{} falls in the year {} in {}, outside the years 0000 to 9999", quote(text), year,
                           out_zone_->name()));
  }
  if (out_.kind_ == DateFormat::Kind::iso) return json::value(write_iso(local, out_time));
  return json::value(write_pattern(local, out_.pieces_));
}

std::string DateTransform::format(std::chrono::system_clock::time_point now) const {
  auto instant = date::floor<milliseconds>(now);
  if (out_.kind_ == DateFormat::Kind::epoch_ms) return std::to_string(instant.time_since_epoch().count());
  auto local = in_zone(instant, *out_zone_);
  if (out_.kind_ == DateFormat::Kind::iso) return write_iso(local, true);
  return write_pattern(local, out_.pieces_);
}

// ---------------------------------------------------------------------------------------------
// Minor units

namespace {

struct Currency {
  std::string_view code;
  int exponent;
};

// The active ISO 4217 codes (list one, including fund codes) with their minor units; codes whose
// minor unit is "N.A." (gold, SDR, test codes) have no minor units and are left out.
constexpr auto kCurrencies = std::to_array<Currency>({
    {"AED", 2}, {"AFN", 2}, {"ALL", 2}, {"AMD", 2}, {"ANG", 2}, {"AOA", 2}, {"ARS", 2}, {"AUD", 2}, {"AWG", 2},
    {"AZN", 2}, {"BAM", 2}, {"BBD", 2}, {"BDT", 2}, {"BGN", 2}, {"BHD", 3}, {"BIF", 0}, {"BMD", 2}, {"BND", 2},
    {"BOB", 2}, {"BOV", 2}, {"BRL", 2}, {"BSD", 2}, {"BTN", 2}, {"BWP", 2}, {"BYN", 2}, {"BZD", 2}, {"CAD", 2},
    {"CDF", 2}, {"CHE", 2}, {"CHF", 2}, {"CHW", 2}, {"CLF", 4}, {"CLP", 0}, {"CNY", 2}, {"COP", 2}, {"COU", 2},
    {"CRC", 2}, {"CUC", 2}, {"CUP", 2}, {"CVE", 2}, {"CZK", 2}, {"DJF", 0}, {"DKK", 2}, {"DOP", 2}, {"DZD", 2},
    {"EGP", 2}, {"ERN", 2}, {"ETB", 2}, {"EUR", 2}, {"FJD", 2}, {"FKP", 2}, {"GBP", 2}, {"GEL", 2}, {"GHS", 2},
    {"GIP", 2}, {"GMD", 2}, {"GNF", 0}, {"GTQ", 2}, {"GYD", 2}, {"HKD", 2}, {"HNL", 2}, {"HTG", 2}, {"HUF", 2},
    {"IDR", 2}, {"ILS", 2}, {"INR", 2}, {"IQD", 3}, {"IRR", 2}, {"ISK", 0}, {"JMD", 2}, {"JOD", 3}, {"JPY", 0},
    {"KES", 2}, {"KGS", 2}, {"KHR", 2}, {"KMF", 0}, {"KPW", 2}, {"KRW", 0}, {"KWD", 3}, {"KYD", 2}, {"KZT", 2},
    {"LAK", 2}, {"LBP", 2}, {"LKR", 2}, {"LRD", 2}, {"LSL", 2}, {"LYD", 3}, {"MAD", 2}, {"MDL", 2}, {"MGA", 2},
    {"MKD", 2}, {"MMK", 2}, {"MNT", 2}, {"MOP", 2}, {"MRU", 2}, {"MUR", 2}, {"MVR", 2}, {"MWK", 2}, {"MXN", 2},
    {"MXV", 2}, {"MYR", 2}, {"MZN", 2}, {"NAD", 2}, {"NGN", 2}, {"NIO", 2}, {"NOK", 2}, {"NPR", 2}, {"NZD", 2},
    {"OMR", 3}, {"PAB", 2}, {"PEN", 2}, {"PGK", 2}, {"PHP", 2}, {"PKR", 2}, {"PLN", 2}, {"PYG", 0}, {"QAR", 2},
    {"RON", 2}, {"RSD", 2}, {"RUB", 2}, {"RWF", 0}, {"SAR", 2}, {"SBD", 2}, {"SCR", 2}, {"SDG", 2}, {"SEK", 2},
    {"SGD", 2}, {"SHP", 2}, {"SLE", 2}, {"SLL", 2}, {"SOS", 2}, {"SRD", 2}, {"SSP", 2}, {"STN", 2}, {"SVC", 2},
    {"SYP", 2}, {"SZL", 2}, {"THB", 2}, {"TJS", 2}, {"TMT", 2}, {"TND", 3}, {"TOP", 2}, {"TRY", 2}, {"TTD", 2},
    {"TWD", 2}, {"TZS", 2}, {"UAH", 2}, {"UGX", 0}, {"USD", 2}, {"USN", 2}, {"UYI", 0}, {"UYU", 2}, {"UYW", 4},
    {"UZS", 2}, {"VED", 2}, {"VES", 2}, {"VND", 0}, {"VUV", 0}, {"WST", 2}, {"XAF", 0}, {"XCD", 2}, {"XCG", 2},
    {"XOF", 0}, {"XPF", 0}, {"YER", 2}, {"ZAR", 2}, {"ZMW", 2}, {"ZWG", 2}, {"ZWL", 2},
});

constexpr bool sorted_codes() {
  for (std::size_t i = 1; i < kCurrencies.size(); ++i) {
    if (!(kCurrencies.at(i - 1).code < kCurrencies.at(i).code)) return false;
  }
  return true;
}
static_assert(sorted_codes(), "kCurrencies must stay sorted (binary search)");

// A decimal literal split into sign, integer digits and fraction digits.
struct Decimal {
  bool negative = false;
  std::string integer;   // at least one digit
  std::string fraction;  // possibly empty
};

// Strict text: -?digits(.digits)? — no blanks, '+', exponent, separators, bare '.'.
std::optional<Decimal> parse_plain_decimal(std::string_view s) {
  Decimal d;
  if (!s.empty() && s[0] == '-') {
    d.negative = true;
    s.remove_prefix(1);
  }
  auto dot = s.find('.');
  auto integer = s.substr(0, dot);
  if (integer.empty() || !all_digits(integer)) return std::nullopt;
  d.integer = std::string(integer);
  if (dot != std::string_view::npos) {
    auto fraction = s.substr(dot + 1);
    if (fraction.empty() || !all_digits(fraction)) return std::nullopt;
    d.fraction = std::string(fraction);
  }
  return d;
}

// A JSON number's exact text (which may carry an exponent: 1e+21, 1.5E-3) as a plain decimal.
std::optional<Decimal> parse_number_text(std::string_view s) {
  auto e = s.find_first_of("eE");
  if (e == std::string_view::npos) return parse_plain_decimal(s);
  auto d = parse_plain_decimal(s.substr(0, e));
  if (!d) return std::nullopt;
  auto exp_text = s.substr(e + 1);
  if (!exp_text.empty() && exp_text[0] == '+') exp_text.remove_prefix(1);
  long exp = 0;
  auto [p, ec] = std::from_chars(exp_text.data(), exp_text.data() + exp_text.size(), exp);
  if (ec != std::errc() || p != exp_text.data() + exp_text.size() || exp > 4000 || exp < -4000) return std::nullopt;
  std::string digits = d->integer + d->fraction;
  long point = static_cast<long>(d->integer.size()) + exp;  // where the decimal point goes in `digits`
  if (point <= 0) {
    d->integer = "0";
    d->fraction = std::string(static_cast<std::size_t>(-point), '0') + digits;
  } else if (point >= static_cast<long>(digits.size())) {
    d->integer = digits + std::string(static_cast<std::size_t>(point) - digits.size(), '0');
    d->fraction.clear();
  } else {
    d->integer = digits.substr(0, static_cast<std::size_t>(point));
    d->fraction = digits.substr(static_cast<std::size_t>(point));
  }
  return d;
}

json::value integer_value(std::string_view literal) {
  std::int64_t i = 0;
  auto [p, ec] = std::from_chars(literal.data(), literal.data() + literal.size(), i);
  if (ec == std::errc() && p == literal.data() + literal.size()) return i;
  return core::raw_number(std::string(literal));
}

}  // namespace

std::optional<int> currency_exponent(std::string_view currency) {
  auto it = std::lower_bound(kCurrencies.begin(), kCurrencies.end(), currency,
                             [](const Currency& c, std::string_view code) { return c.code < code; });
  if (it == kCurrencies.end() || it->code != currency) return std::nullopt;
  return it->exponent;
}

Result<json::value> to_minor_units(const json::value& amount, std::string_view currency) {
  auto exponent = currency_exponent(currency);
  if (!exponent) {
    std::string upper_code(currency);
    for (auto& c : upper_code) {
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    }
    if (upper_code != currency && currency_exponent(upper_code)) {
      return bad(
          fmt::format("currency '{}' is not an ISO 4217 code: write it in upper case ({})", currency, upper_code));
    }
    return bad(fmt::format("currency '{}' is not an active ISO 4217 currency code (such as EUR, USD, JPY)", currency));
  }
  std::optional<Decimal> d;
  std::string text;
  if (auto n = core::number_text(amount)) {
    text = *n;
    d = parse_number_text(text);
  } else if (amount.is_string()) {
    text = std::string(view(amount.get_string()));
    d = parse_plain_decimal(text);
    if (!d) {
      return bad(
          fmt::format("'{}' is not a decimal amount: write digits with an optional '-' and '.' decimals, such "
                      "as 1234.56 (no blanks, '+', exponent or thousands separators)",
                      text));
    }
  } else {
    return wrong_type("a number or a string", amount);
  }
  if (!d) return bad(fmt::format("{} is not a decimal amount", text));
  auto places = static_cast<std::size_t>(*exponent);
  auto significant = d->fraction.find_last_not_of('0');
  auto decimals = significant == std::string::npos ? 0 : significant + 1;
  if (decimals > places) {
    return bad(
        fmt::format("'{}' has {} decimal{} but {} has {}", text, decimals, decimals == 1 ? "" : "s", currency, places));
  }
  std::string fraction = d->fraction.substr(0, std::min(d->fraction.size(), places));
  fraction.resize(places, '0');
  std::string digits = d->integer + fraction;
  auto first = digits.find_first_not_of('0');
  digits = first == std::string::npos ? "0" : digits.substr(first);
  if (d->negative && digits != "0") digits.insert(0, 1, '-');
  return integer_value(digits);
}

// ---------------------------------------------------------------------------------------------
// Text and type conversions

namespace {

constexpr std::string_view kBlanks = " \t\n\r\f\v";

Result<json::value> map_ascii(const json::value& value, char from, char to) {
  if (!value.is_string()) return wrong_type("a string", value);
  std::string s(view(value.get_string()));
  for (auto& c : s) {
    if (c >= from && c <= static_cast<char>(from + 25)) c = static_cast<char>(c - from + to);
  }
  return json::value(s);
}

// A JSON number literal, with leading zeros tolerated ("007.50"); returns it without them.
std::optional<std::string> number_literal(std::string_view s) {
  std::string out;
  if (!s.empty() && s[0] == '-') {
    out += '-';
    s.remove_prefix(1);
  }
  auto end_int = std::min(s.find_first_of(".eE"), s.size());
  auto integer = s.substr(0, end_int);
  if (integer.empty() || !all_digits(integer)) return std::nullopt;
  auto first = integer.find_first_not_of('0');
  out += first == std::string_view::npos ? "0" : integer.substr(first);
  s.remove_prefix(end_int);
  if (!s.empty() && s[0] == '.') {
    auto end = std::min(s.find_first_of("eE"), s.size());
    auto fraction = s.substr(1, end - 1);
    if (fraction.empty() || !all_digits(fraction)) return std::nullopt;
    out += s.substr(0, end);
    s.remove_prefix(end);
  }
  if (!s.empty()) {  // exponent
    out += s[0];
    s.remove_prefix(1);
    if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
      out += s[0];
      s.remove_prefix(1);
    }
    if (s.empty() || !all_digits(s)) return std::nullopt;
    out += s;
  }
  return out;
}

}  // namespace

Result<json::value> trim(const json::value& value) {
  if (!value.is_string()) return wrong_type("a string", value);
  auto s = view(value.get_string());
  auto first = s.find_first_not_of(kBlanks);
  if (first == std::string_view::npos) return json::value(json::string());
  auto last = s.find_last_not_of(kBlanks);
  return json::value(s.substr(first, last - first + 1));
}

Result<json::value> upper(const json::value& value) { return map_ascii(value, 'a', 'A'); }
Result<json::value> lower(const json::value& value) { return map_ascii(value, 'A', 'a'); }

Result<json::value> to_number(const json::value& value) {
  if (core::is_number(value)) return value;
  if (!value.is_string()) return wrong_type("a number or a string", value);
  auto s = view(value.get_string());
  auto literal = number_literal(s);
  if (!literal) {
    return bad(
        fmt::format("'{}' is not a number: write a JSON number such as 42, -1.50 or 2.5e3 (no blanks, '+' "
                    "or thousands separators, '.' for decimals)",
                    s));
  }
  return core::number_from_text(*literal);
}

Result<json::value> to_string(const json::value& value) {
  if (value.is_string()) return value;
  if (auto n = core::number_text(value)) return json::value(*n);
  if (value.is_bool()) return json::value(value.get_bool() ? "true" : "false");
  return wrong_type("a string, a number or a boolean", value);
}

Result<json::value> to_boolean(const json::value& value) {
  if (value.is_bool()) return value;
  constexpr std::string_view expected = "expected true, false, 1 or 0";
  if (auto n = core::number_text(value)) {
    if (*n == "1") return json::value(true);
    if (*n == "0") return json::value(false);
    return bad(fmt::format("{} is not a boolean; {}", *n, expected));
  }
  if (!value.is_string()) return wrong_type("a boolean, a number or a string", value);
  std::string s(view(value.get_string()));
  std::string folded = s;
  for (auto& c : folded) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  if (folded == "true" || folded == "1") return json::value(true);
  if (folded == "false" || folded == "0") return json::value(false);
  return bad(fmt::format("'{}' is not a boolean; {} (as a string in any case, or as a value)", s, expected));
}

std::string uuid_v4() {
  thread_local std::mt19937_64 engine = [] {
    std::random_device device;
    std::seed_seq seed{device(), device(), device(), device(), device(), device(), device(), device()};
    return std::mt19937_64(seed);
  }();
  std::uint64_t hi = engine();
  std::uint64_t lo = engine();
  hi = (hi & 0xFFFFFFFFFFFF0FFFULL) | 0x0000000000004000ULL;  // version 4
  lo = (lo & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;  // variant 10xx
  return fmt::format("{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", hi >> 32, (hi >> 16) & 0xFFFF, hi & 0xFFFF, lo >> 48,
                     lo & 0xFFFFFFFFFFFFULL);
}

std::string_view type_name(const json::value& v) {
  if (core::is_number(v)) return "a number";
  switch (v.kind()) {
    case json::kind::null: return "null";
    case json::kind::bool_: return "a boolean";
    case json::kind::string: return "a string";
    case json::kind::array: return "an array";
    case json::kind::object: return "an object";
    default: return "a number";
  }
}

}  // namespace fxconnect::flow
