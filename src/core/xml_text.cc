// fxconnect::xml_escape (fxconnect/legacy.h): one escaping for every place that writes XML or
// HTML text: SOAP bodies rendered from flow templates, handlers' own bodies, the engine's HTML report.
#include <string>
#include <string_view>

#include "fxconnect/legacy.h"

namespace fxconnect {

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace fxconnect
