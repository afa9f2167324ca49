// Trace context as the engine sends it: W3C `traceparent`/`tracestate` (engine ≥ 4.1) or Jaeger
// `uber-trace-id` (older engines), and the sampler that decides whether a span is recorded.
// Pure functions: the tracing of the runtime (spans, OTLP export) builds on these.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fxconnect/message.h"

namespace fxconnect::observability {

struct TraceContext {
  std::array<std::uint8_t, 16> trace_id{};  // all zero is invalid
  std::array<std::uint8_t, 8> span_id{};    // all zero is invalid
  bool sampled = false;
  std::string tracestate;  // W3C vendor state, passed on unchanged

  bool valid() const;
  std::string trace_id_hex() const;  // 32 lower-case hex digits
  std::string span_id_hex() const;   // 16
};

enum class TraceFormat { w3c, jaeger };

// `00-<32 hex trace id>-<16 hex span id>-<2 hex flags>` (version 00; later versions read the same
// first four fields). nullopt when malformed or all-zero ids.
std::optional<TraceContext> parse_traceparent(std::string_view value);
std::string format_traceparent(const TraceContext& context);

// `<trace id>:<span id>:<parent span id>:<flags>` in hex (64- or 128-bit trace id, leading zeros
// optional; `%3A` accepted for `:`, as some clients URL-encode it). Flag bit 1 = sampled.
// Values longer than kMaxUberTraceId bytes are refused before any work: a valid one is at most
// ~80 bytes (32+16+16 hex digits, three `%3A`, the flags), and the header comes from outside.
inline constexpr std::size_t kMaxUberTraceId = 256;
std::optional<TraceContext> parse_uber_trace_id(std::string_view value);
std::string format_uber_trace_id(const TraceContext& context);

// The caller's context from request headers: `traceparent` (with `tracestate`) when valid, else
// `uber-trace-id`. `formats` lists every format present and valid, for inject().
struct Incoming {
  std::optional<TraceContext> context;
  std::vector<TraceFormat> formats;
};
Incoming extract(const Headers& headers);

// Points the trace headers of `headers` at `context`, in place and only in the formats listed;
// every other header is left byte for byte (CONTRACT.md: trace context is the only thing a
// connector rewrites). `tracestate` is left as it came.
void inject(Headers& headers, const TraceContext& context, const std::vector<TraceFormat>& formats);

// always | never | parent (follow the caller's sampled flag; sample when there is no caller) |
// ratio:R (0 ≤ R ≤ 1, by trace id, so every service of a trace decides alike).
class Sampler {
 public:
  // nullopt when `spec` is none of the above.
  static std::optional<Sampler> parse(std::string_view spec);
  bool sample(const std::optional<TraceContext>& parent, const std::array<std::uint8_t, 16>& trace_id) const;

 private:
  enum class Kind { always, never, parent, ratio } kind_ = Kind::parent;
  double ratio_ = 1.0;
};

}  // namespace fxconnect::observability
