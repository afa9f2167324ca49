#include "core/duration.h"

#include <algorithm>
#include <charconv>

namespace fxconnect::core {

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc{} || end == text.data() || n < 0) return std::nullopt;
  std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
  std::int64_t factor = 0;
  if (unit == "ms")
    factor = 1;
  else if (unit == "s")
    factor = 1000;
  else if (unit == "m")
    factor = 60'000;
  else if (unit == "h")
    factor = 3'600'000;
  else
    return std::nullopt;
  if (n > INT64_MAX / factor / 1000) return std::nullopt;  // keeps later arithmetic in range
  return std::chrono::milliseconds(n * factor);
}

std::string format_duration(std::chrono::milliseconds d) {
  auto ms = d.count();
  if (ms != 0 && ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms != 0 && ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms != 0 && ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

namespace {

// A plain decimal number (digits, at most one '.'), as strtod would misread "1e3" or " 5".
std::optional<double> plain_number(std::string_view text) {
  if (text.empty() || text.size() > 32) return std::nullopt;
  bool dot = false, digit = false;
  for (char c : text) {
    if (c == '.' && !dot) {
      dot = true;
    } else if (c >= '0' && c <= '9') {
      digit = true;
    } else {
      return std::nullopt;
    }
  }
  if (!digit) return std::nullopt;
  return std::stod(std::string(text));
}

}  // namespace

std::optional<double> parse_rate(std::string_view text) {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  const std::string_view count = text.substr(0, slash);
  const std::string_view unit = text.substr(slash + 1);
  auto digits = [](std::string_view d) {
    return !d.empty() && std::all_of(d.begin(), d.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  const auto dot = count.find('.');
  if (!digits(count.substr(0, dot))) return std::nullopt;
  if (dot != std::string_view::npos && !digits(count.substr(dot + 1))) return std::nullopt;
  double n = 0;
  auto [end, ec] = std::from_chars(count.data(), count.data() + count.size(), n);
  if (ec != std::errc{} || end != count.data() + count.size()) return std::nullopt;

  double per_second = 0;  // by multiplying or dividing by whole numbers: "10/ms" is exactly 10000
  if (unit == "ms") {
    per_second = n * 1000;
  } else if (unit == "s") {
    per_second = n;
  } else if (unit == "m") {
    per_second = n / 60;
  } else if (unit == "h") {
    per_second = n / 3600;
  } else {
    return std::nullopt;
  }
  if (!(per_second >= 1e-9 && per_second <= 1e9)) return std::nullopt;
  return per_second;
}

std::optional<double> parse_percent(std::string_view text) {
  if (text.empty() || text.back() != '%') return std::nullopt;
  auto n = plain_number(text.substr(0, text.size() - 1));
  if (!n || *n > 100) return std::nullopt;
  return *n / 100;
}

}  // namespace fxconnect::core
