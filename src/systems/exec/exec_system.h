// A command declared under `systems:` (`exec:`), run once per call: an argument list (no shell),
// only the allowed environment, stdout and stderr read on the loop and capped, its process group
// killed at the timeout or the request's deadline, every child reaped.
#pragma once

#include <functional>
#include <memory>

#include <boost/asio/io_context.hpp>

#include "config/config.h"
#include "fxconnect/error.h"
#include "fxconnect/legacy.h"
#include "observability/metrics.h"
#include "systems/call_context.h"

namespace fxconnect::systems {

class ExecSystem {
 public:
  using Done = std::function<void(Result<ExecResponse>)>;

  // Throws ConfigError when the program cannot be run at all (not found, not executable) or the
  // working folder does not exist.
  ExecSystem(boost::asio::io_context& io, config::ExecSystemConfig config,
             std::shared_ptr<observability::LegacyMetrics> metrics);
  // Kills the process groups still running and reaps them; their calls are dropped unanswered.
  ~ExecSystem();
  ExecSystem(const ExecSystem&) = delete;
  ExecSystem& operator=(const ExecSystem&) = delete;

  // `done` runs on the loop exactly once, never inside this call.
  void call(const CallContext& context, ExecRequest request, Done done);

  const config::ExecSystemConfig& config() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fxconnect::systems
