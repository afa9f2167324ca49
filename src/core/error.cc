#include "fxconnect/error.h"

#include "core/error_reply.h"

#include <boost/json/serialize.hpp>

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

}  // namespace

std::string error_reply_body(const Error& error) {
  auto message = bounded(error.message);
  boost::json::object detail;
  detail["code"] = to_string(error.code);
  detail["message"] = message;
  detail["retriable"] = error.retriable;
  if (error.field) detail["field"] = *error.field;
  if (error.step) detail["step"] = *error.step;
  boost::json::object body;
  body["errorMessage"] = message;
  body["error"] = std::move(detail);
  return boost::json::serialize(body);
}

}  // namespace core
}  // namespace fxconnect
