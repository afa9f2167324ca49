#include "fxconnect/error.h"

#include "core/error_reply.h"

#include <boost/json/serialize.hpp>

namespace fxconnect {

std::string_view to_string(ErrorCode code) {
  switch (code) {
    case ErrorCode::invalid_request: return "invalid_request";
    case ErrorCode::handler_failed: return "handler_failed";
    case ErrorCode::legacy_unavailable: return "legacy_unavailable";
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

std::string error_reply_body(const Error& error) {
  boost::json::object detail;
  detail["code"] = to_string(error.code);
  detail["message"] = error.message;
  detail["retriable"] = error.retriable;
  if (error.field) detail["field"] = *error.field;
  boost::json::object body;
  body["errorMessage"] = error.message;
  body["error"] = std::move(detail);
  return boost::json::serialize(body);
}

}  // namespace core
}  // namespace fxconnect
