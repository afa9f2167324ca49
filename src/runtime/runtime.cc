#include "runtime/runtime.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <csignal>
#include <map>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/parse_options.hpp>
#include <spdlog/spdlog.h>

#include "core/duration.h"
#include "core/error_reply.h"
#include "core/records.h"
#include "kafka/client.h"
#include "kafka/offset_tracker.h"
#include "runtime/key_lanes.h"

namespace fxconnect::runtime {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// What a produced record is for; travels in the delivery report's opaque with the message id.
enum class RecordKind : std::uintptr_t { reply = 0, error_reply = 1, dead_letter = 2 };
constexpr std::uintptr_t kKindBits = 2;

void* make_opaque(std::uint64_t id, RecordKind kind) {
  return reinterpret_cast<void*>(static_cast<std::uintptr_t>((id << kKindBits) | static_cast<std::uintptr_t>(kind)));
}
std::pair<std::uint64_t, RecordKind> read_opaque(void* opaque) {
  auto v = reinterpret_cast<std::uintptr_t>(opaque);
  return {v >> kKindBits, static_cast<RecordKind>(v & ((1u << kKindBits) - 1))};
}

std::string_view kind_name(RecordKind kind) {
  switch (kind) {
    case RecordKind::reply: return "reply";
    case RecordKind::error_reply: return "error reply";
    case RecordKind::dead_letter: return "dead letter";
  }
  return "record";
}

using PartitionKey = std::pair<std::string, std::int32_t>;

// At most `limit` bytes of `bytes` for a log line: printable ASCII as is, the rest as \xHH.
std::string printable(std::string_view bytes, std::size_t limit) {
  std::string out;
  for (std::size_t i = 0; i < bytes.size() && i < limit; ++i) {
    auto c = static_cast<unsigned char>(bytes[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("\\x{:02x}", c);
    }
  }
  if (bytes.size() > limit) out += fmt::format("...({} bytes)", bytes.size());
  return out;
}

// A pipe librdkafka writes to when one of its queues becomes non-empty, watched by asio: the
// event loop sleeps until Kafka has something for it, and no thread blocks in a poll call.
class QueueWakeup {
 public:
  QueueWakeup(asio::io_context& io, rd_kafka_queue_t* queue) : pipe_(io), queue_(queue) {
    int fds[2];
    if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    write_fd_ = fds[1];
    pipe_.assign(fds[0]);
    rd_kafka_queue_io_event_enable(queue_, write_fd_, "1", 1);
  }
  ~QueueWakeup() {
    rd_kafka_queue_io_event_enable(queue_, -1, nullptr, 0);
    ::close(write_fd_);
  }
  QueueWakeup(const QueueWakeup&) = delete;
  QueueWakeup& operator=(const QueueWakeup&) = delete;

  template <class F>
  void wait(F f) {
    pipe_.async_wait(asio::posix::stream_descriptor::wait_read, [this, f = std::move(f)](auto ec) {
      if (ec) return;
      std::array<char, 256> sink;
      while (::read(pipe_.native_handle(), sink.data(), sink.size()) > 0) {
      }
      f();
    });
  }

 private:
  asio::posix::stream_descriptor pipe_;
  rd_kafka_queue_t* queue_;
  int write_fd_ = -1;
};

// Messages consumed per turn of the loop before completions get a turn.
constexpr int kConsumeBudget = 256;
// Delivery reports and other producer events served per turn.
constexpr int kProducerBudget = 1024;
// Housekeeping period: poll both clients even without a wakeup, commit when due.
constexpr milliseconds kTickPeriod{100};
constexpr milliseconds kRetryBackoffMin{500};
constexpr milliseconds kRetryBackoffMax{30'000};

class ConnectorLoop;

// Lets a Call outlive the runtime: completions after the runtime is gone are dropped.
struct Link {
  std::mutex mutex;
  ConnectorLoop* loop = nullptr;
};

void deliver_result(ConnectorLoop* loop, std::uint64_t id, Result<Reply> result);

class CallImpl final : public Call {
 public:
  CallImpl(std::shared_ptr<Link> link, std::uint64_t id, std::shared_ptr<const Request> request,
           asio::any_io_executor executor, Clock::time_point deadline)
      : link_(std::move(link)), id_(id), request_(std::move(request)), executor_(std::move(executor)),
        deadline_(deadline) {}
  ~CallImpl() override {
    if (!done_.exchange(true)) {
      deliver(Error{ErrorCode::internal, "the handler released the request without replying", false, {}});
    }
  }
  const Request& request() const override { return *request_; }
  asio::any_io_executor executor() const override { return executor_; }
  Clock::time_point deadline() const override { return deadline_; }
  asio::cancellation_slot cancellation_slot() override { return cancel_.slot(); }
  void reply(Reply reply) override {
    if (!done_.exchange(true)) deliver(std::move(reply));
  }
  void fail(Error error) override {
    if (!done_.exchange(true)) deliver(std::move(error));
  }
  // On the loop thread only.
  void cancel() { cancel_.emit(asio::cancellation_type::terminal); }

 private:
  void deliver(Result<Reply> result) {
    std::lock_guard lock(link_->mutex);
    if (link_->loop) deliver_result(link_->loop, id_, std::move(result));
  }

  std::shared_ptr<Link> link_;
  std::uint64_t id_;
  std::shared_ptr<const Request> request_;
  asio::any_io_executor executor_;
  Clock::time_point deadline_;
  asio::cancellation_signal cancel_;
  std::atomic<bool> done_{false};
};

enum class Stage { waiting, handling, replying };

// One consumed request, from consumption to its terminal outcome acknowledged by Kafka.
struct Pending {
  Pending(std::uint64_t id_, asio::io_context& io) : id(id_), deadline_timer(io), retry_timer(io) {}

  std::uint64_t id;
  std::shared_ptr<Request> request;  // shared read-only with the handler once it starts
  PartitionKey partition;
  std::string lane;       // "" = not ordered
  bool in_lane = false;   // holds or waits for its place in `lane`
  Stage stage = Stage::waiting;
  Clock::time_point consumed_at;
  asio::steady_timer deadline_timer;
  asio::steady_timer retry_timer;
  std::weak_ptr<CallImpl> call;
  int unacked = 0;                                      // records produced, not yet acknowledged
  std::map<RecordKind, core::OutgoingRecord> records;  // kept for retries
  std::optional<Error> error;                          // set when the outcome is an error reply
  int retries = 0;
};

struct PartitionState {
  kafka::OffsetTracker tracker;
  std::int64_t committed = -1;  // last offset sent in a commit
  bool revoking = false;
};

class ConnectorLoop {
 public:
  ConnectorLoop(config::ConnectorConfig config, std::unique_ptr<Handler> handler)
      : config_(std::move(config)), handler_(std::move(handler)), link_(std::make_shared<Link>()),
        tick_timer_(io_), grace_timer_(io_), revoke_timer_(io_), signals_(io_) {
    link_->loop = this;
    resume_at_ = std::max(0, config_.processing.max_in_flight - std::max(1, config_.processing.max_in_flight / 10));
  }

  ~ConnectorLoop() {
    {
      std::lock_guard lock(link_->mutex);
      link_->loop = nullptr;
    }
    pending_.clear();
    consumer_wakeup_.reset();
    producer_wakeup_.reset();
    consumer_queue_.reset();
    producer_queue_.reset();
    reply_topics_.clear();
    consumer_.reset();
    producer_.reset();
  }

  int run(bool handle_signals);
  void request_stop() {
    asio::post(io_, [this] { begin_stop("stop requested"); });
  }
  RunStats stats() const { return stats_; }

  void on_handler_result(std::uint64_t id, Result<Reply> result);
  asio::io_context& io() { return io_; }

 private:
  void connect();
  void watch_consumer();
  void watch_producer();
  void drain_consumer();
  void drain_producer();
  void schedule_tick();

  static void rebalance_cb(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts,
                           void* opaque);
  static void delivery_cb(rd_kafka_t* rk, const rd_kafka_message_t* m, void* opaque);
  static void commit_cb(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* offsets,
                        void* opaque);
  static void error_cb(rd_kafka_t* rk, int err, const char* reason, void* opaque);
  static void log_cb(const rd_kafka_t* rk, int level, const char* fac, const char* buf);
  void on_assign(rd_kafka_topic_partition_list_t* parts);
  void on_revoke(rd_kafka_topic_partition_list_t* parts);
  void check_revoked(bool forced);

  void on_message(const rd_kafka_message_t& m);
  void start(Pending& p);
  void on_deadline(std::uint64_t id);
  void fail(Pending& p, Error error);
  void send(Pending& p, RecordKind kind, core::OutgoingRecord record);
  void produce(Pending& p, RecordKind kind);
  void on_delivery(std::uint64_t id, RecordKind kind, rd_kafka_resp_err_t err);
  void complete(Pending& p);
  void account_in_flight();
  void leave_handling(Pending& p);

  kafka::PartitionListPtr assignment_list(bool include_revoking) const;
  void pause_all(const char* why);
  void resume_all();
  void commit(bool sync, const std::vector<PartitionKey>* only = nullptr);
  void begin_stop(const std::string& why);
  void check_stopped();
  void finish_stop(bool drained);
  std::string where(const Pending& p) const;
  std::string where(const PartitionKey& k) const { return fmt::format("{}[{}]", k.first, k.second); }

  config::ConnectorConfig config_;
  std::unique_ptr<Handler> handler_;
  std::shared_ptr<Link> link_;
  asio::io_context io_{1};
  asio::steady_timer tick_timer_;
  asio::steady_timer grace_timer_;
  asio::steady_timer revoke_timer_;
  asio::signal_set signals_;

  kafka::KafkaPtr consumer_;
  kafka::KafkaPtr producer_;
  kafka::QueuePtr consumer_queue_;
  kafka::QueuePtr producer_queue_;
  std::unique_ptr<QueueWakeup> consumer_wakeup_;
  std::unique_ptr<QueueWakeup> producer_wakeup_;
  std::vector<kafka::TopicPtr> reply_topics_;

  std::unordered_map<std::uint64_t, std::unique_ptr<Pending>> pending_;
  std::map<PartitionKey, PartitionState> partitions_;
  std::vector<PartitionKey> revoking_;  // revoked, draining, not yet unassigned
  KeyLanes lanes_;
  std::uint64_t next_id_ = 1;
  bool paused_ = false;
  std::uint64_t pauses_ = 0;
  Clock::time_point last_pause_log_{};
  int resume_at_ = 0;
  bool stopping_ = false;  // no new intake; finishing in-flight work
  bool closing_ = false;   // past the drain: closing the clients
  int exit_code_ = exit_clean;
  Clock::time_point last_commit_ = Clock::now();

  RunStats stats_;
  std::size_t handling_ = 0;            // requests in Stage::handling
  Clock::time_point counted_since_;     // last change of pending_.size() or handling_
  std::size_t last_in_flight_ = 0;      // their values since then
  std::size_t last_handling_ = 0;
  double in_flight_integral_ = 0;       // Σ in_flight × seconds
  double handling_integral_ = 0;        // Σ handling × seconds
};

void deliver_result(ConnectorLoop* loop, std::uint64_t id, Result<Reply> result) {
  asio::post(loop->io(), [loop, id, result = std::move(result)]() mutable {
    loop->on_handler_result(id, std::move(result));
  });
}

// --- setup and the event loop ----------------------------------------------------------------

int ConnectorLoop::run(bool handle_signals) {
  connect();
  if (handle_signals) {
    signals_.add(SIGTERM);
    signals_.add(SIGINT);
    signals_.async_wait([this](auto ec, int sig) {
      if (!ec) begin_stop(sig == SIGTERM ? "SIGTERM" : "SIGINT");
    });
  }
  watch_consumer();
  watch_producer();
  schedule_tick();
  io_.run();
  account_in_flight();
  double busy = stats_.busy_seconds;
  stats_.mean_in_flight = busy > 0 ? in_flight_integral_ / busy : 0;
  stats_.mean_handling = busy > 0 ? handling_integral_ / busy : 0;
  spdlog::info(
      "stopped: exit={} consumed={} replied_ok={} replied_error={} dead_lettered={} produce_retries={} "
      "late_completions={} in_flight_mean={:.1f} in_flight_max={} handling_mean={:.1f} handling_max={} "
      "busy_s={:.3f}",
      exit_code_, stats_.consumed, stats_.replied_ok, stats_.replied_error, stats_.dead_lettered,
      stats_.produce_retries, stats_.late_completions, stats_.mean_in_flight, stats_.max_in_flight,
      stats_.mean_handling, stats_.max_handling, busy);
  return exit_code_;
}

void ConnectorLoop::connect() {
  auto cconf = kafka::consumer_conf(config_);
  auto pconf = kafka::producer_conf(config_);
  for (auto* conf : {cconf.get(), pconf.get()}) {
    rd_kafka_conf_set_opaque(conf, this);
    rd_kafka_conf_set_error_cb(conf, &ConnectorLoop::error_cb);
    rd_kafka_conf_set_log_cb(conf, &ConnectorLoop::log_cb);
  }
  rd_kafka_conf_set_rebalance_cb(cconf.get(), &ConnectorLoop::rebalance_cb);
  rd_kafka_conf_set_offset_commit_cb(cconf.get(), &ConnectorLoop::commit_cb);
  rd_kafka_conf_set_dr_msg_cb(pconf.get(), &ConnectorLoop::delivery_cb);

  char err[512];
  producer_.reset(rd_kafka_new(RD_KAFKA_PRODUCER, pconf.get(), err, sizeof err));
  if (!producer_) throw ConfigError(std::string("cannot create the producer: ") + err);
  pconf.release();  // owned by the producer now
  consumer_.reset(rd_kafka_new(RD_KAFKA_CONSUMER, cconf.get(), err, sizeof err));
  if (!consumer_) throw ConfigError(std::string("cannot create the consumer: ") + err);
  cconf.release();
  rd_kafka_poll_set_consumer(consumer_.get());

  consumer_queue_.reset(rd_kafka_queue_get_consumer(consumer_.get()));
  producer_queue_.reset(rd_kafka_queue_get_main(producer_.get()));
  consumer_wakeup_ = std::make_unique<QueueWakeup>(io_, consumer_queue_.get());
  producer_wakeup_ = std::make_unique<QueueWakeup>(io_, producer_queue_.get());

  // Fetch the reply (and DLQ) topic metadata now, not at the first reply: a request should not
  // wait for a metadata round trip. The handles live as long as the producer.
  for (const auto* topic : {&config_.reply.topic, &config_.errors.dlq_topic}) {
    if (!topic->empty()) reply_topics_.emplace_back(rd_kafka_topic_new(producer_.get(), topic->c_str(), nullptr));
  }

  std::string subscription = config_.input.topic.empty() ? "^" + config_.input.pattern : config_.input.topic;
  kafka::PartitionListPtr topics(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(topics.get(), subscription.c_str(), RD_KAFKA_PARTITION_UA);
  if (auto e = rd_kafka_subscribe(consumer_.get(), topics.get())) {
    throw ConfigError(fmt::format("cannot subscribe to '{}': {}", subscription, rd_kafka_err2str(e)));
  }
  spdlog::info("started: group={} input={} reply={} handler={} ordering={} max_in_flight={} deadline={}",
               config_.kafka.group_id, subscription, config_.reply.topic, config_.handler.name,
               config_.processing.ordering == config::Ordering::key         ? "key"
               : config_.processing.ordering == config::Ordering::partition ? "partition"
                                                                            : "none",
               config_.processing.max_in_flight, core::format_duration(config_.processing.deadline));
}

void ConnectorLoop::watch_consumer() {
  consumer_wakeup_->wait([this] {
    drain_consumer();
    if (consumer_) watch_consumer();
  });
}

void ConnectorLoop::watch_producer() {
  producer_wakeup_->wait([this] {
    drain_producer();
    if (producer_) watch_producer();
  });
}

void ConnectorLoop::drain_consumer() {
  if (!consumer_ || closing_) return;
  for (int i = 0; i < kConsumeBudget; ++i) {
    kafka::MessagePtr m(rd_kafka_consumer_poll(consumer_.get(), 0));
    if (!m) return;
    on_message(*m);
    if (!consumer_ || closing_) return;
  }
  // More may be queued: let completions run, then continue (the wakeup fires only on empty→non-empty).
  asio::post(io_, [this] { drain_consumer(); });
}

void ConnectorLoop::drain_producer() {
  if (!producer_) return;
  int served = 0;
  while (served < kProducerBudget) {
    int n = rd_kafka_poll(producer_.get(), 0);
    if (n <= 0) return;
    served += n;
  }
  asio::post(io_, [this] { drain_producer(); });
}

void ConnectorLoop::schedule_tick() {
  tick_timer_.expires_after(kTickPeriod);
  tick_timer_.async_wait([this](auto ec) {
    if (ec || closing_) return;
    drain_consumer();
    drain_producer();
    if (Clock::now() - last_commit_ >= config_.processing.commit_interval) commit(false);
    schedule_tick();
  });
}

// --- librdkafka callbacks --------------------------------------------------------------------

void ConnectorLoop::rebalance_cb(rd_kafka_t*, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts,
                        void* opaque) {
  auto* self = static_cast<ConnectorLoop*>(opaque);
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    self->on_assign(parts);
  } else {
    self->on_revoke(parts);
  }
}

void ConnectorLoop::on_assign(rd_kafka_topic_partition_list_t* parts) {
  std::string names;
  for (int i = 0; i < parts->cnt; ++i) {
    PartitionKey key{parts->elems[i].topic, parts->elems[i].partition};
    partitions_[key] = PartitionState{};
    names += (names.empty() ? "" : ",") + where(key);
  }
  if (kafka::ErrorPtr e{rd_kafka_incremental_assign(consumer_.get(), parts)}) {
    spdlog::error("assign failed for {}: {}", names, rd_kafka_error_string(e.get()));
    return;
  }
  if (names.empty()) {
    spdlog::info("rebalance: no partitions assigned to this member");
  } else {
    spdlog::info("partitions assigned: {}", names);
  }
  if (paused_ || stopping_) rd_kafka_pause_partitions(consumer_.get(), parts);
}

void ConnectorLoop::on_revoke(rd_kafka_topic_partition_list_t* parts) {
  std::string names;
  bool lost = rd_kafka_assignment_lost(consumer_.get());
  for (int i = 0; i < parts->cnt; ++i) {
    PartitionKey key{parts->elems[i].topic, parts->elems[i].partition};
    names += (names.empty() ? "" : ",") + where(key);
    if (auto it = partitions_.find(key); it != partitions_.end()) {
      it->second.revoking = true;
      revoking_.push_back(key);
    }
  }
  if (lost || closing_) {
    // Lost: another member owns them already, a commit would be refused. Closing: drained before.
    if (lost) {
      spdlog::warn("partitions lost: {}; their unfinished requests will be redelivered to the new owner", names);
    } else {
      spdlog::info("partitions released on close: {}", names);
    }
    for (const auto& key : revoking_) partitions_.erase(key);
    revoking_.clear();
    kafka::ErrorPtr e{rd_kafka_incremental_unassign(consumer_.get(), parts)};
    return;
  }
  std::size_t draining = 0;
  for (const auto& key : revoking_) draining += partitions_[key].tracker.pending();
  spdlog::info("partitions revoked: {}; draining={} in-flight requests before release", names, draining);
  rd_kafka_pause_partitions(consumer_.get(), parts);
  revoke_timer_.expires_after(config_.processing.shutdown_grace);
  revoke_timer_.async_wait([this](auto ec) {
    if (!ec) check_revoked(true);
  });
  check_revoked(false);
}

void ConnectorLoop::check_revoked(bool forced) {
  if (revoking_.empty()) return;
  std::size_t in_flight = 0;
  for (const auto& key : revoking_) in_flight += partitions_[key].tracker.pending();
  if (in_flight > 0 && !forced) return;
  revoke_timer_.cancel();
  if (in_flight > 0) {
    spdlog::warn("revoke grace of {} expired with {} requests unfinished; they will be redelivered",
                 core::format_duration(config_.processing.shutdown_grace), in_flight);
  }
  commit(true, &revoking_);
  kafka::PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(revoking_.size())));
  std::string names;
  for (const auto& key : revoking_) {
    rd_kafka_topic_partition_list_add(list.get(), key.first.c_str(), key.second);
    partitions_.erase(key);
    names += (names.empty() ? "" : ",") + where(key);
  }
  revoking_.clear();
  if (kafka::ErrorPtr e{rd_kafka_incremental_unassign(consumer_.get(), list.get())}) {
    spdlog::error("unassign failed for {}: {}", names, rd_kafka_error_string(e.get()));
  }
  spdlog::info("partitions released: {}", names);
}

void ConnectorLoop::delivery_cb(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto [id, kind] = read_opaque(m->_private);
  static_cast<ConnectorLoop*>(opaque)->on_delivery(id, kind, m->err);
}

void ConnectorLoop::commit_cb(rd_kafka_t*, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* offsets,
                     void* opaque) {
  auto* self = static_cast<ConnectorLoop*>(opaque);
  if (err == RD_KAFKA_RESP_ERR__NO_OFFSET) return;
  for (int i = 0; offsets && i < offsets->cnt; ++i) {
    const auto& tp = offsets->elems[i];
    auto e = err ? err : tp.err;
    if (!e) continue;
    spdlog::warn("commit failed for {}[{}] at offset {}: {}; retrying at the next commit", tp.topic, tp.partition,
                 tp.offset, rd_kafka_err2str(e));
    if (auto it = self->partitions_.find({tp.topic, tp.partition}); it != self->partitions_.end()) {
      it->second.committed = -1;
    }
  }
}

void ConnectorLoop::error_cb(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
  auto* self = static_cast<ConnectorLoop*>(opaque);
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    char buf[512];
    auto orig = rd_kafka_fatal_error(rk, buf, sizeof buf);
    spdlog::critical("fatal Kafka error in the {}: {}: {}; stopping (unanswered requests are redelivered)",
                     rd_kafka_type(rk) == RD_KAFKA_PRODUCER ? "producer" : "consumer", rd_kafka_err2name(orig), buf);
    self->exit_code_ = exit_fatal;
    asio::post(self->io_, [self] { self->begin_stop("fatal Kafka error"); });
    return;
  }
  spdlog::warn("kafka {}: {}: {}", rd_kafka_type(rk) == RD_KAFKA_PRODUCER ? "producer" : "consumer",
               rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)), reason);
}

