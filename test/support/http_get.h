// Blocking HTTP/1.1 requests for tests (metrics, health, Jaeger's query API, WireMock's admin
// API). Plain HTTP only, one connection per request. Test code only.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fxconnect::testing {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpResponse {
  int status = 0;  // 0: no answer (then `error` says why)
  std::string body;
  HttpHeaders headers;  // as received, in order
  std::string error;

  // The first header named `name` (case-insensitive), or "" if there is none.
  std::string header(std::string_view name) const;
};

// `base` is http://host:port (or host:port); `path` starts with '/'.
HttpResponse http_get(const std::string& base, const std::string& path);

// Any method ("GET", "POST", "PUT", "DELETE", ...). `body` is sent as is; when it is not empty
// and `headers` has no Content-Type, it is sent as application/json. Never throws: an answer of
// any status is returned as such, no answer (refused, timed out, malformed) as status 0.
HttpResponse http_request(const std::string& base, std::string_view method, const std::string& path,
                          const std::string& body = {}, const HttpHeaders& headers = {},
                          std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace fxconnect::testing
