#include "runtime/call.h"

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

// A span a handler made through the SDK; exported when it ends.
class SdkSpan final : public Span {
 public:
  SdkSpan(std::shared_ptr<const observability::Tracer> tracer, observability::SpanData data)
      : tracer_(std::move(tracer)), data_(std::move(data)) {}
  ~SdkSpan() override { end(); }
  void set_attribute(std::string_view key, std::string_view value) override {
    std::lock_guard lock(mutex_);
    if (!ended_) data_.attributes.emplace_back(std::string(key), std::string(value));
  }
  void fail(std::string_view message) override {
    std::lock_guard lock(mutex_);
    data_.error = true;
    data_.status_message = std::string(message);
  }
  void end() override {
    std::lock_guard lock(mutex_);
    if (ended_) return;
    ended_ = true;
    tracer_->end(data_);
  }
  std::string traceparent() const override { return observability::format_traceparent(data_.context); }

 private:
  std::shared_ptr<const observability::Tracer> tracer_;
  std::mutex mutex_;
  observability::SpanData data_;
  bool ended_ = false;
};

}  // namespace

std::unique_ptr<Span> HandlerCall::start_span(std::string_view name) {
  if (!tracer_ || !tracer_->recording() || !parent_.context.valid()) return Call::start_span(name);  // no-op
  return std::make_unique<SdkSpan>(tracer_,
                                   tracer_->start_child(std::string(name), observability::SpanKind::client, parent_));
}

void HandlerCall::reply(Reply reply) { answer(std::move(reply)); }
void HandlerCall::fail(Error error) { answer(std::move(error)); }

void HandlerCall::answer(Result<Reply> result) {
  if (answered_.exchange(true)) return;  // exactly one answer counts; later ones are ignored
  sink_->deliver(id_, std::move(result));
}

}  // namespace fxconnect::runtime
