// The body of an error reply (CONTRACT.md: `errorMessage`, plus a machine-readable `error`).
#pragma once

#include <string>

#include "fxconnect/error.h"

namespace fxconnect::core {

// {"errorMessage": "...", "error": {"code": "...", "message": "...", "retriable": false,
//  "field": "...", "step": "..."}} — `field` only when the error names one, `step` only from a
// flow. Messages over 4 KiB are cut (at a UTF-8 boundary, noting the full size), so the error
// reply itself can always be sent.
std::string error_reply_body(const Error& error);

}  // namespace fxconnect::core