void ConnectorLoop::log_cb(const rd_kafka_t*, int level, const char* fac, const char* buf) {
  // kafka.properties go to both clients; librdkafka's note that one of them ignores a property
  // meant for the other is expected, not a warning.
  if (std::string_view(fac) == "CONFWARN" && std::string_view(buf).find(" property and will be ignored by this ") != std::string_view::npos) {
    level = 7;
  }
  auto lvl = level <= 3 ? spdlog::level::err : level <= 4 ? spdlog::level::warn : level <= 6 ? spdlog::level::info
                                                                                               : spdlog::level::debug;
  spdlog::log(lvl, "librdkafka {}: {}", fac, buf);
}

// --- the message path ------------------------------------------------------------------------

void ConnectorLoop::on_message(const rd_kafka_message_t& m) {
  if (m.err) {
    if (m.err == RD_KAFKA_RESP_ERR__PARTITION_EOF) return;
    spdlog::warn("consumer: {}{}: {}", m.rkt ? rd_kafka_topic_name(m.rkt) : "",
                 m.rkt ? fmt::format("[{}]", m.partition) : "", rd_kafka_message_errstr(&m));
    return;
  }
  auto request = std::make_shared<Request>(kafka::to_request(m));
  PartitionKey key{request->topic, request->partition};
  auto part = partitions_.find(key);
  if (part == partitions_.end()) {
    // Not ours (a stale message after a revoke): the new owner will get it. Nothing is lost.
    spdlog::debug("message from unassigned {} offset {} skipped", where(key), request->offset);
    return;
  }
  part->second.tracker.add(request->offset);

  auto id = next_id_++;
  auto owned = std::make_unique<Pending>(id, io_);
  Pending& p = *owned;
  p.partition = key;
  p.consumed_at = Clock::now();
  switch (config_.processing.ordering) {
    case config::Ordering::key:
      p.lane = request->key ? *request->key : std::string(request->process_instance_uuid());
      if (!p.lane.empty()) p.lane.insert(0, "k:");
      break;
    case config::Ordering::partition:
      p.lane = "p:" + where(key);
      break;
    case config::Ordering::none:
      break;
  }
  p.request = std::move(request);
  p.deadline_timer.expires_at(p.consumed_at + config_.processing.deadline);
  p.deadline_timer.async_wait([this, id](auto ec) {
    if (!ec) on_deadline(id);
  });
  pending_.emplace(id, std::move(owned));
  ++stats_.consumed;
  account_in_flight();
  if (pending_.size() >= static_cast<std::size_t>(config_.processing.max_in_flight) && !paused_) {
    pause_all("in-flight limit reached");
  }
  p.in_lane = !p.lane.empty();
  if (!p.in_lane || lanes_.enter(p.lane, id)) start(p);
}

