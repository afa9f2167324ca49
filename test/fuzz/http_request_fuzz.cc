// The HTTP endpoint's request parsing (src/observability/http_server.h: answer_request(), what a
// connection does with the bytes a client sends). The first input byte is how many bytes arrive
// per read (0: all at once), the rest is what the client sends. Checked: the answer does not
// depend on how the bytes were split; an answer is an HTTP/1.1 response that closes the
// connection, with the status its route gives.
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

  auto answer = answer_request(bytes, routes(), chunk);
  auto whole = answer_request(bytes, routes());
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
  FUZZ_CHECK(status == "200" || status == "404" || status == "405" || status == "503");
  return 0;
}
