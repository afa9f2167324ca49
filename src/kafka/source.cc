#include "kafka/source.h"

#include <algorithm>
#include <cstdint>
#include <tuple>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/json/parse.hpp>

namespace fxconnect::kafka {
namespace {

// Messages polled per batch (and polls per turn of the loop, errors included) before completions
// get a turn.
constexpr int kMessageBudget = 256;
// A batch holds at most this share of the bytes the in-flight bound has room for (past its first
// message): a request holds up to about ten times its record's size (see source.h).
constexpr std::size_t kBytesPerRecordByte = 16;
// Polled this often even without a wakeup: a safety net, and it keeps the group membership
// alive (max.poll.interval.ms) while every partition is paused.
constexpr std::chrono::milliseconds kTickPeriod{100};

std::vector<TopicPartition> to_vector(const rd_kafka_topic_partition_list_t* parts) {
  std::vector<TopicPartition> out;
  for (int i = 0; parts && i < parts->cnt; ++i) out.emplace_back(parts->elems[i].topic, parts->elems[i].partition);
  return out;
}

}  // namespace

PartitionListPtr partition_list(const std::vector<TopicPartition>& partitions) {
  PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())));
  for (const auto& [topic, partition] : partitions)
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), partition);
  return list;
}

Source::Source(boost::asio::io_context& io, const ConsumerSettings& settings, std::string subscription, Events events,
               BeforeAssign before_assign)
    : io_(io),
      events_(std::move(events)),
      before_assign_(std::move(before_assign)),
      subscription_(std::move(subscription)),
      tick_(io),
      group_id_(settings.group_id) {
  auto conf = consumer_conf(settings);
  rd_kafka_conf_set_opaque(conf.get(), this);
  rd_kafka_conf_set_rebalance_cb(conf.get(), &Source::rebalance_cb);
  rd_kafka_conf_set_offset_commit_cb(conf.get(), &Source::commit_cb);
  rd_kafka_conf_set_error_cb(conf.get(), &Source::error_cb);
  rd_kafka_conf_set_stats_cb(conf.get(), &Source::stats_cb);
  log_through_spdlog(conf.get());
  char err[512];
  consumer_.reset(rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), err, sizeof err));
  if (!consumer_) throw ConfigError(std::string("cannot create the consumer: ") + err);
  after_create(consumer_.get());
  handed_to_librdkafka(conf);
  rd_kafka_poll_set_consumer(consumer_.get());
  queue_.reset(rd_kafka_queue_get_consumer(consumer_.get()));
  if (settings.fetch_wakeup) fetch_waker_ = std::make_unique<FetchWaker>(consumer_.get());
  link_ = std::make_shared<Link>(Link{this});
  if (settings.decode_thread) {
    decoder_ = std::make_unique<Decoder>([&io = io_, link = link_](std::vector<Decoded> batch) {
      boost::asio::post(io, [link, batch = std::move(batch)]() mutable {
        if (link->source) link->source->decoded(std::move(batch));
      });
    });
  }
}

Source::~Source() {
  closed_ = true;           // destroying a consumer that was not closed revokes: release without events
  link_->source = nullptr;  // (on the loop, as are the decoder's posts)
  decoder_.reset();         // every message it had is destroyed: the consumer can go (null: decode_thread off)
  fetch_waker_.reset();
  wakeup_.reset();
  queue_.reset();
  consumer_.reset();
}