void ConnectorLoop::start(Pending& p) {
  p.stage = Stage::handling;
  ++handling_;
  account_in_flight();
  const Request& req = *p.request;
  if (req.body.empty()) {
    fail(p, Error{ErrorCode::invalid_request, "the request body is empty; expected a JSON document", false, {}});
    return;
  }
  boost::system::error_code ec;
  boost::json::parse_options opts;  // strict JSON; invalid UTF-8 is refused
  auto json = boost::json::parse(req.body, ec, {}, opts);
  if (ec) {
    fail(p, Error{ErrorCode::invalid_request,
                  fmt::format("the request body is not valid JSON ({}); {} bytes received", ec.message(), req.body.size()),
                  false,
                  {}});
    return;
  }
  // From here on the request is shared with the handler, read-only.
  p.request->json = std::move(json);
  auto call = std::make_shared<CallImpl>(link_, p.id, std::shared_ptr<const Request>(p.request), io_.get_executor(),
                                         p.consumed_at + config_.processing.deadline);
  p.call = call;
  try {
    handler_->handle(std::move(call));
  } catch (const std::exception& e) {
    // The Call is already finished (or will be by its destructor); record the cause.
    spdlog::error("{}: handler threw: {}", where(p), e.what());
  }
}

void ConnectorLoop::on_handler_result(std::uint64_t id, Result<Reply> result) {
  auto it = pending_.find(id);
  if (it == pending_.end() || it->second->stage != Stage::handling) {
    ++stats_.late_completions;
    spdlog::debug("message #{}: handler finished after its outcome was decided; ignored", id);
    return;
  }
  Pending& p = *it->second;
  p.deadline_timer.cancel();
  if (!result) {
    fail(p, result.error());
    return;
  }
  leave_handling(p);
  send(p, RecordKind::reply, core::make_reply(*p.request, config_.reply.topic, std::move(result.value().body)));
}

