// Logging setup: human-readable lines (default) or JSON lines for log pipelines, which carry the
// request's trace_id, span_id and processInstanceUuid when a line is about one request.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace fxconnect::observability {

// `format`: "text" or "json". Logs go to standard error. In text lines, control bytes of the
// message (CR, LF, ESC, ...) are written as \xHH, so no message can start a forged line; values
// from a request should still go through log_safe() first (it also bounds their length).
void setup_logging(const std::string& level, const std::string& format);

// `bytes` from outside (a header value, a body, a key) made fit for one log line: printable ASCII
// and well-formed UTF-8 as they are, a backslash as `\\`; control bytes (C0, DEL, and C1 such as
// U+009B, which some terminals obey) and ill-formed UTF-8 as \xHH per byte. So a value can never
// break a line or forge one, and each byte stays recoverable. The rendering is cut to at most
// `limit` bytes (never inside a character or an escape) and then ends with "...(N bytes)", N the
// size of `bytes`.
std::string log_safe(std::string_view bytes, std::size_t limit);

// While alive, log lines of this thread are about this request (JSON lines add its fields). The
// values are kept through log_safe() (at most 256 bytes each): they come from request headers.
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
