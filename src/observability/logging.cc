#include "observability/logging.h"

#include "core/json_text.h"

#include <chrono>
#include <ctime>

#include <fmt/format.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace fxconnect::observability {
namespace {

thread_local const LogScope* t_scope = nullptr;

}  // namespace

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
    std::string line = fmt::format(R"({{"time":"{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z","level":)", tm.tm_year + 1900,
                                   tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
    auto level = spdlog::level::to_string_view(msg.level);
    core::append_json_string(line, std::string_view(level.data(), level.size()));
    line += ",\"message\":";
    core::append_json_string(line, std::string_view(msg.payload.data(), msg.payload.size()));
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
    : previous_(t_scope), trace_id_(trace_id), span_id_(span_id), process_instance_uuid_(process_instance_uuid) {
  t_scope = this;
}

LogScope::~LogScope() { t_scope = previous_; }

void setup_logging(const std::string& level, const std::string& format) {
  auto logger = spdlog::get("fxconnect");
  if (!logger) logger = spdlog::stderr_color_mt("fxconnect");
  if (format == "json") {
    logger->set_formatter(std::make_unique<JsonFormatter>());
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  }
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(level));
}

}  // namespace fxconnect::observability
