#include "kafka_test_client.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>
#include <librdkafka/rdkafka.h>

#include "kafka/client.h"

namespace fxconnect::testing {

using kafka::Deleter;

struct TestKafka::Handles {
  kafka::KafkaPtr producer;
};

namespace {

kafka::ConfPtr base_conf(const std::string& bootstrap) {
  kafka::ConfPtr conf(rd_kafka_conf_new());
  char err[512];
  rd_kafka_conf_set(conf.get(), "bootstrap.servers", bootstrap.c_str(), err, sizeof err);
  rd_kafka_conf_set(conf.get(), "log_level", "3", err, sizeof err);
  return conf;
}

void set(rd_kafka_conf_t* conf, const char* k, const char* v) {
  char err[512];
  if (rd_kafka_conf_set(conf, k, v, err, sizeof err) != RD_KAFKA_CONF_OK) throw std::runtime_error(err);
}

kafka::KafkaPtr make(rd_kafka_type_t type, kafka::ConfPtr conf) {
  char err[512];
  kafka::KafkaPtr rk(rd_kafka_new(type, conf.get(), err, sizeof err));
  if (!rk) throw std::runtime_error(err);
  conf.release();
  return rk;
}

std::atomic<int> g_failed_deliveries{0};

void dr_cb(rd_kafka_t*, const rd_kafka_message_t* m, void*) {
  if (m->err) ++g_failed_deliveries;
}

}  // namespace

TestKafka::TestKafka(std::string bootstrap) : bootstrap_(std::move(bootstrap)), h_(new Handles) {
  auto conf = base_conf(bootstrap_);
  set(conf.get(), "linger.ms", "5");
  set(conf.get(), "message.max.bytes", "52428800");  // requests as large as the engine sends
  rd_kafka_conf_set_dr_msg_cb(conf.get(), dr_cb);
  h_->producer = make(RD_KAFKA_PRODUCER, std::move(conf));
}

TestKafka::~TestKafka() { delete h_; }

void TestKafka::create_topic(const std::string& topic, int partitions) {
  auto problems = kafka::create_topics(bootstrap_, {topic}, partitions, std::chrono::seconds(30));
  if (!problems.empty()) throw std::runtime_error(problems.front());
}

void TestKafka::produce(const std::vector<core::OutgoingRecord>& records) {
  g_failed_deliveries = 0;
  for (const auto& r : records) {
    for (;;) {
      auto err = kafka::produce(h_->producer.get(), r, nullptr);
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_poll(h_->producer.get(), 50);
        continue;
      }
      if (err) throw std::runtime_error(std::string("produce: ") + rd_kafka_err2str(err));
      break;
    }
    rd_kafka_poll(h_->producer.get(), 0);
  }
  if (rd_kafka_flush(h_->producer.get(), 60'000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    throw std::runtime_error("flush timed out");
  }
  if (g_failed_deliveries) throw std::runtime_error(fmt::format("{} deliveries failed", g_failed_deliveries.load()));
}

std::vector<std::int64_t> TestKafka::committed(const std::string& group, const std::string& topic, int partitions) {
  auto conf = base_conf(bootstrap_);
  set(conf.get(), "group.id", group.c_str());
  auto consumer = make(RD_KAFKA_CONSUMER, std::move(conf));
  kafka::PartitionListPtr list(rd_kafka_topic_partition_list_new(partitions));
  for (int p = 0; p < partitions; ++p) rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p);
  auto err = rd_kafka_committed(consumer.get(), list.get(), 10'000);
  if (err) throw std::runtime_error(std::string("committed: ") + rd_kafka_err2str(err));
  std::vector<std::int64_t> out;
  for (int p = 0; p < partitions; ++p) out.push_back(list->elems[p].offset);
  rd_kafka_consumer_close(consumer.get());
  return out;
}

struct TopicReader::State {
  mutable std::mutex mutex;
  std::vector<ConsumedRecord> records;
  std::map<std::int32_t, std::int64_t> next;  // per partition: one past the last offset read
  std::string topic;
  kafka::KafkaPtr query;  // for end offsets
  std::atomic<bool> stop{false};
  std::thread thread;
};

TopicReader::TopicReader(const std::string& bootstrap, const std::string& topic) : s_(new State) {
  s_->topic = topic;
  s_->query = make(RD_KAFKA_PRODUCER, base_conf(bootstrap));
  auto conf = base_conf(bootstrap);
  set(conf.get(), "group.id", ("fxc-test-reader-" + unique_suffix()).c_str());
  set(conf.get(), "auto.offset.reset", "earliest");
  set(conf.get(), "enable.auto.commit", "false");
  auto consumer = make(RD_KAFKA_CONSUMER, std::move(conf));
  rd_kafka_poll_set_consumer(consumer.get());
  kafka::PartitionListPtr topics(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(topics.get(), topic.c_str(), RD_KAFKA_PARTITION_UA);
  rd_kafka_subscribe(consumer.get(), topics.get());
  s_->thread = std::thread([s = s_, c = consumer.release()] {
    kafka::KafkaPtr consumer(c);
    while (!s->stop) {
      kafka::MessagePtr m(rd_kafka_consumer_poll(consumer.get(), 100));
      if (!m || m->err) continue;
      Request r = kafka::to_request(*m);
      rd_kafka_timestamp_type_t tstype;
      std::lock_guard lock(s->mutex);
      s->next[r.partition] = std::max(s->next[r.partition], r.offset + 1);
      s->records.push_back(ConsumedRecord{r.topic, r.partition, r.offset, rd_kafka_message_timestamp(m.get(), &tstype),
                                          r.key, std::move(r.headers), std::move(r.body)});
    }
    rd_kafka_consumer_close(consumer.get());
  });
}

TopicReader::~TopicReader() {
  s_->stop = true;
  s_->thread.join();
  delete s_;
}

std::size_t TopicReader::count() const {
  std::lock_guard lock(s_->mutex);
  return s_->records.size();
}

std::vector<ConsumedRecord> TopicReader::records() const {
  std::lock_guard lock(s_->mutex);
  return s_->records;
}

bool TopicReader::wait_for(std::size_t n, std::chrono::milliseconds timeout) const {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (count() < n) {
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

bool TopicReader::wait_caught_up(std::chrono::milliseconds timeout) const {
  auto end = std::chrono::steady_clock::now() + timeout;
  auto ends = end_offsets(s_->query.get(), s_->topic);
  if (!ends) return false;
  for (;;) {
    {
      std::lock_guard lock(s_->mutex);
      if (reached(*ends, s_->next)) return true;
    }
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::optional<std::map<std::int32_t, std::int64_t>> end_offsets(rd_kafka_t* rk, const std::string& topic) {
  kafka::TopicPtr handle(rd_kafka_topic_new(rk, topic.c_str(), nullptr));
  const struct rd_kafka_metadata* md = nullptr;
  if (rd_kafka_metadata(rk, 0, handle.get(), &md, 10'000) != RD_KAFKA_RESP_ERR_NO_ERROR) return std::nullopt;
  int partitions = md->topic_cnt == 1 ? md->topics[0].partition_cnt : 0;
  rd_kafka_metadata_destroy(md);
  if (partitions == 0) return std::nullopt;
  std::map<std::int32_t, std::int64_t> ends;
  for (int p = 0; p < partitions; ++p) {
    std::int64_t low = 0, high = 0;
    if (rd_kafka_query_watermark_offsets(rk, topic.c_str(), p, &low, &high, 10'000)) return std::nullopt;
    ends[p] = high;
  }
  return ends;
}

bool reached(const std::map<std::int32_t, std::int64_t>& ends, const std::map<std::int32_t, std::int64_t>& next) {
  return std::all_of(ends.begin(), ends.end(), [&](const auto& e) {
    auto it = next.find(e.first);
    return e.second == 0 || (it != next.end() && it->second >= e.second);
  });
}

std::string unique_suffix() {
  static std::atomic<int> counter{0};
  static const auto seed = std::random_device{}();
  return fmt::format("{:x}-{}-{}", seed, ::getpid(), counter++);
}

std::string bootstrap_from_env() {
  const char* b = std::getenv("FXC_KAFKA_BOOTSTRAP");
  return b ? b : "";
}

}  // namespace fxconnect::testing
