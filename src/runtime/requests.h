// The request state machine: what happens to each consumed request until its outcome is on
// Kafka and its handler has finished. It knows neither Kafka nor timers: the runtime feeds it
// events (a request consumed, a handler's answer, a delivery report, the time) and it acts
// through Effects. So every rule below is unit-tested with a fake world (test/unit/requests_test).
//
// The rules:
// - Requests of one key (ordering: key; one partition for `partition`) run one after another:
//   the next starts once the previous one's outcome is acknowledged AND its handler has
//   finished. A handler still running past its deadline keeps its key's lane: the legacy system
//   never sees two operations of one process instance at once.
// - Every request ends in exactly one outcome on Kafka: its reply, or an error reply (plus a
//   dead letter when configured). Past `deadline` the outcome is `deadline_exceeded`, and the
//   handler is told through its cancellation slot; its later answer is ignored (counted).
// - A reply is never contradicted: once a produce of it may have been written, the same reply
//   is sent again until acknowledged; if it then can never be written, it is given up
//   (undeliverable, a dead letter when configured) and no error reply follows.
// - A record that can never be written is given up (logged critical) instead of blocking its
//   partition's commits forever. A record whose topic cannot be written at all (missing, not
//   authorized) stops the connector (Effects::unusable_topic): retrying would freeze the
//   partition while other replies flow.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

#include <boost/asio/any_io_executor.hpp>

#include "config/config.h"
#include "core/records.h"
#include "fxconnect/handler.h"
#include "kafka/ports.h"
#include "runtime/call.h"
#include "runtime/key_lanes.h"
#include "runtime/observer.h"

namespace fxconnect::runtime {

struct RequestSettings {
  config::Ordering ordering = config::Ordering::key;
  std::chrono::milliseconds deadline{30'000};
  std::string reply_topic;
  std::string dlq_topic;  // "" = no dead letters
  bool log_bodies = false;
};

// One consumed request, from consumption until its outcome is acknowledged and its handler has
// finished.
struct Pending {
  enum class Stage {
    waiting,   // consumed, behind an earlier request of its key
    handling,  // in the handler, outcome not decided
    replying,  // outcome decided; its records produced, not all acknowledged yet
    written,   // outcome acknowledged (its handler may still run, past the deadline)
  };

  std::uint64_t id = 0;
  std::shared_ptr<Request> request;  // shared read-only with the handler once it starts
  std::uint64_t generation = 0;      // of the partition's assignment it was consumed under
  LaneId lane = 0;                   // its key's or partition's lane (when ordered)
  bool in_lane = false;              // holds or waits for its place in `lane`
  Stage stage = Stage::waiting;
  bool handler_running = false;      // handle() was called and the answer has not come back
  bool reply_maybe_written = false;  // a produce of the reply may have reached the topic
  bool abandoned = false;            // its topic is unusable: it waits for the stop, uncommitted
  bool forsaken = false;             // its partition was lost: another member answers it now
  Clock::time_point consumed_at;
  Clock::time_point handler_started;
  std::weak_ptr<HandlerCall> call;
  RequestSpans spans;
  std::array<std::optional<core::OutgoingRecord>, 3> records;  // per RecordKind, until acknowledged
  // Per RecordKind: the record kept holds no copy of the request's headers; they went out in the
  // request's own list (wire_headers) and a retry copies them in.
  std::array<bool, 3> headers_left_out{};
  kafka::WireHeaders wire_headers;  // the request's headers as librdkafka parsed them, until its reply takes them
  std::size_t header_bytes = 0;     // headers_size(request->headers), counted once at admission
  int unacked = 0;
  int retries = 0;
  std::size_t bytes = 0;  // memory it holds (see Requests::bytes())
};

class Requests {
 public:
  struct Effects {
    // Produce `record`; its delivery comes back to delivered() with `tag`. `headers`: when not null
    // (a reply's first produce), librdkafka's list of the headers the record carries, and
    // record.headers is empty: the list replaces it.
    std::function<void(std::uint64_t tag, const core::OutgoingRecord& record, kafka::WireHeaders headers)> produce;
    // The request's outcome is acknowledged (once per request): its offset may be committed.
    std::function<void(const Pending& p)> outcome_written;
    // A record's topic cannot be written at all; the connector must stop.
    std::function<void(const std::string& why)> unusable_topic;
    // The producer is unusable; the connector must stop.
    std::function<void(const std::string& why)> fatal;
    // After a handler's answer was taken in: what is in flight changed (its reply's memory).
    std::function<void()> answered = nullptr;
  };

  // `systems` (may be null) are the legacy systems handlers call; they must outlive this.
  Requests(RequestSettings settings, Handler& handler, boost::asio::any_io_executor executor, RequestObserver& observer,
           Effects effects, systems::Systems* systems = nullptr);
  ~Requests();
  Requests(const Requests&) = delete;
  Requests& operator=(const Requests&) = delete;

