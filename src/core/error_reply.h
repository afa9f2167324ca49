// The body of an error reply (CONTRACT.md: `errorMessage`, plus a machine-readable `error`).
#pragma once

#include <string>

#include "fxconnect/error.h"

namespace fxconnect::core {

// {"errorMessage": "...", "error": {"code": "...", "message": "...", "retriable": false,
//  "field": "..."}} — `field` only when the error names one.
std::string error_reply_body(const Error& error);

}  // namespace fxconnect::core
