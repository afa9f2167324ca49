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

void HandlerCall::reply(Reply reply) { answer(std::move(reply)); }
void HandlerCall::fail(Error error) { answer(std::move(error)); }

void HandlerCall::answer(Result<Reply> result) {
  if (answered_.exchange(true)) return;  // exactly one answer counts; later ones are ignored
  sink_->deliver(id_, std::move(result));
}

}  // namespace fxconnect::runtime
