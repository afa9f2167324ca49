// A small Kafka client for tests: create topics, produce requests, read replies, read commits.
// Test code only; the runtime has its own clients in src/kafka.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <librdkafka/rdkafka.h>

#include "core/records.h"
#include "fxconnect/message.h"

namespace fxconnect::testing {

struct ConsumedRecord {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::int64_t timestamp_ms = 0;
  std::optional<std::string> key;
  Headers headers;
  std::string value;
};

class TestKafka {
 public:
  explicit TestKafka(std::string bootstrap);
  ~TestKafka();
  TestKafka(const TestKafka&) = delete;
  TestKafka& operator=(const TestKafka&) = delete;

  const std::string& bootstrap() const { return bootstrap_; }

  // Creates the topic (ok when it exists) and waits until its metadata is visible.
  void create_topic(const std::string& topic, int partitions);
  // Produces and waits for every delivery report; throws on any failure.
  void produce(const std::vector<core::OutgoingRecord>& records);
  // The committed offset of `group` for each partition of `topic` (-1 when none).
  std::vector<std::int64_t> committed(const std::string& group, const std::string& topic, int partitions);

 private:
  std::string bootstrap_;
  struct Handles;
  Handles* h_;
};

// Reads a topic from the beginning on a background thread, collecting every record.
class TopicReader {
 public:
  TopicReader(const std::string& bootstrap, const std::string& topic);
  ~TopicReader();
  TopicReader(const TopicReader&) = delete;
  TopicReader& operator=(const TopicReader&) = delete;

  std::size_t count() const;
  std::vector<ConsumedRecord> records() const;
  // Waits until at least `n` records arrived; false on timeout.
  bool wait_for(std::size_t n, std::chrono::milliseconds timeout) const;
  // Waits until every record on the topic now (its end offsets, asked for now) has been read.
  // Once its writers have stopped, nothing can arrive after this: counts are final.
  bool wait_caught_up(std::chrono::milliseconds timeout) const;

 private:
  struct State;
  State* s_;
};

// The end offset (high watermark) of every partition of `topic` now, asked through `rk`; nullopt
// when its metadata or a watermark cannot be read (10 s each).
std::optional<std::map<std::int32_t, std::int64_t>> end_offsets(rd_kafka_t* rk, const std::string& topic);
// Whether a reader that has read up to `next` (per partition: one past the last offset read) has
// every record below `ends` (transaction markers aside: none in these tests).
bool reached(const std::map<std::int32_t, std::int64_t>& ends, const std::map<std::int32_t, std::int64_t>& next);

// A unique suffix for topic and group names, so tests never see each other's data.
std::string unique_suffix();

// FXC_KAFKA_BOOTSTRAP, or "" when the integration environment is not set up.
std::string bootstrap_from_env();

}  // namespace fxconnect::testing
