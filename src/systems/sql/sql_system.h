// A PostgreSQL database declared under `systems:` (`postgres:`): queries with parameters on a pool
// of connections driven by the loop through libpq's asynchronous API (no thread per query).
// libpq stays behind this header.
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

class SqlSystem {
 public:
  using Done = std::function<void(Result<SqlResult>)>;

  SqlSystem(boost::asio::io_context& io, config::PostgresSystemConfig config,
            std::shared_ptr<observability::LegacyMetrics> metrics);
  // Closes every connection; calls still in flight are dropped unanswered (the runtime destroys
  // its systems only after every request is answered).
  ~SqlSystem();
  SqlSystem(const SqlSystem&) = delete;
  SqlSystem& operator=(const SqlSystem&) = delete;

  // `done` runs on the loop exactly once, never inside this call.
  void call(const CallContext& context, SqlRequest request, Done done);

  const config::PostgresSystemConfig& config() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fxconnect::systems
