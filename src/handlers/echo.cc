#include "handlers/echo.h"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/steady_timer.hpp>

namespace fxconnect::handlers {
namespace {

class Echo final : public Handler {
 public:
  explicit Echo(std::chrono::milliseconds delay) : delay_(delay) {}
  bool reads_json() const override { return false; }  // replies with the body's bytes

  void handle(std::shared_ptr<Call> call) override {
    if (delay_.count() == 0) {
      call->reply(Reply{call->request().body});
      return;
    }
    auto timer = std::make_shared<boost::asio::steady_timer>(call->executor(), delay_);
    auto slot = call->cancellation_slot();
    // The stand-in for a legacy call, traced as one.
    std::shared_ptr<Span> span = call->start_span("echo delay");
    timer->async_wait(
        boost::asio::bind_cancellation_slot(slot, [call = std::move(call), timer, span](boost::system::error_code ec) {
          if (ec) span->fail("cancelled");
          span->end();
          if (ec) {
            call->fail(Error{ErrorCode::internal, "echo cancelled before its delay ended", true, {}});
          } else {
            call->reply(Reply{call->request().body});
          }
        }));
  }

 private:
  std::chrono::milliseconds delay_;
};

}  // namespace

void register_echo(Registry& registry) {
  registry.add("echo", "replies with the request body; option `delay` (e.g. 50ms) waits on a timer first",
               [](const HandlerOptions& options) -> std::unique_ptr<Handler> {
                 options.allow_only({"delay"});
                 return std::make_unique<Echo>(options.duration("delay", std::chrono::milliseconds(0)));
               });
}

}  // namespace fxconnect::handlers

namespace fxconnect {
void register_builtin_handlers(Registry& registry) { handlers::register_echo(registry); }
}  // namespace fxconnect
