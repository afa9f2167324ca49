#include "core/duration.h"

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
  auto slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto count = plain_number(text.substr(0, slash));
  auto unit = text.substr(slash + 1);
  double per = unit == "ms" ? 0.001 : unit == "s" ? 1 : unit == "m" ? 60 : unit == "h" ? 3600 : 0;
  if (!count || per == 0 || *count <= 0) return std::nullopt;
  return *count / per;
}

std::optional<double> parse_percent(std::string_view text) {
  if (text.empty() || text.back() != '%') return std::nullopt;
  auto n = plain_number(text.substr(0, text.size() - 1));
  if (!n || *n > 100) return std::nullopt;
  return *n / 100;
}

}  // namespace fxconnect::core
