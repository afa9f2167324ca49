// http-connector: the connector of the HTTP benchmark (scripts/bench.sh), and the shape of a
// connector that forwards each request to a REST service: the `forward` handler POSTs the
// request's body to `options.path` of the legacy system `options.system` (declared under
// `systems:`) and replies with the JSON it answers. Retries, timeouts and the rest are config.
#include <boost/json/parse.hpp>

#include "fxconnect/fxconnect.h"

namespace {

class Forward final : public fxconnect::Handler {
 public:
  Forward(std::string system, std::string path) : system_(std::move(system)), path_(std::move(path)) {}
  bool reads_json() const override { return false; }  // forwards the body's bytes

  void handle(std::shared_ptr<fxconnect::Call> call) override {
    fxconnect::HttpRequest request;
    request.method = "POST";
    request.path = path_;
    request.body = call->request().body;
    call->http(system_, std::move(request), [call](fxconnect::Result<fxconnect::HttpResponse> answer) {
      if (!answer) return call->fail(answer.error());
      boost::system::error_code ec;
      auto json = boost::json::parse(answer.value().body, ec);
      if (ec)
        return call->fail(
            fxconnect::Error{fxconnect::ErrorCode::legacy_failed, "the answer is not JSON", false, std::nullopt});
      call->reply(fxconnect::Reply::json(json));
    });
  }

 private:
  std::string system_, path_;
};

}  // namespace

int main(int argc, char** argv) {
  fxconnect::Registry registry;
  fxconnect::register_builtin_handlers(registry);
  registry.add("forward", "POSTs each request's body to options.path (default /) of the legacy system options.system",
               [](const fxconnect::HandlerOptions& options) -> std::unique_ptr<fxconnect::Handler> {
                 options.allow_only({"system", "path"});
                 auto get = [&](const char* key, const char* fallback) {
                   auto it = options.values().find(key);
                   return it == options.values().end() ? std::string(fallback) : it->second.text;
                 };
                 return std::make_unique<Forward>(get("system", "legacy"), get("path", "/"));
               });
  return fxconnect::run_cli(argc, argv, registry);
}
