// A connector program for the integration tests, built against the SDK like a user's would be.
// Besides the built-in `echo` it offers `scripted`, whose behaviour each request chooses:
//   {"fail": "why"}          → handler error (retriable when "retriable": true)
//   {"sleep_ms": N}          → replies after N ms (on a timer), to overrun a deadline
//   {"reply_bytes": N}       → replies with a JSON string of about N bytes
//   {"throw": "why"}         → throws from handle()
//   {"throw_later": "why"}   → throws from a timer callback 10 ms later, without answering
//   {"answer_twice": "reply_then_fail" | "fail_then_reply"}
//                            → answers twice in a row: the body then a handler error, or the reverse
//   {"sleep_ms": N, "cancellable": true}
//                            → the timer is bound to call->cancellation_slot(); when it is cancelled
//                              the handler writes "scripted: cancelled after M ms" to stderr, then
//                              replies anyway (a late completion)
//   {"http": {"system": S, "method": M, "path": P, "body": B}}
//                            → calls legacy system S (call->http); replies with
//                              {"status": N, "body": <the answer's body>} or fails with its error
//   {"say": "text", ...}     → also writes "scripted: text" to stderr when handle() starts
//   anything else            → replies with the request body
// and `legacy_kinds`, a C++20 coroutine calling the systems beyond HTTP through the SDK:
//   {"sql": {"system": S, "query": Q, "params": [...]}}    → {"rows": "<SqlResult::json()>", "affected": N}
//   {"file": {"system": S, "name": N, "body": B, "answer": A, "archive": D}}
//                                                          → {"name": ..., "body": ..., "already_sent": b}
//   {"exec": {"system": S, "args": [...], "input": I}}     → {"exit_code": N, "out": ..., "err": ...}
//   each call's error becomes the request's error reply.
#include <chrono>
#include <cstdio>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include "fxconnect/fxconnect.h"

namespace {

class Scripted final : public fxconnect::Handler {
 public:
  void handle(std::shared_ptr<fxconnect::Call> call) override {
    const auto* obj = call->request().json.if_object();
    if (obj && obj->contains("say")) {
      std::fprintf(stderr, "scripted: %s\n", std::string(obj->at("say").as_string()).c_str());
      std::fflush(stderr);
    }
    if (obj && obj->contains("answer_twice")) {
      if (obj->at("answer_twice").as_string() == "fail_then_reply") {
        call->fail(fxconnect::handler_error("first answer: a handler error", false));
        call->reply(fxconnect::Reply{call->request().body});
      } else {
        call->reply(fxconnect::Reply{call->request().body});
        call->fail(fxconnect::handler_error("second answer: a handler error", false));
      }
      return;
    }
    if (obj && obj->contains("http")) {
      const auto& spec = obj->at("http").as_object();
      auto text = [&](const char* key, const char* fallback) {
        const auto* v = spec.if_contains(key);
        return v && v->is_string() ? std::string(v->as_string()) : std::string(fallback);
      };
      fxconnect::HttpRequest request;
      request.method = text("method", "GET");
      request.path = text("path", "/");
      request.body = text("body", "");
      call->http(text("system", "legacy"), std::move(request), [call](fxconnect::Result<fxconnect::HttpResponse> r) {
        if (!r) return call->fail(r.error());
        boost::system::error_code ec;
        auto body = boost::json::parse(r.value().body, ec);
        if (ec) body = boost::json::string(r.value().body);
        call->reply(fxconnect::Reply::json(boost::json::object{{"status", r.value().status}, {"body", body}}));
      });
      return;
    }
    if (obj && obj->contains("fail")) {
      bool retriable = obj->contains("retriable") && obj->at("retriable").is_bool() && obj->at("retriable").as_bool();
      call->fail(fxconnect::handler_error(std::string(obj->at("fail").as_string()), retriable));
      return;
    }
    if (obj && obj->contains("throw")) throw std::runtime_error(std::string(obj->at("throw").as_string()));
    if (obj && obj->contains("throw_later")) {
      auto timer = std::make_shared<boost::asio::steady_timer>(call->executor(), std::chrono::milliseconds(10));
      std::string why(obj->at("throw_later").as_string());
      timer->async_wait([call, timer, why](boost::system::error_code) { throw std::runtime_error(why); });
      return;
    }
    if (obj && obj->contains("reply_bytes")) {
      auto n = static_cast<std::size_t>(obj->at("reply_bytes").to_number<std::int64_t>());
      call->reply(fxconnect::Reply::json(boost::json::string(n, 'x')));
      return;
    }
    if (obj && obj->contains("sleep_ms") && obj->contains("cancellable")) {
      auto ms = obj->at("sleep_ms").to_number<std::int64_t>();
      auto timer = std::make_shared<boost::asio::steady_timer>(call->executor(), std::chrono::milliseconds(ms));
      auto started = std::chrono::steady_clock::now();
      timer->async_wait(boost::asio::bind_cancellation_slot(
          call->cancellation_slot(), [call, timer, started](boost::system::error_code ec) {
            if (ec == boost::asio::error::operation_aborted) {
              auto waited =
                  std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
              std::fprintf(stderr, "scripted: cancelled after %lld ms\n", static_cast<long long>(waited.count()));
              std::fflush(stderr);
            }
            call->reply(fxconnect::Reply{call->request().body});
          }));
      return;
    }
    if (obj && obj->contains("sleep_ms")) {
      auto ms = obj->at("sleep_ms").to_number<std::int64_t>();
      auto timer = std::make_shared<boost::asio::steady_timer>(call->executor(), std::chrono::milliseconds(ms));
      timer->async_wait(
          [call, timer](boost::system::error_code) { call->reply(fxconnect::Reply{call->request().body}); });
      return;
    }
    call->reply(fxconnect::Reply{call->request().body});
  }
};

class LegacyKinds final : public fxconnect::Handler {
 public:
  void handle(std::shared_ptr<fxconnect::Call> call) override {
    boost::asio::co_spawn(call->executor(), run(call), boost::asio::detached);
  }

