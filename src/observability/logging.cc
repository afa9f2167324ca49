#include "observability/logging.h"

#include "core/json_text.h"
#include "core/secrets.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <ctime>

#include <fmt/format.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace fxconnect::observability {
namespace {

thread_local const LogScope* t_scope = nullptr;

// Longest a LogScope value is kept: a processInstanceUuid is 36 bytes, a trace id 32.
constexpr std::size_t kScopeValueLimit = 256;

bool control_byte(unsigned char c) { return c < 0x20 || c == 0x7f; }

// `\xHH` for one byte.
std::array<char, 4> hex_escape(unsigned char c) {
  static constexpr char digits[] = "0123456789abcdef";
  return {'\\', 'x', digits[c >> 4], digits[c & 15]};
}

// The message with every secret the process knows replaced (core/secrets.h); "" when there is
// nothing to replace (the common case costs one atomic load).
std::string without_secrets(const spdlog::details::log_msg& msg) {
  if (!core::has_secrets()) return {};
  std::string_view payload(msg.payload.data(), msg.payload.size());
  auto out = core::redact(payload);
  return out == payload ? std::string() : out;
}

// The text format's message (%v) with its control bytes as \xHH: one call, one line.
class SafePayloadFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    std::string redacted = without_secrets(msg);
    std::string_view payload = redacted.empty() ? std::string_view(msg.payload.data(), msg.payload.size()) : redacted;
    const char* begin = payload.data();
    const char* end = begin + payload.size();
    for (const char* run = begin; run != end;) {
      const char* p = run;
      while (p != end && !control_byte(static_cast<unsigned char>(*p))) ++p;
      dest.append(run, p);
      if (p == end) break;
      auto escape = hex_escape(static_cast<unsigned char>(*p));
      dest.append(escape.data(), escape.data() + escape.size());
      run = p + 1;
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<SafePayloadFlag>(); }
};

}  // namespace

std::string log_safe(std::string_view bytes, std::size_t limit) {
  std::string out;
  out.reserve(std::min(bytes.size(), limit) + 16);
  std::size_t i = 0;
  // Whether `n` more bytes of rendering stay within `limit`.
  auto fits = [&](std::size_t n) { return out.size() + n <= limit; };
  while (i < bytes.size()) {
    auto c = static_cast<unsigned char>(bytes[i]);
    if (c >= 0x80) {
      auto seq = core::next_utf8_sequence(bytes.substr(i));
      bool c1_control = seq.valid && c == 0xc2 && static_cast<unsigned char>(bytes[i + 1]) < 0xa0;  // U+0080..U+009F
      if (seq.valid && !c1_control) {
        if (!fits(seq.length)) break;
        out.append(bytes.substr(i, seq.length));
        i += seq.length;
        continue;
      }
      // Escaped byte by byte, so that each byte stays recoverable.
      if (!fits(4 * seq.length)) break;
      for (std::size_t k = 0; k < seq.length; ++k) {
        auto escape = hex_escape(static_cast<unsigned char>(bytes[i + k]));
        out.append(escape.data(), escape.size());
      }
      i += seq.length;
    } else if (c == '\\') {
      if (!fits(2)) break;
      out += "\\\\";
      ++i;
    } else if (control_byte(c)) {
      if (!fits(4)) break;
      auto escape = hex_escape(c);
      out.append(escape.data(), escape.size());
      ++i;
    } else {
      if (!fits(1)) break;
      out += static_cast<char>(c);
      ++i;
    }
  }
  if (i < bytes.size()) out += fmt::format("...({} bytes)", bytes.size());
  return out;
}

// {"time":"2026-11-27T08:00:00.123Z","level":"error","message":"...","trace_id":"...",
//  "span_id":"...","processInstanceUuid":"..."} — the last three only inside a LogScope.
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    auto since_epoch = msg.time.time_since_epoch();
    auto seconds = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
    auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch - seconds).count();
    std::time_t t = seconds.count();
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::string line =
        fmt::format(R"({{"time":"{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z","level":)", tm.tm_year + 1900,
                    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
    auto level = spdlog::level::to_string_view(msg.level);
    core::append_json_string(line, std::string_view(level.data(), level.size()));
    line += ",\"message\":";
    std::string redacted = without_secrets(msg);
    core::append_json_string(
        line, redacted.empty() ? std::string_view(msg.payload.data(), msg.payload.size()) : std::string_view(redacted));
    if (const LogScope* scope = t_scope) {
      if (!scope->trace_id_.empty()) {
        line += ",\"trace_id\":";
        core::append_json_string(line, scope->trace_id_);
        line += ",\"span_id\":";
        core::append_json_string(line, scope->span_id_);
      }
      line += ",\"processInstanceUuid\":";
      core::append_json_string(line, scope->process_instance_uuid_);
    }
    line += "}\n";
    dest.append(line.data(), line.data() + line.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonFormatter>(); }
};

LogScope::LogScope(std::string_view trace_id, std::string_view span_id, std::string_view process_instance_uuid)
    : previous_(t_scope),
      trace_id_(log_safe(trace_id, kScopeValueLimit)),
      span_id_(log_safe(span_id, kScopeValueLimit)),
      process_instance_uuid_(log_safe(process_instance_uuid, kScopeValueLimit)) {
  t_scope = this;
}

LogScope::~LogScope() { t_scope = previous_; }

void setup_logging(const std::string& level, const std::string& format) {
  auto logger = spdlog::get("fxconnect");
  if (!logger) logger = spdlog::stderr_color_mt("fxconnect");
  if (format == "json") {
    logger->set_formatter(std::make_unique<JsonFormatter>());
  } else {
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    formatter->add_flag<SafePayloadFlag>('*').set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %*");
    logger->set_formatter(std::move(formatter));
  }
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(level));
}

}  // namespace fxconnect::observability
