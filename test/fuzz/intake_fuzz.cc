// The request intake: what a consumed request (key, headers, body) turns into, end to end through
// the request state machine (src/runtime/requests.h) and the in-flight bound (src/runtime/
// intake.h), with tracing on. The input scripts a run: requests arrive (headers and body from the
// input), the handler answers with the request's body, another body, an error, an exception or
// never, records are acknowledged or fail (transient, maybe written, too large), time passes.
// Then the world settles (every call answered, every record acknowledged, time past every
// deadline) and the promises are checked:
// - every request gets exactly one outcome (outcome_written once), and none is left in flight;
// - a reply keeps the request's headers in order, byte for byte except the trace headers, and its
//   key is processInstanceUuid, else the request key;
// - an error reply is JSON with error.code; a reply that may have been written is never followed
//   by an error reply for the same request;
// - the intake holds exactly while the bound is reached, and takes again below it.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>

#include "core/records.h"
#include "fuzz_check.h"
#include "observability/tracer.h"
#include "runtime/intake.h"
#include "runtime/requests.h"

namespace {

using namespace fxconnect;
using namespace fxconnect::runtime;
using std::chrono::milliseconds;

// Keeps every call; the script answers them.
class HeldHandler final : public Handler {
 public:
  void handle(std::shared_ptr<Call> call) override {
    if (throw_next) {
      throw_next = false;
      calls.push_back(call);  // it throws with the call still held: the call answers later
      throw std::runtime_error("handler failure \xff (not UTF-8)");
    }
    calls.push_back(std::move(call));
  }
  std::vector<std::shared_ptr<Call>> calls;
  bool throw_next = false;
};

struct Sent {
  std::uint64_t tag;
  core::OutgoingRecord record;
};

const char* const kHeaderNames[] = {
    "traceparent", "tracestate", "uber-trace-id",       "processInstanceUuid", "fxContext",
    "Fx-AppId",    "",           "fxconnect-error-code"};

Header make_header(FuzzedDataProvider& in) {
  Header h;
  auto pick = in.ConsumeIntegralInRange<std::size_t>(0, std::size(kHeaderNames));
  h.name = pick < std::size(kHeaderNames) ? kHeaderNames[pick] : in.ConsumeRandomLengthString(32);
  if (in.ConsumeIntegralInRange(0, 7) != 0) h.value = in.ConsumeRandomLengthString(128);
  return h;
}

// FXC_FUZZ_DEBUG=1: the script of an input, on stderr (to read a crash artifact).
const bool kDebug = std::getenv("FXC_FUZZ_DEBUG") != nullptr;
#define TRACE(...)                                 \
  do {                                             \
    if (kDebug) std::fprintf(stderr, __VA_ARGS__); \
  } while (false)

bool is_trace_header(const std::string& name) { return name == "traceparent" || name == "uber-trace-id"; }

class World {
 public:
  explicit World(FuzzedDataProvider& in) : in_(in) {
    RequestSettings settings;
    settings.ordering = static_cast<config::Ordering>(in.ConsumeIntegralInRange(0, 2));
    settings.deadline = milliseconds(in.ConsumeIntegralInRange(1, 60'000));
    settings.reply_topic = "ai.flowx.dev.engine.receive.plugin.fuzz.out.v1";
    if (in.ConsumeBool()) settings.dlq_topic = "fuzz.dlq";
    settings.log_bodies = in.ConsumeBool();
    deadline_ = settings.deadline;
    max_requests_ = in.ConsumeIntegralInRange<std::size_t>(1, 8);
    max_bytes_ = in.ConsumeIntegralInRange<std::size_t>(1, 1 << 16);
    intake_ = std::make_unique<Intake>(max_requests_, max_bytes_, milliseconds(5000));
    requests_ = std::make_unique<Requests>(
        settings, handler_, io_.get_executor(), observer_,
        Requests::Effects{
            [this](std::uint64_t tag, const core::OutgoingRecord& r, kafka::WireHeaders) { produced(tag, r); },
            [this](const Pending& p) { ++written_[p.id]; },
            [](const std::string&) { FUZZ_CHECK(!"no destination failure is scripted"); },
            [](const std::string&) { FUZZ_CHECK(!"no fatal failure is scripted"); }, [this] { intake_changed(); }});
  }
  ~World() {
    handler_.calls.clear();  // before the Requests they answer to
    requests_.reset();
  }

  void step() {
    switch (in_.ConsumeIntegralInRange(0, 7)) {
      case 0:
      case 1: admit(); break;
      case 2: answer(false); break;
      case 3: deliver(); break;
      case 4: advance(milliseconds(in_.ConsumeIntegralInRange(0, 70'000))); break;
      case 5: settle(); break;
      case 6:
        TRACE("the handler throws next\n");
        handler_.throw_next = true;
        break;
      case 7: intake_->on_time(now_); break;
    }
  }

  // Every call answered, every record acknowledged, time past every deadline and retry.
  void settle_all() {
    for (int round = 0; round < 256 && requests_->in_flight() > 0; ++round) {
      settle();  // answers posted to the loop
      while (!handler_.calls.empty() || !unacked_.empty()) {
        answer(true);
        settle();
        while (!unacked_.empty()) {
          auto sent = std::move(unacked_.front());
          unacked_.erase(unacked_.begin());
          requests_->delivered(kafka::Delivery::written(sent.tag), now_);
          settle();
        }
      }
      advance(deadline_ + milliseconds(31'000));
    }
    if (kDebug) {
      for (const auto& [id, request] : admitted_) {
        if (const auto* p = requests_->find(id)) {
          TRACE("left: #%llu stage=%d handler_running=%d unacked=%d in_lane=%d lane=%016llx\n",
                static_cast<unsigned long long>(id), static_cast<int>(p->stage), p->handler_running, p->unacked,
                p->in_lane, static_cast<unsigned long long>(p->lane));
        }
      }
    }
    FUZZ_CHECK(requests_->in_flight() == 0);
    FUZZ_CHECK(requests_->bytes() == 0);
    FUZZ_CHECK(requests_->handling() == 0);
    for (const auto& [id, request] : admitted_) FUZZ_CHECK(written_[id] == 1);
    for (const auto& [id, n] : written_) FUZZ_CHECK(admitted_.count(id) == 1 && n == 1);
    intake_->changed(0, 0, now_);
    FUZZ_CHECK(!intake_->held() && !intake_->paused());
  }

 private:
  void admit() {
    Request r;
    r.topic = "ai.flowx.dev.plugin.fuzz.in.v1";
    r.partition = in_.ConsumeIntegralInRange(0, 2);
    r.offset = next_offset_++;
    if (in_.ConsumeBool()) r.key = in_.ConsumeRandomLengthString(16);
    auto n = in_.ConsumeIntegralInRange(0, 6);
    for (int i = 0; i < n; ++i) r.headers.push_back(make_header(in_));
    r.body = in_.ConsumeRandomLengthString(4096);
    auto copy = r;
    admitting_ = &copy;  // an empty body is answered inside admit()
    TRACE("admit key=%s headers=%zu body=%zu bytes\n", r.key ? r.key->c_str() : "(null)", r.headers.size(),
          r.body.size());
    auto id = requests_->admit(std::move(r), 1, now_);
    admitting_ = nullptr;
    TRACE("  -> #%llu\n", static_cast<unsigned long long>(id));
    FUZZ_CHECK(admitted_.emplace(id, std::move(copy)).second);
    intake_changed();
  }

  // Answers one held call (all of them when `all`), as the script says.
  void answer(bool all) {
    auto& calls = handler_.calls;
    while (!calls.empty()) {
      auto index = all ? 0 : in_.ConsumeIntegralInRange<std::size_t>(0, calls.size() - 1);
      auto call = calls[index];
      calls.erase(calls.begin() + static_cast<std::ptrdiff_t>(index));
      auto how = all ? 0 : in_.ConsumeIntegralInRange(0, 4);
      TRACE("answer call of #%lld how=%d\n", static_cast<long long>(call->request().offset), how);
      switch (how) {
        case 0: call->reply(Reply{call->request().body}); break;  // echo
        case 1: call->reply(Reply{in_.ConsumeRandomLengthString(256)}); break;
        case 2: call->fail(handler_error(in_.ConsumeRandomLengthString(256), in_.ConsumeBool())); break;
        case 3: call->fail(invalid_field(in_.ConsumeRandomLengthString(16), "bad field")); break;
        case 4: break;  // dropped unanswered: an internal error reply
      }
      if (!all) return;
    }
  }

  void deliver() {
    if (unacked_.empty()) return;
    auto index = in_.ConsumeIntegralInRange<std::size_t>(0, unacked_.size() - 1);
    auto sent = std::move(unacked_[index]);
    unacked_.erase(unacked_.begin() + static_cast<std::ptrdiff_t>(index));
    kafka::Delivery d;
    d.tag = sent.tag;
    switch (in_.ConsumeIntegralInRange(0, 3)) {
      case 0: break;
      case 1: d.failure = kafka::ProduceFailure::transient; break;
      case 2:
        d.failure = kafka::ProduceFailure::transient;
        d.maybe_written = true;
        break;
      case 3:
        d.failure = kafka::ProduceFailure::record;
        d.too_large = in_.ConsumeBool();
        break;
    }
    if (d.failure != kafka::ProduceFailure::none) d.error = "FUZZ: injected";
    auto [id, kind] = read_record_tag(d.tag);
    TRACE("deliver #%llu %s failure=%d maybe_written=%d\n", static_cast<unsigned long long>(id),
          std::string(to_string(kind)).c_str(), static_cast<int>(d.failure), d.maybe_written);
    if (kind == RecordKind::reply && (d.failure == kafka::ProduceFailure::none || d.maybe_written)) {
      reply_maybe_written_.insert(id);
    }
    requests_->delivered(d, now_);
    intake_changed();
  }

  void advance(milliseconds by) {
    TRACE("advance %lld ms\n", static_cast<long long>(by.count()));
    now_ += by;
    requests_->on_time(now_);
    intake_->on_time(now_);
  }

  void settle() {
    io_.restart();
    io_.poll();
  }

  void produced(std::uint64_t tag, const core::OutgoingRecord& record) {
    auto [id, kind] = read_record_tag(tag);
    TRACE("  produced #%llu %s\n", static_cast<unsigned long long>(id), std::string(to_string(kind)).c_str());
    auto it = admitted_.find(id);
    const Request* request = it != admitted_.end() ? &it->second : admitting_;
    FUZZ_CHECK(request != nullptr);
    if (kind == RecordKind::error_reply) {
      FUZZ_CHECK(!reply_maybe_written_.count(id));  // a reply is never contradicted
      auto body = boost::json::parse(record.value);
      FUZZ_CHECK(body.as_object().at("error").as_object().at("code").is_string());
      FUZZ_CHECK(body.as_object().at("errorMessage").is_string());
    }
    if (kind != RecordKind::dead_letter) check_reply(*request, record);
    unacked_.push_back({tag, record});
  }

  static void check_reply(const Request& request, const core::OutgoingRecord& record) {
    FUZZ_CHECK(record.headers.size() == request.headers.size());
    for (std::size_t i = 0; i < record.headers.size(); ++i) {
      FUZZ_CHECK(record.headers[i].name == request.headers[i].name);
      if (!is_trace_header(record.headers[i].name)) FUZZ_CHECK(record.headers[i].value == request.headers[i].value);
    }
    auto uuid = first_value(request.headers, "processInstanceUuid");
    if (uuid && !uuid->empty()) {
      FUZZ_CHECK(record.key == std::string(*uuid));
    } else {
      FUZZ_CHECK(record.key == request.key);
    }
  }

  void intake_changed() {
    auto requests = requests_->in_flight();
    auto bytes = requests_->bytes();
    auto action = intake_->changed(requests, bytes, now_);
    FUZZ_CHECK(action == Intake::Action::none || action == Intake::Action::stop_taking ||
               action == Intake::Action::resume || action == Intake::Action::resume_paused);
    // Held exactly while the bound is reached.
    FUZZ_CHECK(intake_->held() == (requests >= max_requests_ || bytes >= max_bytes_));
    (void)intake_->next_wakeup();
  }

  FuzzedDataProvider& in_;
  boost::asio::io_context io_;
  HeldHandler handler_;
  std::shared_ptr<const observability::Tracer> tracer_ =
      std::make_shared<observability::Tracer>(*observability::Sampler::parse("always"), nullptr);
  RequestObserver observer_{tracer_, "fuzz-group", "held"};
  std::size_t max_requests_ = 0, max_bytes_ = 0;
  std::unique_ptr<Intake> intake_;
  std::unique_ptr<Requests> requests_;
  milliseconds deadline_{};
  Clock::time_point now_ = Clock::time_point() + std::chrono::hours(1);
  std::int64_t next_offset_ = 0;
  std::map<std::uint64_t, Request> admitted_;
  std::map<std::uint64_t, int> written_;
  std::set<std::uint64_t> reply_maybe_written_;
  std::vector<Sent> unacked_;
  const Request* admitting_ = nullptr;
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fxconnect::fuzz::quiet_logging();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  World world(in);
  for (int i = 0; i < 64 && in.remaining_bytes() > 0; ++i) world.step();
  world.settle_all();
  return 0;
}
