// Writing JSON text by hand where a DOM would cost too much (span export, log lines).
#pragma once

#include <string>
#include <string_view>

namespace fxconnect::core {

// Appends `text` as a JSON string literal, quotes included (RFC 8259 escaping).
void append_json_string(std::string& out, std::string_view text);

}  // namespace fxconnect::core