  // A consumed request of a partition assignment `generation`: starts it now or queues it
  // behind its key. Returns its id. `headers`: librdkafka's list of its headers, if the
  // consumer kept it; its reply's first produce hands it on.
  std::uint64_t admit(Request&& request, std::uint64_t generation, Clock::time_point now,
                      kafka::WireHeaders headers = nullptr);
  // A handler's answer (the AnswerSink posts it to the executor; tests may call it directly).
  void answered(std::uint64_t id, Result<Reply> answer, Clock::time_point now);
  // A delivery report of a record produced through Effects::produce.
  void delivered(const kafka::Delivery& delivery, Clock::time_point now);
  // Deadlines and produce retries that are due at `now`.
  void on_time(Clock::time_point now);
  // When on_time() has something to do next (nullopt: nothing scheduled).
  std::optional<Clock::time_point> next_wakeup() const;

  // Stopping: every running handler is told to stop (cancellation slot), no record is retried
  // any more, and no waiting request starts.
  void stop();

  // The partitions were lost (the session ended: another member may own them already and answer
  // their uncommitted requests again). Their requests here are forsaken: running handlers are told
  // to stop, waiting ones never start, and nothing more is sent for any of them: no reply, no error
  // reply (the reply_failed of a reply that timed out in librdkafka's queue would contradict the
  // new owner's answer), no retry. Records already handed to librdkafka still go out (counted by
  // the fault suite as duplicates). Returns how many were forsaken.
  std::size_t forsake(const std::vector<std::pair<std::string, std::int32_t>>& partitions);

  std::size_t in_flight() const { return pending_.size(); }
  // Requests the stop waits for: in flight, minus those whose topic is unusable.
  std::size_t unfinished() const { return pending_.size() - abandoned_; }
  std::size_t handling() const { return handling_; }
  // Memory the requests in flight hold: their bodies and headers, parsed JSON, and every record
  // not yet acknowledged, counted twice (fxconnect's copy for retries and librdkafka's).
  std::size_t bytes() const { return bytes_; }
  // Handlers still running past their request's deadline.
  std::size_t overdue() const { return overdue_; }
  // Requests whose outcome is not acknowledged yet, longer than their deadline plus `slack`
  // after they were consumed (their error reply cannot be produced, or the loop lags).
  std::size_t late(Clock::time_point now, std::chrono::milliseconds slack) const;

  const Pending* find(std::uint64_t id) const;

 private:
  void take_answer(std::uint64_t id, Result<Reply> answer, Clock::time_point now);
  void start(Pending& p, Clock::time_point now);
  void decide_error(Pending& p, const Error& error);
  // The reply or error reply with `body`, sent (see send()).
  void send_reply(Pending& p, RecordKind kind, std::string body);
  // Keeps `record` until acknowledged and produces it. `wire`: its headers are the request's and
  // left out of it; the request's list (p.wire_headers) goes with it instead.
  void send(Pending& p, RecordKind kind, core::OutgoingRecord record, bool wire = false);
  void retry_later(Pending& p, RecordKind kind, Clock::time_point now);
  void acknowledged(Pending& p);
  void drop_record(Pending& p, RecordKind kind);
  void maybe_finish(Pending& p, Clock::time_point now);
  // A forsaken request with nothing left in flight: gone without an outcome (not committed).
  void let_go(Pending& p, Clock::time_point now);
  void on_deadline(Pending& p, Clock::time_point now);
  void leave_handling(Pending& p);
  void set_bytes(Pending& p, std::size_t bytes);
  void counts_changed();

  RequestSettings settings_;
  Handler& handler_;
  boost::asio::any_io_executor executor_;
  RequestObserver& observer_;
  Effects effects_;
  systems::Systems* systems_;
  bool reads_json_;  // the handler's reads_json(): else the body is only validated
  std::shared_ptr<AnswerSink> answers_;

  std::unordered_map<std::uint64_t, Pending> pending_;
  KeyLanes lanes_;
  // Deadlines in consumption order: with one deadline for all, they come due in this order.
  std::deque<std::pair<Clock::time_point, std::uint64_t>> deadlines_;
  std::multimap<Clock::time_point, std::pair<std::uint64_t, RecordKind>> retries_;
  std::uint64_t next_id_ = 1;
  std::size_t handling_ = 0;
  std::size_t bytes_ = 0;
  std::size_t overdue_ = 0;
  std::size_t abandoned_ = 0;
  bool stopping_ = false;
};

// The tag of a produced record: the request's id and what the record is for.
std::uint64_t record_tag(std::uint64_t id, RecordKind kind);
std::pair<std::uint64_t, RecordKind> read_record_tag(std::uint64_t tag);

}  // namespace fxconnect::runtime
