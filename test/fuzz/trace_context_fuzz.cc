// Trace-context headers as the engine sends them (src/observability/trace_context.h). The input
// is a list of Kafka record headers, one per line, `name: value` (a line without `: ` is a header
// with a null value). Checked: extract() takes a context only from a valid traceparent or
// uber-trace-id; parse → format → parse gives the same context in both formats; inject() rewrites
// only the trace headers of the formats listed and leaves every other header byte for byte.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "observability/trace_context.h"

namespace {

using namespace fxconnect;
using namespace fxconnect::observability;

bool same(const TraceContext& a, const TraceContext& b) {
  return a.trace_id == b.trace_id && a.span_id == b.span_id && a.sampled == b.sampled;
}

Headers read_headers(std::string_view text) {
  Headers headers;
  while (!text.empty()) {
    auto end = text.find('\n');
    auto line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    if (auto colon = line.find(": "); colon != std::string_view::npos) {
      headers.push_back({std::string(line.substr(0, colon)), std::string(line.substr(colon + 2))});
    } else {
      headers.push_back({std::string(line), std::nullopt});
    }
  }
  return headers;
}

// parse → format → parse: the same ids and flag.
void round_trip(const std::optional<TraceContext>& parsed) {
  if (!parsed) return;
  FUZZ_CHECK(parsed->valid());
  auto w3c = parse_traceparent(format_traceparent(*parsed));
  FUZZ_CHECK(w3c && same(*w3c, *parsed));
  auto jaeger = parse_uber_trace_id(format_uber_trace_id(*parsed));
  FUZZ_CHECK(jaeger && same(*jaeger, *parsed));
  FUZZ_CHECK(parsed->trace_id_hex().size() == 32 && parsed->span_id_hex().size() == 16);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  Headers headers = read_headers(text);

  for (const auto& h : headers) {
    if (!h.value) continue;
    round_trip(parse_traceparent(*h.value));
    round_trip(parse_uber_trace_id(*h.value));
    if (auto sampler = Sampler::parse(*h.value)) {
      std::array<std::uint8_t, 16> id{};
      id[15] = 1;
      (void)sampler->sample(std::nullopt, id);
    }
  }
  round_trip(parse_traceparent(text));
  round_trip(parse_uber_trace_id(text));

  Incoming in = extract(headers);
  FUZZ_CHECK(in.context.has_value() == !in.formats.empty());
  if (!in.context) return 0;
  round_trip(in.context);
  bool w3c = std::find(in.formats.begin(), in.formats.end(), TraceFormat::w3c) != in.formats.end();
  if (w3c) {
    // The context is the traceparent's, with the first tracestate passed on unchanged.
    FUZZ_CHECK(in.context->tracestate == first_value(headers, "tracestate").value_or(""));
  }

  // A new span of the same trace, injected in the formats the request came with.
  TraceContext next = *in.context;
  next.span_id[7] ^= 0x5a;
  next.span_id[0] |= 1;
  Headers out = headers;
  inject(out, next, in.formats);
  FUZZ_CHECK(out.size() == headers.size());
  for (std::size_t i = 0; i < out.size(); ++i) {
    FUZZ_CHECK(out[i].name == headers[i].name);
    bool rewritten = (out[i].name == "traceparent" && w3c) ||
                     (out[i].name == "uber-trace-id" &&
                      std::find(in.formats.begin(), in.formats.end(), TraceFormat::jaeger) != in.formats.end());
    if (!rewritten) {
      FUZZ_CHECK(out[i].value == headers[i].value);
      continue;
    }
    FUZZ_CHECK(out[i].value.has_value());
    auto back = out[i].name == "traceparent" ? parse_traceparent(*out[i].value) : parse_uber_trace_id(*out[i].value);
    FUZZ_CHECK(back && same(*back, next));
  }
  Incoming again = extract(out);
  FUZZ_CHECK(again.context && same(*again.context, next));
  return 0;
}