void ConnectorLoop::on_deadline(std::uint64_t id) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  Pending& p = *it->second;
  if (p.stage == Stage::replying) return;  // outcome decided; the producer has its own timeout
  if (p.stage == Stage::waiting && p.in_lane && lanes_.remove_waiting(p.lane, p.id)) p.in_lane = false;
  if (auto call = p.call.lock()) call->cancel();
  fail(p, Error{ErrorCode::deadline_exceeded,
                fmt::format("no reply within the deadline of {}", core::format_duration(config_.processing.deadline)),
                true,
                {}});
}

void ConnectorLoop::fail(Pending& p, Error error) {
  leave_handling(p);
  p.deadline_timer.cancel();
  if (config_.log.bodies) {
    spdlog::error("{}: {}: {} body={}", where(p), to_string(error.code), error.message, printable(p.request->body, 1024));
  } else {
    spdlog::error("{}: {}: {}", where(p), to_string(error.code), error.message);
  }
  auto body = core::error_reply_body(error);
  if (!config_.errors.dlq_topic.empty()) {
    send(p, RecordKind::dead_letter, core::make_dead_letter(*p.request, config_.errors.dlq_topic, error));
  }
  p.error = std::move(error);
  send(p, RecordKind::error_reply, core::make_reply(*p.request, config_.reply.topic, std::move(body)));
}

