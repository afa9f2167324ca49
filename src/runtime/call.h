// The runtime's side of fxconnect::Call: one request handed to a handler, and the way its single
// answer gets back to the loop.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>

#include "fxconnect/handler.h"
#include "observability/tracer.h"
#include "systems/systems.h"

namespace fxconnect::runtime {

// Where answers go: set by the runtime, cleared when it goes away, so an answer given after the
// runtime is gone is dropped instead of reaching a dead loop. (The Call's executor is the
// runtime's: a handler must not use it after the runtime stopped.)
class AnswerSink {
 public:
  using Deliver = std::function<void(std::uint64_t id, Result<Reply> answer)>;
  explicit AnswerSink(Deliver deliver) : deliver_(std::move(deliver)) {}
  void deliver(std::uint64_t id, Result<Reply> answer);
  void disconnect();

 private:
  std::mutex mutex_;
  Deliver deliver_;
};

class HandlerCall final : public Call, public std::enable_shared_from_this<HandlerCall> {
 public:
  // `tracer` null or `parent` invalid: start_span gives no-op spans.
  HandlerCall(std::shared_ptr<AnswerSink> sink, std::uint64_t id, std::shared_ptr<const Request> request,
              boost::asio::any_io_executor executor, std::chrono::steady_clock::time_point deadline,
              std::shared_ptr<const observability::Tracer> tracer = nullptr, observability::TraceContext parent = {},
              systems::Systems* systems = nullptr)
      : sink_(std::move(sink)),
        id_(id),
        request_(std::move(request)),
        executor_(std::move(executor)),
        deadline_(deadline),
        tracer_(std::move(tracer)),
        parent_(std::move(parent)),
        systems_(systems) {}
  // Unanswered: the request still gets an outcome, an `internal` error.
  ~HandlerCall() override;

  const Request& request() const override { return *request_; }
  boost::asio::any_io_executor executor() const override { return executor_; }
  std::chrono::steady_clock::time_point deadline() const override { return deadline_; }
  boost::asio::cancellation_slot cancellation_slot() override { return cancel_.slot(); }
  std::unique_ptr<Span> start_span(std::string_view name) override;
  void reply(Reply reply) override;
  void fail(Error error) override;
  // Legacy calls go to `systems` (given at construction), on the loop.
  void start_http(std::string_view system, HttpRequest request,
                  std::function<void(Result<HttpResponse>)> done) override;
  void start_soap(std::string_view system, SoapRequest request,
                  std::function<void(Result<SoapResponse>)> done) override;
  void start_sql(std::string_view system, SqlRequest request, std::function<void(Result<SqlResult>)> done) override;
  void start_file_exchange(std::string_view system, FileExchangeRequest request,
                           std::function<void(Result<FileExchangeResponse>)> done) override;
  void start_exec(std::string_view system, ExecRequest request,
                  std::function<void(Result<ExecResponse>)> done) override;

  // Tells the handler to stop (deadline passed, connector stopping). On the loop thread only.
  void cancel() { cancel_.emit(boost::asio::cancellation_type::terminal); }

 private:
  void answer(Result<Reply> result);
  // Runs `start(systems, context)` on the loop.
  template <class Start>
  void on_loop(Start start);

  std::shared_ptr<AnswerSink> sink_;
  std::uint64_t id_;
  std::shared_ptr<const Request> request_;
  boost::asio::any_io_executor executor_;
  std::chrono::steady_clock::time_point deadline_;
  boost::asio::cancellation_signal cancel_;
  std::atomic<bool> answered_{false};
  std::shared_ptr<const observability::Tracer> tracer_;
  observability::TraceContext parent_;  // the handler span's: calls are its children
  systems::Systems* systems_;
};

}  // namespace fxconnect::runtime
