// The HTTP endpoint's request parsing (src/observability/http_server.h: answer_request(), what a
// connection does with the bytes a client sends). The first input byte is how many bytes arrive
// per read (0: all at once); its lowest bit also turns on small limits (1024 bytes, 8 header
// fields) and a bearer token for /metrics; the rest is what the client sends. Checked: the answer
// does not depend on how the bytes were split; an answer is an HTTP/1.1 response that closes the
// connection, with the status its route gives (401 only for /metrics behind the token) and never
// the metrics page without the token.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "observability/http_server.h"

namespace {

using namespace fxconnect::observability;

const std::map<std::string, HttpServer::Route>& routes() {
  static const std::map<std::string, HttpServer::Route> r{
      {"/metrics",
       [] {
         return Page{200, "text/plain; version=0.0.4; charset=utf-8", "# TYPE fxconnect_up gauge\nfxconnect_up 1\n"};
       }},
      {"/health/live",
       [] {
         return Page{200, "text/plain; charset=utf-8", "live\n"};
       }},
      {"/health/ready",
       [] {
         return Page{503, "text/plain; charset=utf-8", "not ready: no partitions yet\n"};
       }},
  };
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fxconnect::fuzz::quiet_logging();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::size_t chunk = data[0] == 0 ? std::string_view::npos : data[0];
  std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);

  bool guarded = (data[0] & 1) != 0;
  HttpLimits limits;
  HttpSecurity security;
  if (guarded) {
    limits.max_request_bytes = 1024;
    limits.max_headers = 8;
    security.bearer_token = "fuzz-token";
  }
  auto answer = answer_request(bytes, routes(), chunk, limits, security);
  auto whole = answer_request(bytes, routes(), std::string_view::npos, limits, security);
  FUZZ_CHECK(answer == whole);
  if (!answer) return 0;
  std::string_view text = *answer;
  FUZZ_CHECK(text.starts_with("HTTP/1.1 "));
  auto head_end = text.find("\r\n\r\n");
  FUZZ_CHECK(head_end != std::string_view::npos);
  auto head = text.substr(0, head_end);
  FUZZ_CHECK(head.find("\r\nConnection: close") != std::string_view::npos);
  FUZZ_CHECK(head.find("\r\nContent-Length: ") != std::string_view::npos);
  auto status = text.substr(9, 3);
  FUZZ_CHECK(status == "200" || status == "404" || status == "405" || status == "503" || (guarded && status == "401"));
  if (guarded && text.find("fxconnect_up 1") != std::string_view::npos) {
    FUZZ_CHECK(bytes.find("fuzz-token") != std::string_view::npos);  // the page only with the token
  }
  return 0;
}
