#include "core/records.h"

#include "core/secrets.h"

namespace fxconnect::core {

OutgoingRecord make_reply(const Request& request, const std::string& reply_topic, std::string body, bool copy_headers) {
  OutgoingRecord r;
  r.topic = reply_topic;
  if (auto uuid = first_value(request.headers, "processInstanceUuid"); uuid && !uuid->empty()) {
    r.key = std::string(*uuid);
  } else {
    r.key = request.key;
  }
  if (copy_headers) r.headers = request.headers;
  r.value = std::move(body);
  return r;
}

OutgoingRecord make_dead_letter(const Request& request, const std::string& dlq_topic, const Error& error) {
  OutgoingRecord r;
  r.topic = dlq_topic;
  r.key = request.key;
  r.headers = request.headers;
  auto add = [&](std::string_view name, std::string value) {
    r.headers.push_back(Header{std::string(added_header_prefix) + std::string(name), std::move(value)});
  };
  add("error-code", std::string(to_string(error.code)));
  add("error-message", redact(error.message));
  add("error-retriable", error.retriable ? "true" : "false");
  if (error.field) add("error-field", *error.field);
  add("source-topic", request.topic);
  add("source-partition", std::to_string(request.partition));
  add("source-offset", std::to_string(request.offset));
  r.value = request.body;
  return r;
}

}  // namespace fxconnect::core
