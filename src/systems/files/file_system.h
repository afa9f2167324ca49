// A file exchange declared under `systems:` (`dir:` a folder, `sftp:` a folder on an SFTP server
// reached through libcurl): a request file published atomically (temporary name, then rename), its
// answer file awaited by polling until complete, both archived or removed. Runs on the loop.
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

namespace http {
class CurlMulti;
}

class FileSystem {
 public:
  using Done = std::function<void(Result<FileExchangeResponse>)>;

  // `curl` serves `sftp` systems (the connector's one multi handle). Throws ConfigError when the
  // system cannot work at all (a `dir` folder or an SFTP key file that does not exist).
  FileSystem(boost::asio::io_context& io, http::CurlMulti& curl, config::FileSystemConfig config,
             std::shared_ptr<observability::LegacyMetrics> metrics);
  // Cancels its transfers and timers; calls in flight are dropped unanswered.
  ~FileSystem();
  FileSystem(const FileSystem&) = delete;
  FileSystem& operator=(const FileSystem&) = delete;

  // `done` runs on the loop exactly once, never inside this call.
  void call(const CallContext& context, FileExchangeRequest request, Done done);

  const config::FileSystemConfig& config() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fxconnect::systems