void Source::start() {
  PartitionListPtr topics(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(topics.get(), subscription_.c_str(), RD_KAFKA_PARTITION_UA);
  if (auto e = rd_kafka_subscribe(consumer_.get(), topics.get())) {
    throw ConfigError(fmt::format("cannot subscribe to '{}': {}", subscription_, rd_kafka_err2str(e)));
  }
  wakeup_ = std::make_unique<QueueWakeup>(io_, queue_.get());
  wakeup_->watch([this] { drain(); });
  schedule_tick();
}

// Reports changes only: called for every message, it must cost nothing when nothing changes.
void Source::set_brokers_down(bool down) {
  if (down == brokers_down_) return;
  brokers_down_ = down;
  if (events_.brokers_down) events_.brokers_down(down);
}

void Source::stop_taking() { taking_ = false; }

void Source::resume_taking() {
  if (taking_) return;
  taking_ = true;
  // The wakeup only fires when the queue turns non-empty; it may have stayed non-empty meanwhile.
  boost::asio::post(io_, [this] { drain(); });
}

void Source::drain() {
  if (decoding_) return;  // the batch in the decoder comes back first, and drains again then
  std::size_t room = SIZE_MAX, room_bytes = SIZE_MAX;
  if (events_.room) std::tie(room, room_bytes) = events_.room();
  // At least one message: polling is also how group events are served (while the runtime holds
  // intake at its bound it pauses the partitions, so then nothing but events comes).
  const std::size_t most = std::clamp<std::size_t>(room, 1, kMessageBudget);
  const std::size_t most_bytes = room_bytes / kBytesPerRecordByte;
  std::vector<MessagePtr> batch;
  decoding_revokes_.clear();
  std::size_t bytes = 0;
  int polls = 0;
  for (; polls < kMessageBudget && batch.size() < most && (batch.empty() || bytes < most_bytes); ++polls) {
    if (closed_ || !taking_) break;
    MessagePtr m(rd_kafka_consumer_poll(consumer_.get(), 0));
    if (!m) break;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) continue;
    if (m->err) {
      std::string what = fmt::format("{}{}: {}", m->rkt ? rd_kafka_topic_name(m->rkt) : "",
                                     m->rkt ? fmt::format("[{}]", m->partition) : "", rd_kafka_message_errstr(m.get()));
      if (m->err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
          m->err == RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED) {
        if (!unauthorized_reported_ && events_.unauthorized) {
          unauthorized_reported_ = true;
          events_.unauthorized(fmt::format(
              "consumer: {} ({}); grant this client's principal READ (and DESCRIBE) on the input topics and READ "
              "on the group '{}'",
              what, rd_kafka_err2name(m->err), group_id_));
        }
        continue;
      }
      spdlog::warn("consumer: {}", what);
      continue;
    }
    set_brokers_down(false);  // a message: a broker answered
    if (fetch_waker_) fetch_waker_->taken(m->len + m->key_len);
    bytes += m->len + m->key_len;
    batch.push_back(std::move(m));
    decoding_revokes_.push_back(revokes_);
  }
  if (!batch.empty() && decoder_) {
    decoding_ = true;
    decoder_->decode(std::move(batch));
    return;
  }
  if (!batch.empty()) {  // kafka.decode_thread off: decoded here, on the loop
    std::vector<Decoded> out;
    out.reserve(batch.size());
    for (auto& m : batch) {
      out.push_back(decode_message(*m));
      m.reset();
    }
    deliver(out);
  }
  if (!batch.empty() || polls == kMessageBudget) {
    boost::asio::post(io_, [this] { drain(); });  // more may be waiting: after other work
  }
}

void Source::decoded(std::vector<Decoded> batch) {
  decoding_ = false;
  deliver(batch);
  if (closed_) return;
  // The next batch goes to the decoder while the loop does other work (answers, reports); when
  // the queue is empty the wakeup calls drain() again.
  drain();
}

void Source::deliver(std::vector<Decoded>& batch) {
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (closed_) return;  // closing: not delivered, never stored, read again by the next owner
    auto& d = batch[i];
    if (const auto polled_at = decoding_revokes_[i]; polled_at != revokes_) {
      auto it = revoked_at_.find({d.request.topic, d.request.partition});
      if (it != revoked_at_.end() && it->second > polled_at) {
        spdlog::debug("message from {}[{}] offset {} polled before its partition was revoked: not delivered",
                      d.request.topic, d.request.partition, d.request.offset);
        continue;
      }
    }
    events_.message(std::move(d.request), std::move(d.headers));
  }
}

void Source::schedule_tick() {
  tick_.expires_after(kTickPeriod);
  tick_.async_wait([this](auto ec) {
    if (ec || closed_) return;
    drain();
    schedule_tick();
  });
}

void Source::pause(const std::vector<TopicPartition>& partitions) {
  if (partitions.empty()) return;
  rd_kafka_pause_partitions(consumer_.get(), partition_list(partitions).get());
}

void Source::resume(const std::vector<TopicPartition>& partitions) {
  if (partitions.empty()) return;
  rd_kafka_resume_partitions(consumer_.get(), partition_list(partitions).get());
}

std::size_t Source::store_offsets(const std::vector<std::pair<TopicPartition, std::int64_t>>& offsets) {
  if (offsets.empty()) return 0;
  PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size())));
  for (const auto& [tp, offset] : offsets) {
    rd_kafka_topic_partition_list_add(list.get(), tp.first.c_str(), tp.second)->offset = offset;
  }
  rd_kafka_offsets_store(consumer_.get(), list.get());
  std::size_t refused = 0;
  for (int i = 0; i < list->cnt; ++i) {
    if (!list->elems[i].err) continue;
    ++refused;
    spdlog::debug("offset {} of {}[{}] not stored: {}", list->elems[i].offset, list->elems[i].topic,
                  list->elems[i].partition, rd_kafka_err2str(list->elems[i].err));
  }
  return refused;
}