void ConnectorLoop::send(Pending& p, RecordKind kind, core::OutgoingRecord record) {
  p.records[kind] = std::move(record);
  ++p.unacked;
  produce(p, kind);
}

void ConnectorLoop::produce(Pending& p, RecordKind kind) {
  auto err = kafka::produce(producer_.get(), p.records[kind], make_opaque(p.id, kind));
  if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
    // The producer's local queue is full: back-pressure, not a failure. Try again shortly.
    p.retry_timer.expires_after(milliseconds(20));
    p.retry_timer.async_wait([this, id = p.id, kind](auto ec) {
      if (ec) return;
      if (auto it = pending_.find(id); it != pending_.end()) produce(*it->second, kind);
    });
    return;
  }
  if (err) {
    // Refused before sending (too large, queue full...): handle like a failed delivery, but
    // outside this call so the caller's state stays consistent.
    asio::post(io_, [this, id = p.id, kind, err] { on_delivery(id, kind, err); });
  }
}

void ConnectorLoop::on_delivery(std::uint64_t id, RecordKind kind, rd_kafka_resp_err_t err) {
  auto it = pending_.find(id);
  if (it == pending_.end()) {
    spdlog::warn("delivery report for unknown message #{} ({})", id, kind_name(kind));
    return;
  }
  Pending& p = *it->second;
  if (!err) {
    if (kind == RecordKind::reply) ++stats_.replied_ok;
    if (kind == RecordKind::error_reply) ++stats_.replied_error;
    if (kind == RecordKind::dead_letter) ++stats_.dead_lettered;
    p.records.erase(kind);
    if (--p.unacked == 0) complete(p);
    return;
  }
  bool retriable = kafka::is_retriable_produce_error(err);
  spdlog::error("{}: {} to '{}' failed: {}: {}", where(p), kind_name(kind), p.records[kind].topic,
                rd_kafka_err2name(err), rd_kafka_err2str(err));
  if (kind == RecordKind::reply) {
    // The reply cannot be delivered: the process gets an error reply instead.
    --p.unacked;
    p.records.erase(kind);
    bool too_large = err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE ||
                     err == RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE;
    fail(p, Error{too_large ? ErrorCode::reply_too_large : ErrorCode::reply_failed,
                  fmt::format("the reply could not be produced: {}", rd_kafka_err2str(err)), retriable, {}});
    return;
  }
  if (kind == RecordKind::dead_letter && !retriable) {
    // The error reply is the outcome the process needs; a dead letter that can never be written
    // (e.g. larger than the DLQ topic accepts) is given up, loudly.
    spdlog::error("{}: dead letter given up: {}", where(p), rd_kafka_err2str(err));
    p.records.erase(kind);
    if (--p.unacked == 0) complete(p);
    return;
  }
  // The error reply (or the dead letter) must reach Kafka: try again with backoff. The offset
  // stays uncommitted meanwhile, so a crash now redelivers the request.
  if (closing_) return;
  ++p.retries;
  ++stats_.produce_retries;
  auto backoff = std::min(kRetryBackoffMax, kRetryBackoffMin * (1 << std::min(p.retries - 1, 6)));
  p.retry_timer.expires_after(backoff);
  p.retry_timer.async_wait([this, id, kind](auto ec) {
    if (ec) return;
    if (auto it2 = pending_.find(id); it2 != pending_.end()) produce(*it2->second, kind);
  });
}

