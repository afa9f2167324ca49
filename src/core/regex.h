// std::regex from a pattern a user wrote (topic patterns, the engine's pattern, JSON Schema
// patterns).
#pragma once

#include <cctype>
#include <regex>
#include <string>
#include <string_view>

namespace fxconnect::core {

// libstdc++ 12 reads the bounds of a quantifier `{n,m}` and the number of a back-reference `\N`
// into a long with no overflow check: a number of 19 digits or more is undefined behaviour while
// the pattern compiles (found by test/fuzz/config_fuzz.cc). Numbers of more than 9 digits, of no
// use in a pattern anyway, are refused here as std::regex_error, like any pattern std::regex
// cannot compile; the rest is std::regex's (ECMAScript).
inline std::regex make_regex(std::string_view pattern) {
  bool in_braces = false;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    bool number_follows = c == '\\' || c == ',' || c == '{';
    if (c == '{') in_braces = true;
    if (c == '}') in_braces = false;
    if (!number_follows || (c == ',' && !in_braces)) continue;
    std::size_t digits = 0;
    while (i + 1 + digits < pattern.size() && std::isdigit(static_cast<unsigned char>(pattern[i + 1 + digits])))
      ++digits;
    if (digits > 9) {
      throw std::regex_error(c == '\\' ? std::regex_constants::error_backref : std::regex_constants::error_brace);
    }
    if (c == '\\') ++i;  // the escaped character is not a `{`, `}` or `\`
  }
  return std::regex(pattern.begin(), pattern.end());
}

}  // namespace fxconnect::core
