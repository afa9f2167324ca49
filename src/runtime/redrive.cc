#include "runtime/redrive.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <map>
#include <stdexcept>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "core/duration.h"
#include "core/records.h"
#include "fxconnect/handler.h"
#include "kafka/client.h"
#include "runtime/kafka_settings.h"

namespace fxconnect::runtime {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::string_view kSourceTopic = "fxconnect-source-topic";
constexpr std::string_view kErrorCode = "fxconnect-error-code";

// Delivery reports of the records sent since the last commit.
struct Acks {
  std::int64_t pending = 0;
  std::int64_t failed = 0;
  std::string first_error;
};

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto& acks = *static_cast<Acks*>(opaque);
  --acks.pending;
  if (m->err) {
    if (acks.failed++ == 0)
      acks.first_error = fmt::format("{}: {}", rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err));
  }
}

std::string printable(const std::optional<std::string>& key) {
  if (!key) return "(null)";
  std::string out;
  for (char c : key->substr(0, 80)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  return out;
}

}  // namespace

std::optional<std::chrono::system_clock::time_point> parse_since(const std::string& text,
                                                                 std::chrono::system_clock::time_point now) {
  if (auto d = core::parse_duration(text)) return now - *d;
  // RFC 3339: 2026-11-30T08:00:00Z, optional fraction, Z or ±HH:MM.
  std::tm tm{};
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &year, &month, &day, &hour, &minute, &second, &consumed) !=
          6 ||
      consumed != 19)
    return std::nullopt;
  // Up to 2200: system_clock counts nanoseconds in 64 bits, which end in 2262.
  if (year < 1970 || year > 2200 || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 ||
      second > 60)
    return std::nullopt;
  std::string_view rest = std::string_view(text).substr(19);
  std::chrono::milliseconds fraction{0};
  if (!rest.empty() && rest.front() == '.') {
    std::size_t digits = 1;
    int ms = 0, scale = 100;
    while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') {
      ms += (rest[digits] - '0') * scale;
      scale /= 10;
      ++digits;
    }
    if (digits == 1) return std::nullopt;
    fraction = std::chrono::milliseconds(ms);
    rest.remove_prefix(digits);
  }
  int offset_minutes = 0;
  if (rest == "Z" || rest == "z") {
    offset_minutes = 0;
  } else if (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':') {
    int oh = 0, om = 0;
    if (std::sscanf(std::string(rest.substr(1)).c_str(), "%2d:%2d", &oh, &om) != 2 || oh > 23 || om > 59)
      return std::nullopt;
    offset_minutes = (rest[0] == '+' ? 1 : -1) * (oh * 60 + om);
  } else {
    return std::nullopt;
  }
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  std::time_t t = timegm(&tm);
  if (t == static_cast<std::time_t>(-1)) return std::nullopt;
  return std::chrono::system_clock::from_time_t(t) + fraction - std::chrono::minutes(offset_minutes);
}