void ConnectorLoop::complete(Pending& p) {
  auto id = p.id;
  if (auto part = partitions_.find(p.partition); part != partitions_.end()) {
    part->second.tracker.complete(p.request->offset);
  }
  std::optional<std::uint64_t> next;
  if (p.in_lane) next = lanes_.leave(p.lane);
  pending_.erase(id);  // p is gone from here on
  account_in_flight();
  if (next && !closing_) {
    if (auto it = pending_.find(*next); it != pending_.end()) start(*it->second);
  }
  if (paused_ && !stopping_ && static_cast<int>(pending_.size()) <= resume_at_) resume_all();
  if (!revoking_.empty()) {
    asio::post(io_, [this] { check_revoked(false); });
  }
  if (stopping_) check_stopped();
}

// Called after every change of pending_.size() or handling_: the interval since the previous
// change had the previous counts.
void ConnectorLoop::account_in_flight() {
  auto now = Clock::now();
  if (counted_since_ != Clock::time_point{}) {
    double dt = std::chrono::duration<double>(now - counted_since_).count();
    in_flight_integral_ += dt * static_cast<double>(last_in_flight_);
    handling_integral_ += dt * static_cast<double>(last_handling_);
    if (last_in_flight_ > 0) stats_.busy_seconds += dt;
  }
  counted_since_ = now;
  last_in_flight_ = pending_.size();
  last_handling_ = handling_;
  stats_.max_in_flight = std::max<std::uint64_t>(stats_.max_in_flight, last_in_flight_);
  stats_.max_handling = std::max<std::uint64_t>(stats_.max_handling, handling_);
}

