// Durations in config files: an integer and a unit (`250ms`, `30s`, `2m`, `1h`).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace fxconnect::core {

// The duration, or nullopt when `text` is not `<digits><unit>` with unit ms, s, m or h.
// Negative values and missing units are refused: `30` could mean seconds or milliseconds.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

// What parse_duration accepts, for error messages.
inline constexpr std::string_view duration_syntax = "a whole number with a unit: ms, s, m or h (e.g. 250ms, 30s, 2m)";

// `200/s`, `10/ms`, `600/m`, `3600/h`, `1.5/s`: calls per second, or nullopt when malformed. The
// count is decimal digits with an optional fraction (no sign, exponent or spaces); the unit is
// ms, s, m or h, as in durations. Refused: a rate of 0, and one outside [1e-9, 1e9] per second,
// which the rate limit's token bucket cannot keep exactly.
std::optional<double> parse_rate(std::string_view text);

// A share from `<number>%` (0% to 100%) as 0..1, or nullopt when malformed or out of range.
std::optional<double> parse_percent(std::string_view text);

// `1500ms` → "1500ms", `30000ms` → "30s": the shortest exact form, for docs and logs.
std::string format_duration(std::chrono::milliseconds d);

}  // namespace fxconnect::core
