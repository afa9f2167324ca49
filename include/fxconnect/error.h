// Errors on the message path are values: a handler returns a Result, never throws.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace fxconnect {

// What went wrong, as the process (and an operator) needs to tell cases apart.
enum class ErrorCode {
  invalid_request,     // the request body is not usable: empty, not JSON, bad UTF-8, a bad field
  handler_failed,      // the handler decided the request cannot be served
  legacy_unavailable,  // the legacy system could not be reached: connect failed, circuit open,
                       // every endpoint down, the connection broke (retriable)
  legacy_timeout,      // the legacy system did not answer in time (retriable)
  legacy_failed,       // the legacy system answered with a status (or SOAP fault) the call does not accept
  deadline_exceeded,   // no outcome within processing.deadline
  reply_too_large,     // the reply is larger than the producer or broker accepts
  reply_failed,        // the reply could not be produced, after the producer's retries
  internal,            // a bug or an unexpected state in fxconnect or the handler
};

// The stable, machine-readable name of a code (the `error.code` field of an error reply).
std::string_view to_string(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::internal;
  std::string message;                             // human-readable; becomes `errorMessage` of the error reply
  bool retriable = false;                          // whether sending the same request again may succeed
  std::optional<std::string> field;                // the request field at fault, as a JSON pointer-ish path
  std::optional<std::string> step = std::nullopt;  // the step of a declarative connector (`flow:`) that failed
};

// Shorthands for the common cases.
Error invalid_field(std::string field, std::string message);
Error handler_error(std::string message, bool retriable = false);

// A value or an Error. Small on purpose: the message path needs no more.
template <class T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

}  // namespace fxconnect