void ConnectorLoop::leave_handling(Pending& p) {
  if (p.stage == Stage::handling) {
    --handling_;
    p.stage = Stage::replying;
    account_in_flight();
  }
  p.stage = Stage::replying;
}

std::string ConnectorLoop::where(const Pending& p) const {
  auto uuid = p.request->process_instance_uuid();
  return fmt::format("{}[{}]@{} processInstanceUuid={}", p.request->topic, p.request->partition, p.request->offset,
                     uuid.empty() ? "-" : uuid);
}

// --- flow control, commits, stop -------------------------------------------------------------

kafka::PartitionListPtr ConnectorLoop::assignment_list(bool include_revoking) const {
  kafka::PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(partitions_.size())));
  for (const auto& [key, state] : partitions_) {
    if (state.revoking && !include_revoking) continue;
    rd_kafka_topic_partition_list_add(list.get(), key.first.c_str(), key.second);
  }
  return list;
}

void ConnectorLoop::pause_all(const char* why) {
  paused_ = true;
  auto list = assignment_list(true);
  if (list->cnt > 0) rd_kafka_pause_partitions(consumer_.get(), list.get());
  // At saturation this toggles several times a second: one info line per 10 s, the rest at debug.
  auto now = Clock::now();
  auto level = now - last_pause_log_ >= std::chrono::seconds(10) ? spdlog::level::info : spdlog::level::debug;
  if (level == spdlog::level::info) last_pause_log_ = now;
  spdlog::log(level, "intake paused ({}): {} in flight, {} partitions; paused {} times so far", why, pending_.size(),
              list->cnt, ++pauses_);
}

