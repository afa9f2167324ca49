// The legacy systems of one connector (`systems:` in its config), by name: what a handler's
// call->http(...), soap, sql, file_exchange and exec reach. One libcurl multi handle (one
// connection pool) on the runtime's loop serves the HTTP and SFTP ones. libcurl, libpq and process
// handling stay behind this header (src/systems/<kind>/).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

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
class HttpSystem;
class SqlSystem;
class FileSystem;
class ExecSystem;

class Systems {
 public:
  // One system per declaration; their metrics join `metrics` (/metrics). Throws ConfigError when
  // a system cannot work at all (a folder, a key file or a program that does not exist).
  Systems(boost::asio::io_context& io, const config::ConnectorConfig& config, observability::ConnectorMetrics& metrics);
  // HTTP systems only.
  Systems(boost::asio::io_context& io, const std::vector<config::HttpSystemConfig>& configs,
          observability::ConnectorMetrics& metrics);
  ~Systems();
  Systems(const Systems&) = delete;
  Systems& operator=(const Systems&) = delete;

  // A call to the system `name`; an unknown name is an `internal` error naming the declared ones.
  // `done` runs on the loop, never inside this call.
  void http(std::string_view name, const CallContext& context, HttpRequest request,
            std::function<void(Result<HttpResponse>)> done);
  void soap(std::string_view name, const CallContext& context, const SoapRequest& request,
            std::function<void(Result<SoapResponse>)> done);

  void sql(std::string_view name, const CallContext& context, SqlRequest request,
           std::function<void(Result<SqlResult>)> done);
  void file_exchange(std::string_view name, const CallContext& context, FileExchangeRequest request,
                     std::function<void(Result<FileExchangeResponse>)> done);
  void exec(std::string_view name, const CallContext& context, ExecRequest request,
            std::function<void(Result<ExecResponse>)> done);

  bool empty() const { return systems_.empty() && sql_.empty() && files_.empty() && exec_.empty(); }

 private:
  // The system `name` in `kinds`, or null after `done` got the error (posted): none of that name,
  // or one of another kind.
  template <class System, class Response>
  System* find(const std::map<std::string, std::unique_ptr<System>, std::less<>>& kinds, std::string_view name,
               std::string_view kind, std::function<void(Result<Response>)>& done);
  std::string kind_of(std::string_view name) const;

  boost::asio::io_context& io_;
  std::unique_ptr<http::CurlMulti> curl_;
  std::map<std::string, std::unique_ptr<HttpSystem>, std::less<>> systems_;
  std::map<std::string, std::unique_ptr<SqlSystem>, std::less<>> sql_;
  std::map<std::string, std::unique_ptr<FileSystem>, std::less<>> files_;
  std::map<std::string, std::unique_ptr<ExecSystem>, std::less<>> exec_;
};

}  // namespace fxconnect::systems
