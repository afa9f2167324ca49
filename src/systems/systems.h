// The legacy systems of one connector (`systems:` in its config), by name: what a handler's
// call->http(...) and call->soap(...) reach. One libcurl multi handle (one connection pool) on the
// runtime's loop serves them all. libcurl stays behind this header (src/systems/http/).
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

class Systems {
 public:
  // One HttpSystem per config; their metrics join `metrics` (/metrics).
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

  bool empty() const { return systems_.empty(); }

 private:
  HttpSystem* find(std::string_view name, const std::function<void(Error)>& unknown);

  boost::asio::io_context& io_;
  std::unique_ptr<http::CurlMulti> curl_;
  std::map<std::string, std::unique_ptr<HttpSystem>, std::less<>> systems_;
};

}  // namespace fxconnect::systems
