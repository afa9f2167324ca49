#include "runtime/call.h"

#include <boost/asio/dispatch.hpp>

namespace fxconnect::runtime {

void AnswerSink::deliver(std::uint64_t id, Result<Reply> answer) {
  std::lock_guard lock(mutex_);
  if (deliver_) deliver_(id, std::move(answer));
}

void AnswerSink::disconnect() {
  std::lock_guard lock(mutex_);
  deliver_ = nullptr;
}

HandlerCall::~HandlerCall() {
  if (!answered_.exchange(true)) {
    sink_->deliver(id_, Error{ErrorCode::internal, "the handler released the request without replying", false, {}});
  }
}

namespace {

// A span a handler made through the SDK; exported when it ends. Any thread may use it.
class SdkSpan final : public Span {
 public:
  explicit SdkSpan(observability::ActiveSpan span) : span_(std::move(span)) {}
  void set_attribute(std::string_view key, std::string_view value) override {
    std::lock_guard lock(mutex_);
    span_.set(std::string(key), std::string(value));
  }
  void fail(std::string_view message) override {
    std::lock_guard lock(mutex_);
    span_.fail(std::string(message));
  }
  void end() override {
    std::lock_guard lock(mutex_);
    span_.end();
  }
  std::string traceparent() const override {
    std::lock_guard lock(mutex_);
    return observability::format_traceparent(span_.context());
  }

 private:
  mutable std::mutex mutex_;
  observability::ActiveSpan span_;
};

}  // namespace

std::unique_ptr<Span> HandlerCall::start_span(std::string_view name) {
  if (!tracer_ || !tracer_->recording() || !parent_.valid()) return Call::start_span(name);  // no-op
  return std::make_unique<SdkSpan>(observability::ActiveSpan(
      tracer_, tracer_->start_child(std::string(name), observability::SpanKind::client, parent_)));
}

void HandlerCall::reply(Reply reply) { answer(std::move(reply)); }
void HandlerCall::fail(Error error) { answer(std::move(error)); }

void HandlerCall::answer(Result<Reply> result) {
  if (answered_.exchange(true)) return;  // exactly one answer counts; later ones are ignored
  sink_->deliver(id_, std::move(result));
}

// Legacy calls are made on the loop (libcurl's multi handle, libpq's connections and the child
// processes are not thread-safe): a handler calling from another thread is moved there first.
template <class Start>
void HandlerCall::on_loop(Start start) {
  boost::asio::dispatch(executor_, [this, self = shared_from_this(), start = std::move(start)]() mutable {
    start(*systems_, systems::CallContext{deadline_, tracer_, parent_});
  });
}

void HandlerCall::start_http(std::string_view system, HttpRequest request,
                             std::function<void(Result<HttpResponse>)> done) {
  if (!systems_ || systems_->empty()) return Call::start_http(system, std::move(request), std::move(done));
  on_loop([system = std::string(system), request = std::move(request), done = std::move(done)](
              systems::Systems& s, const systems::CallContext& c) mutable {
    s.http(system, c, std::move(request), std::move(done));
  });
}

void HandlerCall::start_soap(std::string_view system, SoapRequest request,
                             std::function<void(Result<SoapResponse>)> done) {
  if (!systems_ || systems_->empty()) return Call::start_soap(system, std::move(request), std::move(done));
  on_loop(
      [system = std::string(system), request = std::move(request), done = std::move(done)](
          systems::Systems& s, const systems::CallContext& c) mutable { s.soap(system, c, request, std::move(done)); });
}

void HandlerCall::start_sql(std::string_view system, SqlRequest request, std::function<void(Result<SqlResult>)> done) {
  if (!systems_ || systems_->empty()) return Call::start_sql(system, std::move(request), std::move(done));
  on_loop([system = std::string(system), request = std::move(request), done = std::move(done)](
              systems::Systems& s, const systems::CallContext& c) mutable {
    s.sql(system, c, std::move(request), std::move(done));
  });
}

void HandlerCall::start_file_exchange(std::string_view system, FileExchangeRequest request,
                                      std::function<void(Result<FileExchangeResponse>)> done) {
  if (!systems_ || systems_->empty()) return Call::start_file_exchange(system, std::move(request), std::move(done));
  on_loop([system = std::string(system), request = std::move(request), done = std::move(done)](
              systems::Systems& s, const systems::CallContext& c) mutable {
    s.file_exchange(system, c, std::move(request), std::move(done));
  });
}

void HandlerCall::start_exec(std::string_view system, ExecRequest request,
                             std::function<void(Result<ExecResponse>)> done) {
  if (!systems_ || systems_->empty()) return Call::start_exec(system, std::move(request), std::move(done));
  on_loop([system = std::string(system), request = std::move(request), done = std::move(done)](
              systems::Systems& s, const systems::CallContext& c) mutable {
    s.exec(system, c, std::move(request), std::move(done));
  });
}

}  // namespace fxconnect::runtime