 private:
  static std::string text(const boost::json::object& o, const char* key) {
    const auto* v = o.if_contains(key);
    return v && v->is_string() ? std::string(v->get_string()) : std::string();
  }

  static boost::asio::awaitable<void> run(std::shared_ptr<fxconnect::Call> call) {
    using boost::asio::use_awaitable;
    const auto& body = call->request().json.as_object();
    boost::json::object reply;
    if (const auto* q = body.if_contains("sql")) {
      const auto& o = q->as_object();
      fxconnect::SqlRequest req{text(o, "query"), {}, 0};
      if (const auto* params = o.if_contains("params")) {
        for (const auto& p : params->as_array()) {
          if (p.is_null()) {
            req.params.emplace_back(std::nullopt);
          } else {
            req.params.emplace_back(p.is_string() ? std::string(p.get_string()) : boost::json::serialize(p));
          }
        }
      }
      auto r = co_await call->sql(text(o, "system"), std::move(req), use_awaitable);
      if (!r) co_return call->fail(r.error());
      reply["rows"] = r.value().json();  // as text: boost::json would turn numeric into doubles
      reply["affected"] = r.value().affected;
    } else if (const auto* f = body.if_contains("file")) {
      const auto& o = f->as_object();
      fxconnect::FileExchangeRequest req;
      req.name = text(o, "name");
      req.body = text(o, "body");
      req.answer = text(o, "answer");
      req.archive = text(o, "archive");
      auto r = co_await call->file_exchange(text(o, "system"), std::move(req), use_awaitable);
      if (!r) co_return call->fail(r.error());
      reply = {{"name", r.value().name}, {"body", r.value().body}, {"already_sent", r.value().already_sent}};
    } else if (const auto* x = body.if_contains("exec")) {
      const auto& o = x->as_object();
      fxconnect::ExecRequest req;
      if (const auto* args = o.if_contains("args")) {
        for (const auto& a : args->as_array()) req.args.emplace_back(a.as_string());
      }
      req.input = text(o, "input");
      auto r = co_await call->exec(text(o, "system"), std::move(req), use_awaitable);
      if (!r) co_return call->fail(r.error());
      reply = {{"exit_code", r.value().exit_code}, {"out", r.value().out}, {"err", r.value().err}};
    }
    call->reply(fxconnect::Reply{boost::json::serialize(reply)});
  }
};

}  // namespace

int main(int argc, char** argv) {
  fxconnect::Registry registry;
  fxconnect::register_builtin_handlers(registry);
  registry.add("scripted", "test handler: the request picks fail / sleep_ms / reply_bytes / echo",
               [](const fxconnect::HandlerOptions& options) -> std::unique_ptr<fxconnect::Handler> {
                 options.allow_only({});
                 return std::make_unique<Scripted>();
               });
  registry.add("legacy_kinds", "test handler: SQL, file exchange and commands through the SDK (coroutines)",
               [](const fxconnect::HandlerOptions& options) -> std::unique_ptr<fxconnect::Handler> {
                 options.allow_only({});
                 return std::make_unique<LegacyKinds>();
               });
  return fxconnect::run_cli(argc, argv, std::move(registry));
}
