#include "runtime/requests.h"

#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/memory_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/storage_ptr.hpp>

#include "core/duration.h"
#include "core/error_reply.h"

namespace fxconnect::runtime {
namespace {

// Nesting accepted in request bodies (Boost.JSON's default of 32 refuses real documents).
constexpr std::size_t kMaxJsonDepth = 1024;
// What a request holds besides its bytes: the Pending, the Request, the lane entry, the spans.
constexpr std::size_t kRequestOverhead = sizeof(Pending) + sizeof(Request) + 256;
constexpr std::uint64_t kKindBits = 2;

// Backoff for producing a record again: 0.5 s doubling up to 30 s.
std::chrono::milliseconds retry_backoff(int attempt) {
  using std::chrono::milliseconds;
  return std::min(milliseconds(30'000), milliseconds(500) * (1 << std::min(attempt - 1, 6)));
}

std::size_t headers_size(const Headers& headers) {
  std::size_t n = 0;
  for (const auto& h : headers) n += sizeof(Header) + h.name.size() + (h.value ? h.value->size() : 0);
  return n;
}

std::size_t record_size(const core::OutgoingRecord& r) {
  return sizeof(core::OutgoingRecord) + r.topic.size() + (r.key ? r.key->size() : 0) + headers_size(r.headers) +
         r.value.size();
}

// The memory a record of `p` not yet acknowledged holds: the copy kept here for retries and
// librdkafka's, whose headers are the request's list when the copy here left them out.
std::size_t kept_size(const Pending& p, RecordKind kind) {
  const auto i = static_cast<std::size_t>(kind);
  if (!p.records[i]) return 0;
  return 2 * record_size(*p.records[i]) + (p.headers_left_out[i] ? p.header_bytes : 0);
}

// A JSON memory resource that counts what is allocated through it: what a parsed body really
// holds (about ten times its text for small objects). Boost.JSON keeps the resource as a member
// of its own wrapper, so the count lives outside it.
// Plain new and delete, as Boost.JSON's default resource: the alignment it asks for is never more
// than new's, and it is not passed on because Boost.JSON 1.81 frees a key string with another
// alignment than it allocated it with (1, then alignof(max_align_t), when a parse fails after an
// object key): aligned new and delete with different alignments is undefined behaviour (ASan:
// new-delete-type-mismatch; found by test/fuzz/intake_fuzz.cc).
class CountingResource final : public boost::json::memory_resource {
 public:
  explicit CountingResource(std::shared_ptr<std::size_t> allocated) : allocated_(std::move(allocated)) {}

 private:
  void* do_allocate(std::size_t n, std::size_t /*align*/) override {
    *allocated_ += n;
    return ::operator new(n);
  }
  void do_deallocate(void* p, std::size_t, std::size_t) override { ::operator delete(p); }
  bool do_is_equal(const memory_resource& other) const noexcept override { return this == &other; }
  std::shared_ptr<std::size_t> allocated_;
};

// Boost.JSON's parser with nothing built: the same grammar, options and errors as parse(), for
// handlers that do not read the document (Handler::reads_json()).
struct ValidateOnly {
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);
  using ec = boost::system::error_code;
  using sv = boost::json::string_view;
  bool on_document_begin(ec&) { return true; }
  bool on_document_end(ec&) { return true; }
  bool on_object_begin(ec&) { return true; }
  bool on_object_end(std::size_t, ec&) { return true; }
  bool on_array_begin(ec&) { return true; }
  bool on_array_end(std::size_t, ec&) { return true; }
  bool on_key_part(sv, std::size_t, ec&) { return true; }
  bool on_key(sv, std::size_t, ec&) { return true; }
  bool on_string_part(sv, std::size_t, ec&) { return true; }
  bool on_string(sv, std::size_t, ec&) { return true; }
  bool on_number_part(sv, ec&) { return true; }
  bool on_int64(std::int64_t, sv, ec&) { return true; }
  bool on_uint64(std::uint64_t, sv, ec&) { return true; }
  bool on_double(double, sv, ec&) { return true; }
  bool on_bool(bool, ec&) { return true; }
  bool on_null(ec&) { return true; }
  bool on_comment_part(sv, ec&) { return true; }
  bool on_comment(sv, ec&) { return true; }
};

void validate_json(std::string_view text, const boost::json::parse_options& options, boost::system::error_code& ec) {
  boost::json::basic_parser<ValidateOnly> parser(options);
  auto n = parser.write_some(false, text.data(), text.size(), ec);
  if (!ec && n < text.size()) ec = boost::json::error::extra_data;  // as parse() reports trailing bytes
}

}  // namespace

std::uint64_t record_tag(std::uint64_t id, RecordKind kind) {
  return (id << kKindBits) | static_cast<std::uint64_t>(kind);
}

std::pair<std::uint64_t, RecordKind> read_record_tag(std::uint64_t tag) {
  return {tag >> kKindBits, static_cast<RecordKind>(tag & ((1u << kKindBits) - 1))};
}

Requests::Requests(RequestSettings settings, Handler& handler, boost::asio::any_io_executor executor,
                   RequestObserver& observer, Effects effects, systems::Systems* systems)
    : settings_(std::move(settings)),
      handler_(handler),
      executor_(std::move(executor)),
      observer_(observer),
      effects_(std::move(effects)),
      systems_(systems),
      reads_json_(handler.reads_json()) {
  answers_ = std::make_shared<AnswerSink>([this](std::uint64_t id, Result<Reply> answer) {
    boost::asio::post(
        executor_, [this, id, answer = std::move(answer)]() mutable { answered(id, std::move(answer), Clock::now()); });
  });
}

Requests::~Requests() {
  answers_->disconnect();  // a handler answering from another thread from now on is dropped
  pending_.clear();
}

std::uint64_t Requests::admit(Request&& request, std::uint64_t generation, Clock::time_point now,
                              kafka::WireHeaders headers) {
  auto id = next_id_++;
  // In the map's own node: one allocation less per request than a pointer to it (an element of an
  // unordered_map keeps its address until erased).
  Pending& p = pending_.try_emplace(id).first->second;
  p.id = id;
  p.generation = generation;
  p.consumed_at = now;
  p.request = std::make_shared<Request>(std::move(request));
  const Request& req = *p.request;
  switch (settings_.ordering) {
    case config::Ordering::key: {
      // The record's key, else the processInstanceUuid header; neither: not ordered.
      std::string_view key = req.key && !req.key->empty() ? std::string_view(*req.key) : req.process_instance_uuid();
      p.in_lane = !key.empty();
      if (p.in_lane) p.lane = KeyLanes::of_key(key);
      break;
    }
    case config::Ordering::partition:
      p.in_lane = true;
      p.lane = KeyLanes::of_partition(req.topic, req.partition);
      break;
    case config::Ordering::none: break;
  }
  observer_.consumed(p.spans, req);
  // (librdkafka's list of the headers, kept for the reply, about as large as the copy)
  p.wire_headers = std::move(headers);
  p.header_bytes = headers_size(req.headers);
  set_bytes(p, kRequestOverhead + req.body.size() + (req.key ? req.key->size() : 0) +
                   p.header_bytes * (p.wire_headers ? 2 : 1));
  // The engine waits from the moment the request is consumed, queued behind its key or not.
  deadlines_.emplace_back(now + settings_.deadline, id);
  if (!p.in_lane || lanes_.enter(p.lane, id)) {
    start(p, now);
  } else {
    counts_changed();
  }
  return id;
}

void Requests::start(Pending& p, Clock::time_point now) {
  p.stage = Pending::Stage::handling;
  ++handling_;
  counts_changed();
  if (p.forsaken) {
    let_go(p, now);
    return;
  }
  const Request& req = *p.request;
  if (req.body.empty()) {
    decide_error(p,
                 Error{ErrorCode::invalid_request, "the request body is empty; expected a JSON document", false, {}});
    return;
  }
  boost::system::error_code ec;
  boost::json::parse_options options;  // strict JSON; invalid UTF-8 is refused
  options.max_depth = kMaxJsonDepth;
  // Only the loop thread parses; a handler reads the value, it never allocates through it.
  std::size_t document_bytes = 0;
  boost::json::value json;
  if (reads_json_) {
    auto allocated = std::make_shared<std::size_t>(0);
    json = boost::json::parse(req.body, ec, boost::json::make_shared_resource<CountingResource>(allocated), options);
    document_bytes = *allocated;
  } else {
    validate_json(req.body, options, ec);
  }
  if (ec) {
    decide_error(p, Error{ErrorCode::invalid_request,
                          fmt::format("the request body is not valid JSON ({}); {} bytes received", ec.message(),
                                      req.body.size()),
                          false,
                          {}});
    return;
  }
  set_bytes(p, p.bytes + document_bytes);
  counts_changed();
  p.request->json = std::move(json);  // from here on the request is shared read-only
  p.handler_started = now;
  p.handler_running = true;
  observer_.handler_started(p.spans);
  auto call = std::make_shared<HandlerCall>(answers_, p.id, std::shared_ptr<const Request>(p.request), executor_,
                                            p.consumed_at + settings_.deadline, observer_.tracer(),
                                            p.spans.handler.context(), systems_);
  p.call = call;
  try {
    handler_.handle(std::move(call));
  } catch (const std::exception& e) {
    // An exception must not cross the message path; if the handler did not answer, its Call,
    // released here, answers `internal`.
    auto scope = observer_.about(p.spans, req);
    spdlog::error("{}: the handler threw: {}", RequestObserver::where(req), observability::log_safe(e.what(), 1024));
  } catch (...) {
    spdlog::error("{}: the handler threw a non-standard exception", RequestObserver::where(req));
  }
}

void Requests::answered(std::uint64_t id, Result<Reply> answer, Clock::time_point now) {
  take_answer(id, std::move(answer), now);
  if (effects_.answered) effects_.answered();
}

void Requests::take_answer(std::uint64_t id, Result<Reply> answer, Clock::time_point now) {
  auto it = pending_.find(id);
  if (it == pending_.end() || !it->second.handler_running) {
    spdlog::debug("request #{}: an answer for a request no longer waiting for one; ignored", id);
    return;
  }
  Pending& p = it->second;
  p.handler_running = false;
  if (p.stage != Pending::Stage::handling) {
    // The outcome was decided without it (the deadline passed): ignored, and the lane it held
    // is free now.
    observer_.late_completion();
    --overdue_;
    spdlog::debug("request #{}: the handler answered after the outcome was decided; ignored", id);
    counts_changed();
    maybe_finish(p, now);
    return;
  }
  observer_.handler_answered(p.spans, answer ? nullptr : &answer.error(), now - p.handler_started);
  if (p.forsaken) {
    let_go(p, now);
    return;
  }
  if (!answer) {
    decide_error(p, answer.error());
    return;
  }
  leave_handling(p);
  send_reply(p, RecordKind::reply, std::move(answer.value().body));
}

void Requests::on_deadline(Pending& p, Clock::time_point) {
  if (p.stage == Pending::Stage::replying || p.stage == Pending::Stage::written) return;  // decided in time
  if (p.forsaken) return;  // the new owner of its partition answers it
  if (p.stage == Pending::Stage::waiting && p.in_lane && lanes_.remove_waiting(p.lane, p.id)) p.in_lane = false;
  if (p.stage == Pending::Stage::handling && p.handler_running) {
    ++overdue_;  // until it answers; its lane stays held meanwhile
    if (auto call = p.call.lock()) call->cancel();
  }
  decide_error(p, Error{ErrorCode::deadline_exceeded,
                        fmt::format("no reply within the deadline of {}", core::format_duration(settings_.deadline)),
                        true,
                        {}});
}

void Requests::leave_handling(Pending& p) {
  if (p.stage == Pending::Stage::handling) --handling_;
  p.stage = Pending::Stage::replying;
  counts_changed();
}

void Requests::decide_error(Pending& p, const Error& error) {
  observer_.failed(p.spans, *p.request, error, settings_.log_bodies);
  leave_handling(p);
  if (!settings_.dlq_topic.empty()) {
    send(p, RecordKind::dead_letter, core::make_dead_letter(*p.request, settings_.dlq_topic, error));
  }
  send_reply(p, RecordKind::error_reply, core::error_reply_body(error));
}

void Requests::send_reply(Pending& p, RecordKind kind, std::string body) {
  // A reply carries exactly the request's headers unless tracing rewrites its trace header. Else,
  // when the consumer kept librdkafka's list of them, that list goes out as it is (once), and the
  // record kept here is built without a copy of them (callgrind counted 7 % fewer instructions
  // per echo request without that copy: docs/performance.md).
  const bool wire = p.wire_headers && !observer_.rewrites_headers(p.spans);
  send(p, kind, core::make_reply(*p.request, settings_.reply_topic, std::move(body), /*copy_headers=*/!wire), wire);
}

void Requests::send(Pending& p, RecordKind kind, core::OutgoingRecord record, bool wire) {
  observer_.sending(p.spans, kind, record, *p.request);
  const auto i = static_cast<std::size_t>(kind);
  set_bytes(p, p.bytes - kept_size(p, kind));
  p.records[i] = std::move(record);
  p.headers_left_out[i] = wire;
  kafka::WireHeaders headers;
  if (wire) {
    headers = std::move(p.wire_headers);
    set_bytes(p, p.bytes - p.header_bytes);  // counted with the record from here on
  }
  set_bytes(p, p.bytes + kept_size(p, kind));
  ++p.unacked;
  counts_changed();
  effects_.produce(record_tag(p.id, kind), *p.records[i], std::move(headers));
}

void Requests::drop_record(Pending& p, RecordKind kind) {
  set_bytes(p, p.bytes - kept_size(p, kind));
  p.records[static_cast<std::size_t>(kind)].reset();
  p.headers_left_out[static_cast<std::size_t>(kind)] = false;
  --p.unacked;
}

void Requests::delivered(const kafka::Delivery& d, Clock::time_point now) {
  auto [id, kind] = read_record_tag(d.tag);
  auto it = pending_.find(id);
  if (it == pending_.end()) {
    spdlog::warn("delivery report for unknown request #{} ({})", id, to_string(kind));
    return;
  }
  Pending& p = it->second;
  const auto& record = p.records[static_cast<std::size_t>(kind)];
  if (d.failure == kafka::ProduceFailure::none) {
    observer_.delivered(p.spans, kind);
    drop_record(p, kind);
    if (p.unacked == 0) acknowledged(p);
    maybe_finish(p, now);
    return;
  }
  std::string topic = record ? record->topic : std::string();
  {
    auto scope = observer_.about(p.spans, *p.request);
    observer_.produce_failed(*p.request, kind, topic, d.error, d.maybe_written);
  }
  if (stopping_) return;  // not committed: redelivered after a restart
  if (p.forsaken && d.failure != kafka::ProduceFailure::fatal) {
    // Its partition's new owner answers it: no retry, no error reply.
    drop_record(p, kind);
    if (p.unacked == 0) let_go(p, now);
    return;
  }
  switch (d.failure) {
    case kafka::ProduceFailure::none: return;  // handled above
    case kafka::ProduceFailure::fatal: effects_.fatal(fmt::format("the producer cannot go on: {}", d.error)); return;
    case kafka::ProduceFailure::destination:
      // Every record to that topic would fail the same way: stop instead of freezing the
      // partition's commits. The request stays uncommitted and is redelivered after the fix.
      if (!p.abandoned) ++abandoned_;
      p.abandoned = true;
      effects_.unusable_topic(fmt::format("{} '{}' cannot be written: {}",
                                          kind == RecordKind::dead_letter ? "the dead-letter topic" : "the reply topic",
                                          topic, d.error));
      return;
    case kafka::ProduceFailure::transient:
      if (kind == RecordKind::reply && !d.maybe_written && !p.reply_maybe_written) {
        // Certainly not written, after the producer's own retries: the process is told now
        // (reply_failed, retriable) instead of waiting for a broker that may not come back.
        drop_record(p, kind);
        decide_error(
            p, Error{ErrorCode::reply_failed, fmt::format("the reply could not be produced: {}", d.error), true, {}});
        return;
      }
      if (kind == RecordKind::reply) p.reply_maybe_written = true;
      // Must reach Kafka: again, with backoff. The offset stays uncommitted meanwhile, so a crash
      // now redelivers the request.
      retry_later(p, kind, now);
      return;
    case kafka::ProduceFailure::record:
      if (kind == RecordKind::reply && !p.reply_maybe_written) {
        // The reply itself can never be written: the process gets an error reply instead.
        drop_record(p, kind);
        decide_error(p, Error{d.too_large ? ErrorCode::reply_too_large : ErrorCode::reply_failed,
                              fmt::format("the reply could not be produced: {}", d.error),
                              false,
                              {}});
        return;
      }
      // Given up: a reply that may be on the topic already (never contradicted by an error
      // reply), an error reply or a dead letter that can never be written. Retrying would block
      // the partition's commits and redeliver the request after every restart.
      observer_.given_up(*p.request, kind, d.error);
      drop_record(p, kind);
      if (kind == RecordKind::reply && !settings_.dlq_topic.empty()) {
        send(
            p, RecordKind::dead_letter,
            core::make_dead_letter(*p.request, settings_.dlq_topic,
                                   Error{ErrorCode::reply_failed,
                                         fmt::format("the reply may have been written, then could not be: {}", d.error),
                                         false,
                                         {}}));
        return;
      }
      if (p.unacked == 0) acknowledged(p);
      maybe_finish(p, now);
      return;
  }
}

void Requests::retry_later(Pending& p, RecordKind kind, Clock::time_point now) {
  observer_.retried();
  retries_.emplace(now + retry_backoff(++p.retries), std::make_pair(p.id, kind));
}

void Requests::acknowledged(Pending& p) {
  p.stage = Pending::Stage::written;
  observer_.completed(p.spans, Clock::now() - p.consumed_at);
  effects_.outcome_written(p);
}

void Requests::maybe_finish(Pending& p, Clock::time_point now) {
  if (p.stage != Pending::Stage::written || p.handler_running) return;
  std::optional<std::uint64_t> next;
  if (p.in_lane) next = lanes_.leave(p.lane);
  bytes_ -= p.bytes;
  pending_.erase(p.id);  // `p` is gone from here on
  counts_changed();
  if (next && !stopping_) {
    if (auto it = pending_.find(*next); it != pending_.end()) start(it->second, now);
  }
}

void Requests::on_time(Clock::time_point now) {
  while (!deadlines_.empty() && deadlines_.front().first <= now) {
    auto id = deadlines_.front().second;
    deadlines_.pop_front();
    if (auto it = pending_.find(id); it != pending_.end()) on_deadline(it->second, now);
  }
  while (!retries_.empty() && retries_.begin()->first <= now) {
    auto [id, kind] = retries_.begin()->second;
    retries_.erase(retries_.begin());
    if (stopping_) continue;
    auto it = pending_.find(id);
    if (it == pending_.end()) continue;
    Pending& p = it->second;
    if (p.forsaken) {
      drop_record(p, kind);
      if (p.unacked == 0) let_go(p, now);
      continue;
    }
    const auto i = static_cast<std::size_t>(kind);
    auto& record = p.records[i];
    if (!record) continue;
    if (p.headers_left_out[i]) {  // they went with the first produce, in the request's list
      set_bytes(p, p.bytes - kept_size(p, kind));
      record->headers = p.request->headers;
      p.headers_left_out[i] = false;
      set_bytes(p, p.bytes + kept_size(p, kind));
    }
    effects_.produce(record_tag(id, kind), *record, nullptr);
  }
}

std::optional<Clock::time_point> Requests::next_wakeup() const {
  std::optional<Clock::time_point> next;
  // Deadlines of requests already gone are popped when due: at most one wakeup each.
  if (!deadlines_.empty()) next = deadlines_.front().first;
  if (!retries_.empty() && (!next || retries_.begin()->first < *next)) next = retries_.begin()->first;
  return next;
}

void Requests::stop() {
  stopping_ = true;
  for (auto& [id, p] : pending_) {
    if (auto call = p.call.lock()) call->cancel();
  }
}

std::size_t Requests::forsake(const std::vector<std::pair<std::string, std::int32_t>>& partitions) {
  std::size_t n = 0;
  for (auto& [id, p] : pending_) {
    const Request& req = *p.request;
    bool lost = std::any_of(partitions.begin(), partitions.end(),
                            [&](const auto& tp) { return tp.first == req.topic && tp.second == req.partition; });
    if (!lost || p.forsaken) continue;
    p.forsaken = true;
    ++n;
    if (auto call = p.call.lock()) call->cancel();
  }
  return n;
}

void Requests::let_go(Pending& p, Clock::time_point now) {
  leave_handling(p);
  if (p.unacked > 0) return;  // its records' delivery reports come back first
  p.stage = Pending::Stage::written;
  maybe_finish(p, now);
}

std::size_t Requests::late(Clock::time_point now, std::chrono::milliseconds slack) const {
  std::size_t n = 0;
  for (const auto& [id, p] : pending_) {
    n += p.stage != Pending::Stage::written && p.consumed_at + settings_.deadline + slack < now ? 1 : 0;
  }
  return n;
}

const Pending* Requests::find(std::uint64_t id) const {
  auto it = pending_.find(id);
  return it == pending_.end() ? nullptr : &it->second;
}

void Requests::set_bytes(Pending& p, std::size_t bytes) {
  bytes_ = bytes_ - p.bytes + bytes;
  p.bytes = bytes;
}

void Requests::counts_changed() { observer_.load(pending_.size(), handling_, bytes_, overdue_); }

}  // namespace fxconnect::runtime