RedriveResult redrive(const config::ConnectorConfig& config, const RedriveOptions& options, std::ostream& out) {
  const std::string& dlq = config.errors.dlq_topic;
  if (dlq.empty()) {
    throw ConfigError(fmt::format("{}: errors.dlq_topic is not set: this connector writes no dead letters to redrive",
                                  config.source));
  }
  if (!(options.rate_per_second > 0)) throw ConfigError("--rate: must be above 0 per second");
  RedriveResult result;
  result.group = options.group.value_or(config.kafka.group_id + ".dlq-redrive" +
                                        (options.error_code ? "." + *options.error_code : std::string()));
  const auto timeout_ms = static_cast<int>(options.timeout.count());

  kafka::ConsumerSettings cs = consumer_settings(config);
  cs.group_id = result.group;
  cs.client_id = "fxconnect-dlq-redrive";
  cs.fetch_wakeup = false;
  // Partition ends are events: a partition whose last records are not data (transaction markers,
  // compacted away) is still known to be done.
  cs.properties.push_back(core::Property{"enable.partition.eof", "true", "fxconnect dlq redrive", ""});
  auto cconf = kafka::consumer_conf(cs);
  char err[512];
  kafka::KafkaPtr consumer(rd_kafka_new(RD_KAFKA_CONSUMER, cconf.get(), err, sizeof err));
  if (!consumer) throw std::runtime_error(fmt::format("cannot create the Kafka consumer: {}", err));
  kafka::handed_to_librdkafka(cconf);
  kafka::after_create(consumer.get());

  // The dead-letter topic's partitions, where the group left off, and the end of each now: the
  // run stops there (dead letters written while it runs, its own resends' among them, wait for
  // the next run).
  kafka::TopicPtr topic(rd_kafka_topic_new(consumer.get(), dlq.c_str(), nullptr));
  const rd_kafka_metadata_t* md = nullptr;
  if (auto e = rd_kafka_metadata(consumer.get(), 0, topic.get(), &md, timeout_ms); e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    throw std::runtime_error(fmt::format("{}: cannot read the metadata of '{}' within {}: {}", config.kafka.bootstrap,
                                         dlq, core::format_duration(options.timeout), rd_kafka_err2str(e)));
  }
  std::vector<std::int32_t> partitions;
  rd_kafka_resp_err_t topic_err = md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
  if (md->topic_cnt == 1) {
    for (int i = 0; i < md->topics[0].partition_cnt; ++i) partitions.push_back(md->topics[0].partitions[i].id);
  }
  rd_kafka_metadata_destroy(md);
  if (topic_err != RD_KAFKA_RESP_ERR_NO_ERROR || partitions.empty()) {
    throw std::runtime_error(fmt::format("errors.dlq_topic '{}': {}", dlq, rd_kafka_err2str(topic_err)));
  }
  std::sort(partitions.begin(), partitions.end());

  kafka::PartitionListPtr committed(rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())));
  for (auto p : partitions) rd_kafka_topic_partition_list_add(committed.get(), dlq.c_str(), p);
  if (auto e = rd_kafka_committed(consumer.get(), committed.get(), timeout_ms); e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    throw std::runtime_error(
        fmt::format("cannot read the committed offsets of group '{}': {}", result.group, rd_kafka_err2str(e)));
  }
  std::map<std::int32_t, std::int64_t> next, end;
  kafka::PartitionListPtr assignment(rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())));
  for (int i = 0; i < committed->cnt; ++i) {
    const auto& c = committed->elems[i];
    std::int64_t low = 0, high = 0;
    if (auto e = rd_kafka_query_watermark_offsets(consumer.get(), dlq.c_str(), c.partition, &low, &high, timeout_ms);
        e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      throw std::runtime_error(
          fmt::format("cannot read the end offsets of '{}' [{}]: {}", dlq, c.partition, rd_kafka_err2str(e)));
    }
    std::int64_t start = std::max(c.offset >= 0 ? c.offset : low, low);  // retention may have removed some
    if (start >= high) continue;
    next[c.partition] = start;
    end[c.partition] = high;
    rd_kafka_topic_partition_list_add(assignment.get(), dlq.c_str(), c.partition)->offset = start;
  }

  kafka::KafkaPtr producer;
  Acks acks;
  if (!options.dry_run && !end.empty()) {
    auto pconf = kafka::producer_conf(producer_settings(config));
    rd_kafka_conf_set_opaque(pconf.get(), &acks);
    rd_kafka_conf_set_dr_msg_cb(pconf.get(), &on_delivery);
    producer.reset(rd_kafka_new(RD_KAFKA_PRODUCER, pconf.get(), err, sizeof err));
    if (!producer) throw std::runtime_error(fmt::format("cannot create the Kafka producer: {}", err));
    kafka::handed_to_librdkafka(pconf);
    kafka::after_create(producer.get());
  }

  // Commits `next` for the partitions read since the last commit, once every record sent before
  // is acknowledged; a refused record stops the run with nothing more committed.
  std::map<std::int32_t, std::int64_t> uncommitted;
  auto commit = [&] {
    if (options.dry_run || uncommitted.empty()) return;
    if (producer) {
      rd_kafka_flush(producer.get(), timeout_ms);
      if (acks.failed > 0) {
        throw std::runtime_error(
            fmt::format("{} record(s) not accepted by the cluster ({}); nothing after the last "
                        "commit is marked done, a next run sends them again",
                        acks.failed, acks.first_error));
      }
      if (acks.pending > 0) {
        throw std::runtime_error(fmt::format("{} record(s) not acknowledged within {}; a next run sends them again",
                                             acks.pending, core::format_duration(options.timeout)));
      }
    }
    kafka::PartitionListPtr offsets(rd_kafka_topic_partition_list_new(static_cast<int>(uncommitted.size())));
    for (const auto& [p, o] : uncommitted) rd_kafka_topic_partition_list_add(offsets.get(), dlq.c_str(), p)->offset = o;
    if (auto e = rd_kafka_commit(consumer.get(), offsets.get(), 0); e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      throw std::runtime_error(
          fmt::format("committing the progress of group '{}': {}", result.group, rd_kafka_err2str(e)));
    }
    uncommitted.clear();
  };

  // A tenth of a second's worth of records per commit: a run killed mid-way resends at most these.
  const auto batch = static_cast<std::int64_t>(std::max(1.0, std::floor(options.rate_per_second / 10)));
  const auto interval =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / options.rate_per_second));
  auto slot = Clock::now();
  std::int64_t in_batch = 0;
  if (!end.empty()) {
    if (auto e = rd_kafka_assign(consumer.get(), assignment.get()); e != RD_KAFKA_RESP_ERR_NO_ERROR)
      throw std::runtime_error(fmt::format("cannot assign '{}': {}", dlq, rd_kafka_err2str(e)));
  }
  auto last_progress = Clock::now();
  while (!end.empty()) {
    kafka::MessagePtr m(rd_kafka_consumer_poll(consumer.get(), 100));
    if (producer) rd_kafka_poll(producer.get(), 0);
    if (!m) {
      if (Clock::now() - last_progress > options.timeout) {
        throw std::runtime_error(fmt::format("no dead letter could be read from '{}' within {} ({} partition(s) left)",
                                             dlq, core::format_duration(options.timeout), end.size()));
      }
      continue;
    }
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      if (auto it = end.find(m->partition); it != end.end() && m->offset >= it->second) end.erase(it);
      continue;
    }
    if (m->err) {
      if (rd_kafka_fatal_error(consumer.get(), nullptr, 0))
        throw std::runtime_error(fmt::format("reading '{}': {}", dlq, rd_kafka_message_errstr(m.get())));
      continue;
    }
    last_progress = Clock::now();
    const auto p = m->partition;
    auto e_it = end.find(p);
    if (e_it == end.end() || m->offset < next[p]) continue;  // done, or before where it started
    if (m->offset >= e_it->second) {
      end.erase(e_it);
      continue;
    }
    ++result.read;
    Request r = kafka::to_request(*m);
    bool selected = true;
    if (options.error_code &&
        first_value(r.headers, kErrorCode) != std::optional<std::string_view>(*options.error_code))
      selected = false;
    if (options.since && r.timestamp >= 0 &&
        std::chrono::system_clock::time_point(std::chrono::milliseconds(r.timestamp)) < *options.since)
      selected = false;
    if (options.since && r.timestamp < 0) selected = false;  // no time to compare: not proven recent
    std::string code(first_value(r.headers, kErrorCode).value_or("(none)"));
    if (!selected) {
      ++result.skipped;
    } else if (auto source = first_value(r.headers, kSourceTopic); !source || source->empty() || *source == dlq) {
      ++result.unroutable;
      out << fmt::format("unroutable {}[{}]@{}: no {} header naming another topic; left where it is\n", dlq, p,
                         m->offset, kSourceTopic);
    } else {
      core::OutgoingRecord record{std::string(*source), r.key, {}, std::move(r.body)};
      for (auto& h : r.headers) {
        if (!std::string_view(h.name).starts_with(core::added_header_prefix)) record.headers.push_back(std::move(h));
      }
      if (!options.dry_run) {
        std::this_thread::sleep_until(slot);
        slot = std::max(slot, Clock::now() - interval) + interval;
        ++acks.pending;
        rd_kafka_resp_err_t e;
        while ((e = kafka::produce(producer.get(), record, nullptr)) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
          rd_kafka_poll(producer.get(), 100);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
          --acks.pending;
          throw std::runtime_error(
              fmt::format("sending {}[{}]@{} to '{}': {}", dlq, p, m->offset, record.topic, rd_kafka_err2str(e)));
        }
      }
      ++result.sent;
      out << fmt::format("{} {}[{}]@{} -> {} key={} error={}\n", options.dry_run ? "would send" : "sent", dlq, p,
                         m->offset, record.topic, printable(record.key), code);
    }
    next[p] = m->offset + 1;
    uncommitted[p] = next[p];
    if (next[p] >= end[p]) end.erase(p);
    if (++in_batch >= batch || end.empty()) {
      commit();
      in_batch = 0;
    }
  }
  commit();
  rd_kafka_consumer_close(consumer.get());
  out << fmt::format("dlq redrive: topic={} group={} read={} sent={} skipped={} unroutable={} dry_run={}\n", dlq,
                     result.group, result.read, result.sent, result.skipped, result.unroutable, options.dry_run);
  return result;
}

}  // namespace fxconnect::runtime
