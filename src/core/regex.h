// std::regex from a pattern a user wrote (topic patterns, the engine's pattern, JSON Schema
// patterns).
#pragma once

#include <cctype>
#include <regex>
#include <string>
#include <string_view>

namespace fxconnect::core {

// Refuses, as std::regex_error, what libstdc++ 12 would compile wrongly (found by
// test/fuzz/config_fuzz.cc); the rest is std::regex's (ECMAScript):
// - a number of more than 9 digits in a quantifier `{n,m}` or a back-reference `\N`: libstdc++
//   reads it into a long with no overflow check (undefined behaviour from 19 digits on);
// - a quantifier on a quantifier (`a++`, `a*{2}`, `a+??`): ECMAScript has none ("nothing to
//   repeat"), libstdc++ takes each as a repetition of the repetition, whose backtracking is
//   exponential in the text's length (`ai.++Z` against a 46-character topic name did not end
//   in a minute). A lazy `?` after a quantifier stays allowed.
// Repetitions nested through groups, such as `(a+)+b`, remain as slow as with any backtracking
// engine: the patterns come from the operator's config, not from requests.
inline std::regex make_regex(std::string_view pattern) {
  bool in_braces = false;  // inside a quantifier's `{...}`
  bool in_class = false;   // inside `[...]`: quantifier characters are literal there
  enum class Last { atom, quantifier, lazy } last = Last::atom;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (in_class) {
      if (c == '\\') ++i;
      if (c == ']') in_class = false;
      continue;
    }
    if (c == '\\' || c == '{' || (c == ',' && in_braces)) {
      std::size_t digits = 0;
      while (i + 1 + digits < pattern.size() && std::isdigit(static_cast<unsigned char>(pattern[i + 1 + digits])))
        ++digits;
      if (digits > 9) {
        throw std::regex_error(c == '\\' ? std::regex_constants::error_backref : std::regex_constants::error_brace);
      }
    }
    if (c == '*' || c == '+' || c == '?' || c == '{') {
      if (c == '?' && last == Last::quantifier) {
        last = Last::lazy;
        continue;
      }
      if (last != Last::atom) throw std::regex_error(std::regex_constants::error_badrepeat);
    }
    if (c == '{') in_braces = true;
    if (c == '[') in_class = true;
    if (c == '\\') ++i;  // the escaped character is an atom
    if (c == '}' && in_braces) {
      in_braces = false;
      last = Last::quantifier;
    } else if (!in_braces) {
      last = c == '*' || c == '+' || c == '?' ? Last::quantifier : Last::atom;
    }
  }
  return std::regex(pattern.begin(), pattern.end());
}

}  // namespace fxconnect::core
