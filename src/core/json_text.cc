#include "core/json_text.h"

#include <fmt/format.h>

namespace fxconnect::core {

Utf8Sequence next_utf8_sequence(std::string_view text) {
  auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  unsigned char lead = byte(0);
  if (lead < 0x80) return {1, true};
  // The sequence's length and the range of its second byte (the only one narrower than 80..BF:
  // that is where overlongs, surrogates and values above U+10FFFF are excluded).
  std::size_t length = 0;
  unsigned char low = 0x80, high = 0xbf;
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    if (lead == 0xe0) low = 0xa0;   // overlong
    if (lead == 0xed) high = 0x9f;  // surrogates D800..DFFF
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    if (lead == 0xf0) low = 0x90;   // overlong
    if (lead == 0xf4) high = 0x8f;  // above U+10FFFF
  } else {
    return {1, false};  // 80..C1 (continuation, overlong lead), F5..FF
  }
  for (std::size_t i = 1; i < length; ++i) {
    if (i >= text.size()) return {i, false};  // truncated
    unsigned char b = byte(i);
    bool ok = i == 1 ? (b >= low && b <= high) : (b >= 0x80 && b <= 0xbf);
    if (!ok) return {i, false};
  }
  return {length, true};
}

void append_json_string(std::string& out, std::string_view text) {
  out += '"';
  for (std::size_t i = 0; i < text.size();) {
    char c = text[i];
    if (static_cast<unsigned char>(c) >= 0x80) {
      auto seq = next_utf8_sequence(text.substr(i));
      if (seq.valid) {
        out.append(text.substr(i, seq.length));
      } else {
        out += "\\ufffd";
      }
      i += seq.length;
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\u{:04x}", static_cast<unsigned char>(c));
        } else {
          out += c;
        }
    }
    ++i;
  }
  out += '"';
}

}  // namespace fxconnect::core
