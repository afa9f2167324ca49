// A blocking HTTP GET for tests (metrics, health, Jaeger's query API). Test code only.
#pragma once

#include <string>

namespace fxconnect::testing {

struct HttpResponse {
  int status = 0;  // 0: no answer
  std::string body;
};

// `base` is http://host:port (or host:port); `path` starts with '/'.
HttpResponse http_get(const std::string& base, const std::string& path);

}  // namespace fxconnect::testing
