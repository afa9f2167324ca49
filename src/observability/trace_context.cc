#include "observability/trace_context.h"

#include <algorithm>
#include <charconv>
#include <cstring>

namespace fxconnect::observability {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Fills `out` from exactly 2*N hex digits.
template <std::size_t N>
bool from_hex(std::string_view text, std::array<std::uint8_t, N>& out) {
  if (text.size() != 2 * N) return false;
  for (std::size_t i = 0; i < N; ++i) {
    int hi = hex_value(text[2 * i]), lo = hex_value(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return true;
}

template <std::size_t N>
std::string to_hex(const std::array<std::uint8_t, N>& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(2 * N);
  for (auto b : bytes) {
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

template <std::size_t N>
bool all_zero(const std::array<std::uint8_t, N>& bytes) {
  for (auto b : bytes) {
    if (b) return false;
  }
  return true;
}

// Left-pads a Jaeger hex id (leading zeros may be dropped) to 2*N digits.
template <std::size_t N>
bool from_short_hex(std::string_view text, std::array<std::uint8_t, N>& out) {
  if (text.empty() || text.size() > 2 * N) return false;
  std::string padded(2 * N - text.size(), '0');
  padded += text;
  return from_hex(padded, out);
}

std::vector<std::string_view> split(std::string_view text, std::string_view sep) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (;;) {
    auto pos = text.find(sep, start);
    parts.push_back(text.substr(start, pos == std::string_view::npos ? std::string_view::npos : pos - start));
    if (pos == std::string_view::npos) return parts;
    start = pos + sep.size();
  }
}

}  // namespace

bool TraceContext::valid() const { return !all_zero(trace_id) && !all_zero(span_id); }
std::string TraceContext::trace_id_hex() const { return to_hex(trace_id); }
std::string TraceContext::span_id_hex() const { return to_hex(span_id); }

std::optional<TraceContext> parse_traceparent(std::string_view value) {
  auto parts = split(value, "-");
  if (parts.size() < 4 || parts[0].size() != 2 || parts[0] == "ff") return std::nullopt;
  if (parts[0] == "00" && parts.size() != 4) return std::nullopt;
  TraceContext c;
  std::array<std::uint8_t, 1> flags{};
  if (hex_value(parts[0][0]) < 0 || hex_value(parts[0][1]) < 0) return std::nullopt;
  if (!from_hex(parts[1], c.trace_id) || !from_hex(parts[2], c.span_id) || !from_hex(parts[3], flags))
    return std::nullopt;
  if (!c.valid()) return std::nullopt;
  c.sampled = flags[0] & 1;
  return c;
}

std::string format_traceparent(const TraceContext& c) {
  return "00-" + c.trace_id_hex() + "-" + c.span_id_hex() + (c.sampled ? "-01" : "-00");
}

std::optional<TraceContext> parse_uber_trace_id(std::string_view value) {
  if (value.size() > kMaxUberTraceId) return std::nullopt;
  // One pass: `%3A`/`%3a` → `:` (a replacement can never form a new `%3A`).
  std::string decoded;
  decoded.reserve(value.size());
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '%' && i + 2 < value.size() && value[i + 1] == '3' &&
        (value[i + 2] == 'A' || value[i + 2] == 'a')) {
      decoded += ':';
      i += 2;
    } else {
      decoded += value[i];
    }
  }
  auto parts = split(decoded, ":");
  if (parts.size() != 4) return std::nullopt;
  TraceContext c;
  std::array<std::uint8_t, 8> parent{};
  if (!from_short_hex(parts[0], c.trace_id) || !from_short_hex(parts[1], c.span_id) ||
      !from_short_hex(parts[2], parent)) {
    return std::nullopt;
  }
  unsigned flags = 0;
  auto [end, ec] = std::from_chars(parts[3].data(), parts[3].data() + parts[3].size(), flags, 16);
  if (ec != std::errc{} || end != parts[3].data() + parts[3].size() || parts[3].empty()) return std::nullopt;
  if (!c.valid()) return std::nullopt;
  c.sampled = flags & 1;
  return c;
}

std::string format_uber_trace_id(const TraceContext& c) {
  // Parent span id 0: deprecated in Jaeger's format, the span id carries the relation.
  return c.trace_id_hex() + ":" + c.span_id_hex() + ":0:" + (c.sampled ? "1" : "0");
}

Incoming extract(const Headers& headers) {
  Incoming in;
  std::optional<TraceContext> w3c, jaeger;
  for (const auto& h : headers) {
    if (!h.value) continue;
    if (h.name == "traceparent" && !w3c) w3c = parse_traceparent(*h.value);
    if (h.name == "uber-trace-id" && !jaeger) jaeger = parse_uber_trace_id(*h.value);
  }
  if (w3c) {
    if (auto state = first_value(headers, "tracestate")) w3c->tracestate = std::string(*state);
    in.formats.push_back(TraceFormat::w3c);
  }
  if (jaeger) in.formats.push_back(TraceFormat::jaeger);
  in.context = w3c ? w3c : jaeger;
  return in;
}

void inject(Headers& headers, const TraceContext& context, const std::vector<TraceFormat>& formats) {
  auto has = [&](TraceFormat f) { return std::find(formats.begin(), formats.end(), f) != formats.end(); };
  for (auto& h : headers) {
    if (h.name == "traceparent" && has(TraceFormat::w3c)) h.value = format_traceparent(context);
    if (h.name == "uber-trace-id" && has(TraceFormat::jaeger)) h.value = format_uber_trace_id(context);
  }
}

std::optional<Sampler> Sampler::parse(std::string_view spec) {
  Sampler s;
  if (spec == "always") {
    s.kind_ = Kind::always;
  } else if (spec == "never") {
    s.kind_ = Kind::never;
  } else if (spec == "parent") {
    s.kind_ = Kind::parent;
  } else if (spec.rfind("ratio:", 0) == 0) {
    auto text = std::string(spec.substr(6));
    char* end = nullptr;
    double r = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0' || !(r >= 0.0 && r <= 1.0)) return std::nullopt;
    s.kind_ = Kind::ratio;
    s.ratio_ = r;
  } else {
    return std::nullopt;
  }
  return s;
}

bool Sampler::sample(const std::optional<TraceContext>& parent, const std::array<std::uint8_t, 16>& trace_id) const {
  switch (kind_) {
    case Kind::always: return true;
    case Kind::never: return false;
    case Kind::parent: return parent ? parent->sampled : true;
    case Kind::ratio: {
      // The trace id's last 8 bytes as a fraction: the same decision in every service.
      std::uint64_t v = 0;
      for (std::size_t i = 8; i < 16; ++i) v = (v << 8) | trace_id[i];
      return static_cast<double>(v >> 11) / static_cast<double>(1ull << 53) < ratio_;
    }
  }
  return false;
}

}  // namespace fxconnect::observability
