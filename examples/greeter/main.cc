// The smallest useful connector: one handler, registered by name, and fxconnect's command line.
// README.md shows this file; CI builds it.
#include <fxconnect/fxconnect.h>

#include <boost/json.hpp>

namespace {

// One instance serves every request; build shared read-only state in the factory.
class Greeter final : public fxconnect::Handler {
 public:
  void handle(std::shared_ptr<fxconnect::Call> call) override {
    const auto* body = call->request().json.if_object();  // the runtime parsed and validated it
    if (!body || !body->contains("name") || !body->at("name").is_string()) {
      call->fail(fxconnect::invalid_field("name", "name is missing or not a string; expected {\"name\": \"...\"}"));
      return;
    }
    boost::json::object reply{{"greeting", "Hello, " + std::string(body->at("name").as_string())}};
    call->reply(fxconnect::Reply::json(reply));
  }
};

}  // namespace

int main(int argc, char** argv) {
  fxconnect::Registry registry;
  fxconnect::register_builtin_handlers(registry);  // echo
  registry.add("greeter", "says hello to {\"name\": ...}",
               [](const fxconnect::HandlerOptions& options) -> std::unique_ptr<fxconnect::Handler> {
                 options.allow_only({});  // refuse unknown options at startup
                 return std::make_unique<Greeter>();
               });
  return fxconnect::run_cli(argc, argv, registry);  // run | lint | handlers | ...
}