std::optional<std::int64_t> Source::end_offset(const TopicPartition& tp) const {
  std::int64_t low = 0, high = 0;
  if (rd_kafka_get_watermark_offsets(consumer_.get(), tp.first.c_str(), tp.second, &low, &high) !=
          RD_KAFKA_RESP_ERR_NO_ERROR ||
      high < 0) {
    return std::nullopt;
  }
  return high;
}

void Source::release(const std::vector<TopicPartition>& partitions) {
  if (ErrorPtr e{rd_kafka_incremental_unassign(consumer_.get(), partition_list(partitions).get())}) {
    spdlog::error("releasing partitions failed: {}", rd_kafka_error_string(e.get()));
  }
}

void Source::close() {
  if (closed_) return;
  closed_ = true;  // from here the rebalance callback releases at once (see rebalance_cb)
  tick_.cancel();
  if (decoder_) decoder_->stop();  // its messages destroyed before the consumer closes (a batch on its way is dropped)
  if (fetch_waker_) fetch_waker_->stop();
  rd_kafka_consumer_close(consumer_.get());
  wakeup_.reset();
}

void Source::rebalance_cb(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts,
                          void* opaque) {
  auto* self = static_cast<Source*>(opaque);
  auto partitions = to_vector(parts);
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    if (self->before_assign_) self->before_assign_(rk, parts);
    if (ErrorPtr e{rd_kafka_incremental_assign(rk, parts)}) {
      spdlog::error("taking the assigned partitions failed: {}", rd_kafka_error_string(e.get()));
      return;
    }
    if (!self->closed_) self->events_.assigned(partitions);
    return;
  }
  // A batch polled before this revoke and still in the decoder must not deliver these partitions'
  // messages (see decoded()).
  ++self->revokes_;
  for (const auto& tp : partitions) self->revoked_at_[tp] = self->revokes_;
  if (self->closed_) {  // closing: the runtime has drained and committed everything already
    self->release(partitions);
    return;
  }
  // The runtime may hold on to them while it drains: librdkafka waits for release().
  self->events_.revoked(partitions, rd_kafka_assignment_lost(rk) != 0);
}

void Source::commit_cb(rd_kafka_t*, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* offsets, void* opaque) {
  auto* self = static_cast<Source*>(opaque);
  if (err == RD_KAFKA_RESP_ERR__NO_OFFSET) return;  // nothing was stored since the last commit
  if (!err) self->set_brokers_down(false);          // the coordinator answered
  for (int i = 0; offsets && i < offsets->cnt; ++i) {
    const auto& tp = offsets->elems[i];
    if (tp.offset < 0) continue;  // nothing stored for it
    auto e = err ? err : tp.err;
    if (e) {
      spdlog::warn("commit of {}[{}] at offset {} failed: {}; librdkafka commits it again", tp.topic, tp.partition,
                   tp.offset, rd_kafka_err2str(e));
    }
    if (self->events_.committed)
      self->events_.committed({tp.topic, tp.partition}, tp.offset, e == RD_KAFKA_RESP_ERR_NO_ERROR);
  }
}

// librdkafka tells when every broker is down (error_cb) but not when one is up again: its
// statistics say each broker's state. Read only while the brokers are down.
int Source::stats_cb(rd_kafka_t*, char* json, std::size_t len, void* opaque) {
  auto* self = static_cast<Source*>(opaque);
  if (!self->brokers_down_) return 0;
  boost::system::error_code ec;
  auto stats = boost::json::parse(std::string_view(json, len), ec);
  const auto* brokers = ec ? nullptr : stats.as_object().if_contains("brokers");
  if (!brokers || !brokers->is_object()) return 0;
  for (const auto& [name, broker] : brokers->as_object()) {
    const auto* b = broker.if_object();
    if (!b) continue;
    const auto* state = b->if_contains("state");
    const auto* nodeid = b->if_contains("nodeid");
    // Real brokers only (the bootstrap entries and the coordinator alias have no node id of their own).
    bool real = nodeid && nodeid->is_int64() && nodeid->as_int64() >= 0;
    if (real && state && state->is_string() && state->as_string() == "UP") {
      self->set_brokers_down(false);
      break;
    }
  }
  return 0;  // librdkafka frees `json`
}

void Source::error_cb(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
  auto* self = static_cast<Source*>(opaque);
  if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) self->set_brokers_down(true);
  if (auto fatal = describe_client_error(rk, err, reason)) self->events_.fatal(*fatal);
}

}  // namespace fxconnect::kafka
