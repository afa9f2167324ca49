// The records a request turns into: its reply and, on failure, its dead letter (CONTRACT.md).
#pragma once

#include <optional>
#include <string>

#include "fxconnect/error.h"
#include "fxconnect/message.h"

namespace fxconnect::core {

// A record to produce.
struct OutgoingRecord {
  std::string topic;
  std::optional<std::string> key;
  Headers headers;
  std::string value;
};

// Prefix of every header fxconnect adds (never on replies: they carry the request's headers only).
inline constexpr std::string_view added_header_prefix = "fxconnect-";

// The reply: on `reply_topic`, key = processInstanceUuid (else the request key), every request
// header copied in order, byte for byte. `copy_headers` false: no headers copied, for a caller that
// sends them another way (a list librdkafka already holds) and fills them in when it needs them.
OutgoingRecord make_reply(const Request& request, const std::string& reply_topic, std::string body,
                          bool copy_headers = true);

// The dead letter: on `dlq_topic`, the request's key, headers and bytes, plus
// fxconnect-error-{code,message,retriable,field} and fxconnect-source-{topic,partition,offset}.
OutgoingRecord make_dead_letter(const Request& request, const std::string& dlq_topic, const Error& error);

}  // namespace fxconnect::core
