// Writing JSON text by hand where a DOM would cost too much (span export, log lines).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace fxconnect::core {

// Appends `text` as a JSON string literal, quotes included (RFC 8259 escaping). The result is
// always valid JSON, whatever the bytes: header values and handler messages reach span exports
// and log lines unchecked, and one bad byte would make a collector or log pipeline refuse the
// whole batch or line. Well-formed UTF-8 is kept as is; ill-formed UTF-8 (bad lead byte,
// truncated sequence, overlong form, UTF-16 surrogate, above U+10FFFF) becomes \ufffd, one per
// maximal subpart (see next_utf8_sequence); control characters are escaped.
void append_json_string(std::string& out, std::string_view text);

// The UTF-8 sequence at the start of `text` (non-empty): `length` bytes, `valid` when they are one
// well-formed character (Unicode Table 3-7). When not, `length` is the ill-formed part's maximal
// subpart (≥ 1 byte), the bytes one U+FFFD stands for (Unicode's recommended practice).
struct Utf8Sequence {
  std::size_t length = 1;
  bool valid = false;
};
Utf8Sequence next_utf8_sequence(std::string_view text);

}  // namespace fxconnect::core