void ConnectorLoop::resume_all() {
  paused_ = false;
  auto list = assignment_list(false);
  if (list->cnt > 0) rd_kafka_resume_partitions(consumer_.get(), list.get());
  spdlog::debug("intake resumed: {} in flight", pending_.size());
}

void ConnectorLoop::commit(bool sync, const std::vector<PartitionKey>* only) {
  last_commit_ = Clock::now();
  if (!consumer_) return;
  kafka::PartitionListPtr list(rd_kafka_topic_partition_list_new(8));
  for (auto& [key, state] : partitions_) {
    if (only && std::find(only->begin(), only->end(), key) == only->end()) continue;
    auto offset = state.tracker.committable();
    if (!offset || *offset <= state.committed) continue;
    rd_kafka_topic_partition_list_add(list.get(), key.first.c_str(), key.second)->offset = *offset;
    state.committed = *offset;
  }
  if (list->cnt == 0) return;
  auto err = rd_kafka_commit(consumer_.get(), list.get(), sync ? 0 : 1);
  if (err && sync) spdlog::warn("commit failed: {}", rd_kafka_err2str(err));
}

void ConnectorLoop::begin_stop(const std::string& why) {
  if (stopping_) return;
  stopping_ = true;
  spdlog::info("stopping ({}): {} in flight, grace {}", why, pending_.size(),
               core::format_duration(config_.processing.shutdown_grace));
  if (consumer_) {
    auto list = assignment_list(true);
    if (list->cnt > 0) rd_kafka_pause_partitions(consumer_.get(), list.get());
  }
  grace_timer_.expires_after(config_.processing.shutdown_grace);
  grace_timer_.async_wait([this](auto ec) {
    if (!ec) finish_stop(false);
  });
  check_stopped();
}

// May run inside a librdkafka callback (a delivery report): the clients are closed from the
// loop instead, never re-entrantly from their own poll call.
void ConnectorLoop::check_stopped() {
  if (stopping_ && !closing_ && pending_.empty()) {
    asio::post(io_, [this] {
      if (!closing_ && pending_.empty()) finish_stop(true);
    });
  }
}

void ConnectorLoop::finish_stop(bool drained) {
  if (closing_) return;
  closing_ = true;
  grace_timer_.cancel();
  tick_timer_.cancel();
  revoke_timer_.cancel();
  signals_.cancel();
  if (!drained) {
    spdlog::warn("shutdown grace of {} expired with {} requests unfinished; they will be redelivered",
                 core::format_duration(config_.processing.shutdown_grace), pending_.size());
    if (exit_code_ == exit_clean) exit_code_ = exit_grace_expired;
  }
  // Replies already handed to the producer get their delivery reports (and offsets) first.
  if (producer_) rd_kafka_flush(producer_.get(), 10'000);
  for (auto& [id, p] : pending_) {
    if (auto call = p->call.lock()) call->cancel();
  }
  if (consumer_) {
    commit(true);
    rd_kafka_consumer_close(consumer_.get());
  }
  consumer_wakeup_.reset();
  producer_wakeup_.reset();
  pending_.clear();
  io_.stop();
}

}  // namespace

// ---------------------------------------------------------------------------------------------

class Runtime::Impl : public ConnectorLoop {
 public:
  using ConnectorLoop::ConnectorLoop;
};

Runtime::Runtime(config::ConnectorConfig config, std::unique_ptr<Handler> handler)
    : impl_(std::make_unique<Impl>(std::move(config), std::move(handler))) {}
Runtime::~Runtime() = default;
int Runtime::run(bool handle_signals) { return impl_->run(handle_signals); }
void Runtime::request_stop() { impl_->request_stop(); }
RunStats Runtime::stats() const { return impl_->stats(); }

}  // namespace fxconnect::runtime
