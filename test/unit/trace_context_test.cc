#include "observability/trace_context.h"

#include <chrono>
#include <cstdio>

#include <gtest/gtest.h>

namespace fxconnect::observability {
namespace {

const char* kParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

TEST(TraceContext, ReadsAndWritesW3cTraceparent) {
  auto c = parse_traceparent(kParent);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->trace_id_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(c->span_id_hex(), "00f067aa0ba902b7");
  EXPECT_TRUE(c->sampled);
  EXPECT_EQ(format_traceparent(*c), kParent);
  for (const char* bad : {"", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",   // no flags
                          "00-00000000000000000000000000000000-00f067aa0ba902b7-01",    // zero trace id
                          "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",    // zero span id
                          "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",    // forbidden version
                          "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",     // short
                          "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",  // extra field, v00
                          "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01"}) {
    EXPECT_FALSE(parse_traceparent(bad)) << bad;
  }
  EXPECT_TRUE(parse_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-later")) << "future versions";
}

TEST(TraceContext, ReadsAndWritesJaegerUberTraceId) {
  auto c = parse_uber_trace_id("4bf92f3577b34da6:00f067aa0ba902b7:0:1");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->trace_id_hex(), "00000000000000004bf92f3577b34da6") << "64-bit ids are left-padded";
  EXPECT_TRUE(c->sampled);
  auto encoded = parse_uber_trace_id("a3ce929d0e0e4736%3Af067aa0ba902b7%3A0%3A0");
  ASSERT_TRUE(encoded) << "URL-encoded colons";
  EXPECT_EQ(encoded->span_id_hex(), "00f067aa0ba902b7");
  EXPECT_FALSE(encoded->sampled);
  EXPECT_EQ(format_uber_trace_id(*c), "00000000000000004bf92f3577b34da6:00f067aa0ba902b7:0:1");
  for (const char* bad : {"", "a:b:c", "0:1:0:1", "xyz:1:0:1", "1:1:0:", "1:1:0:zz"})
    EXPECT_FALSE(parse_uber_trace_id(bad)) << bad;
}

TEST(TraceContext, UberTraceIdLengthIsCappedAndDecodingIsLinear) {
  // The longest plausible valid value, fully URL-encoded, is accepted.
  std::string longest = "4bf92f3577b34da6a3ce929d0e0e4736%3A00f067aa0ba902b7%3A00f067aa0ba902b7%3A01";
  EXPECT_TRUE(parse_uber_trace_id(longest)) << longest;
  // A value padded past the cap is refused even when it would parse (leading zeros in the flags).
  std::string padded = "1:1:0:" + std::string(kMaxUberTraceId, '0') + "1";
  EXPECT_FALSE(parse_uber_trace_id(padded)) << "longer than " << kMaxUberTraceId << " bytes";
  std::string at_cap = "1:1:0:" + std::string(kMaxUberTraceId - 7, '0') + "1";
  ASSERT_EQ(at_cap.size(), kMaxUberTraceId);
  EXPECT_TRUE(parse_uber_trace_id(at_cap)) << "exactly at the cap";
  // 1 MB of encoded colons: decoding it used to take a rescan and a shift per `%3A` (minutes).
  for (const char* unit : {"%3A", "%3a"}) {
    std::string huge;
    while (huge.size() < (1u << 20)) huge += unit;
    auto t0 = std::chrono::steady_clock::now();
    EXPECT_FALSE(parse_uber_trace_id(huge));
    std::printf("1 MB of %s refused in %.1f us\n", unit,
                std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
}

TEST(TraceContext, TraceparentWinsAndOnlyTraceHeadersChange) {
  Headers headers{{"processInstanceUuid", "u"},
                  {"uber-trace-id", "a3ce929d0e0e4736:f067aa0ba902b7:0:1"},
                  {"traceparent", kParent},
                  {"tracestate", "vendor=x"},
                  {"bin", std::string("\0\xff", 2)}};
  auto in = extract(headers);
  ASSERT_TRUE(in.context);
  EXPECT_EQ(in.context->trace_id_hex(), "4bf92f3577b34da6a3ce929d0e0e4736") << "traceparent wins";
  EXPECT_EQ(in.context->tracestate, "vendor=x");
  EXPECT_EQ(in.formats.size(), 2u);

  TraceContext mine = *in.context;
  mine.span_id = {1, 2, 3, 4, 5, 6, 7, 8};
  auto out = headers;
  inject(out, mine, in.formats);
  EXPECT_EQ(out[2].value, "00-4bf92f3577b34da6a3ce929d0e0e4736-0102030405060708-01");
  EXPECT_EQ(out[1].value, "4bf92f3577b34da6a3ce929d0e0e4736:0102030405060708:0:1");
  EXPECT_EQ(out[0], headers[0]);
  EXPECT_EQ(out[3], headers[3]) << "tracestate passes unchanged";
  EXPECT_EQ(out[4], headers[4]);
  EXPECT_EQ(out.size(), headers.size()) << "nothing added";

  Headers none{{"processInstanceUuid", "u"}};
  EXPECT_FALSE(extract(none).context);
  auto untouched = none;
  inject(untouched, mine, extract(none).formats);
  EXPECT_EQ(untouched, none) << "no trace headers in: none out";
}

TEST(TraceContext, Samplers) {
  std::array<std::uint8_t, 16> id{};
  id[15] = 1;
  auto parent = parse_traceparent(kParent);
  auto unsampled = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
  EXPECT_TRUE(Sampler::parse("always")->sample(unsampled, id));
  EXPECT_FALSE(Sampler::parse("never")->sample(parent, id));
  EXPECT_TRUE(Sampler::parse("parent")->sample(parent, id));
  EXPECT_FALSE(Sampler::parse("parent")->sample(unsampled, id));
  EXPECT_TRUE(Sampler::parse("parent")->sample(std::nullopt, id)) << "no caller: a new sampled trace";
  EXPECT_TRUE(Sampler::parse("ratio:1")->sample(std::nullopt, id));
  EXPECT_FALSE(Sampler::parse("ratio:0")->sample(std::nullopt, id));
  int sampled = 0;
  for (int i = 0; i < 10000; ++i) {
    std::array<std::uint8_t, 16> t{};
    for (int b = 8; b < 16; ++b) t[b] = static_cast<std::uint8_t>((i * 2654435761u) >> ((b - 8) * 3));
    sampled += Sampler::parse("ratio:0.25")->sample(std::nullopt, t);
  }
  EXPECT_NEAR(sampled, 2500, 400);
  for (const char* bad : {"", "sometimes", "ratio:", "ratio:1.5", "ratio:-0.1", "ratio:x"})
    EXPECT_FALSE(Sampler::parse(bad)) << bad;
}

}  // namespace
}  // namespace fxconnect::observability

#include <boost/json/parse.hpp>

#include "observability/tracer.h"

namespace fxconnect::observability {
namespace {

TEST(OtlpJson, IsValidOtlpJsonWithEscapingAndTypes) {
  SpanData s;
  s.context = *parse_traceparent(kParent);
  s.context.tracestate = "v=1";
  s.parent_span_id = {0, 0, 0, 0, 0, 0, 0, 9};
  s.name = "process \"in\"\n";
  s.kind = SpanKind::consumer;
  s.start_ns = 1;
  s.end_ns = 2;
  s.attributes = {{"a", std::string("x\\y")}, {"n", std::int64_t{-5}}, {"b", true}};
  s.error = true;
  s.status_message = "boom\t";
  auto v = boost::json::parse(otlp_json("svc", {s, s}));
  const auto& span = v.at("resourceSpans").at(0).at("scopeSpans").at(0).at("spans").at(1);
  EXPECT_EQ(v.at("resourceSpans").at(0).at("resource").at("attributes").at(0).at("value").at("stringValue"), "svc");
  EXPECT_EQ(span.at("traceId"), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(span.at("parentSpanId"), "0000000000000009");
  EXPECT_EQ(span.at("traceState"), "v=1");
  EXPECT_EQ(span.at("name"), "process \"in\"\n");
  EXPECT_EQ(span.at("kind"), 5);
  EXPECT_EQ(span.at("startTimeUnixNano"), "1");
  EXPECT_EQ(span.at("attributes").at(0).at("value").at("stringValue"), "x\\y");
  EXPECT_EQ(span.at("attributes").at(1).at("value").at("intValue"), "-5");
  EXPECT_EQ(span.at("attributes").at(2).at("value").at("boolValue"), true);
  EXPECT_EQ(span.at("status").at("code"), 2);
  EXPECT_EQ(span.at("status").at("message"), "boom\t");
}

}  // namespace
}  // namespace fxconnect::observability
