// Logging setup: human-readable lines (default) or JSON lines for log pipelines, which carry the
// request's trace_id, span_id and processInstanceUuid when a line is about one request.
#pragma once

#include <string>
#include <string_view>

namespace fxconnect::observability {

// `format`: "text" or "json". Logs go to standard error.
void setup_logging(const std::string& level, const std::string& format);

// While alive, log lines of this thread are about this request (JSON lines add its fields).
class LogScope {
 public:
  LogScope(std::string_view trace_id, std::string_view span_id, std::string_view process_instance_uuid);
  ~LogScope();
  LogScope(const LogScope&) = delete;
  LogScope& operator=(const LogScope&) = delete;

 private:
  const LogScope* previous_;
  friend class JsonFormatter;
  std::string trace_id_, span_id_, process_instance_uuid_;
};

}  // namespace fxconnect::observability
