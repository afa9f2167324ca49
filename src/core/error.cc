#include "fxconnect/error.h"

#include "core/error_reply.h"

#include <boost/json/serialize.hpp>

#include "core/json_text.h"
#include "core/secrets.h"

namespace fxconnect {

std::string_view to_string(ErrorCode code) {
  switch (code) {
    case ErrorCode::invalid_request: return "invalid_request";
    case ErrorCode::handler_failed: return "handler_failed";
    case ErrorCode::legacy_unavailable: return "legacy_unavailable";
    case ErrorCode::legacy_timeout: return "legacy_timeout";
    case ErrorCode::legacy_failed: return "legacy_failed";
    case ErrorCode::deadline_exceeded: return "deadline_exceeded";
    case ErrorCode::reply_too_large: return "reply_too_large";
    case ErrorCode::reply_failed: return "reply_failed";
    case ErrorCode::internal: return "internal";
  }
  return "internal";  // unreachable: every enumerator is listed above
}

Error invalid_field(std::string field, std::string message) {
  return Error{ErrorCode::invalid_request, std::move(message), false, std::move(field)};
}

Error handler_error(std::string message, bool retriable) {
  return Error{ErrorCode::handler_failed, std::move(message), retriable, std::nullopt};
}

namespace core {

namespace {

// At most kMaxMessage bytes of `message`, cut at a UTF-8 character boundary: a handler may pass
// on a legacy system's whole error page, and the error reply must stay small enough to be sent.
constexpr std::size_t kMaxMessage = 4096;
std::string bounded(const std::string& message) {
  if (message.size() <= kMaxMessage) return message;
  std::size_t cut = kMaxMessage;
  while (cut > 0 && (static_cast<unsigned char>(message[cut]) & 0xC0) == 0x80) --cut;
  return message.substr(0, cut) + "... (" + std::to_string(message.size()) + " bytes)";
}

// `text` as well-formed UTF-8: each ill-formed part becomes U+FFFD. Boost.JSON writes a string's
// bytes as they are, and JSON text is UTF-8 (RFC 8259): a handler's message may carry a legacy
// system's Latin-1 error page, and the engine could not read the error reply (found by
// test/fuzz/intake_fuzz.cc).
std::string well_formed(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  while (!text.empty()) {
    auto seq = next_utf8_sequence(text);
    if (seq.valid) {
      out.append(text.substr(0, seq.length));
    } else {
      out += "\xEF\xBF\xBD";
    }
    text.remove_prefix(seq.length);
  }
  return out;
}

}  // namespace

std::string error_reply_body(const Error& error) {
  // A legacy system's answer quoted in a message may echo a credential it was sent.
  auto message = well_formed(bounded(redact(error.message)));
  boost::json::object detail;
  detail["code"] = to_string(error.code);
  detail["message"] = message;
  detail["retriable"] = error.retriable;
  if (error.field) detail["field"] = well_formed(*error.field);
  if (error.step) detail["step"] = well_formed(*error.step);
  boost::json::object body;
  body["errorMessage"] = message;
  body["error"] = std::move(detail);
  return boost::json::serialize(body);
}

}  // namespace core
}  // namespace fxconnect
