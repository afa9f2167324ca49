// The request a connector receives from the engine and the reply it gives back.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

namespace fxconnect {

// One Kafka record header: a name and raw bytes, or no value at all (a null header).
// Names and values are kept byte for byte: a reply carries the request's headers unchanged.
struct Header {
  std::string name;
  std::optional<std::string> value;  // nullopt = null value; "" = empty value

  friend bool operator==(const Header&, const Header&) = default;
};

// Headers in record order. Duplicate names are allowed and kept.
using Headers = std::vector<Header>;

// The first header called `name` that has a value, or nullopt.
std::optional<std::string_view> first_value(const Headers& headers, std::string_view name);

// A request from a message send node, as consumed from Kafka.
struct Request {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  // The record's timestamp, ms since the epoch (the engine's producer sets it when it sends:
  // CreateTime), or -1 when the record has none.
  std::int64_t timestamp = -1;
  std::optional<std::string> key;  // nullopt = null key
  Headers headers;
  std::string body;         // raw bytes of the record value
  boost::json::value json;  // the body, parsed: the runtime hands a handler only valid JSON

  // `processInstanceUuid` header, else the record key, else "" (CONTRACT.md: reply key).
  std::string_view process_instance_uuid() const;
  // `fxContext` header or "".
  std::string_view fx_context() const;
};

// What the handler answers. The runtime adds topic, key and headers per CONTRACT.md.
struct Reply {
  std::string body;  // JSON text

  static Reply json(const boost::json::value& value);
};

}  // namespace fxconnect
