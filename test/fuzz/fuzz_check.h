// What the fuzz targets share: a check that fails the run (libFuzzer keeps the input as a crash
// artifact) when a property the code promises does not hold, and logging sent nowhere.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <memory>

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

// Not assert(): it must hold in every build type.
#define FUZZ_CHECK(condition)                                                                 \
  do {                                                                                        \
    if (!(condition)) {                                                                       \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                           \
    }                                                                                         \
  } while (false)

namespace fxconnect::fuzz {

// Every level formatted (the log lines are code under test too), nothing written.
inline void quiet_logging() {
  auto logger = std::make_shared<spdlog::logger>("fuzz", std::make_shared<spdlog::sinks::null_sink_mt>());
  logger->set_level(spdlog::level::trace);
  spdlog::set_default_logger(std::move(logger));
}

}  // namespace fxconnect::fuzz
