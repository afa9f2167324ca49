// The two Kafka clients as the connector runtime drives them: small interfaces, so the runtime's
// parts can be tested with fakes that replay rebalances, commit failures and broker outages
// deterministically. kafka::Source and kafka::Replier implement them over librdkafka.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/records.h"
#include "fxconnect/message.h"

// librdkafka's header list (declared in <librdkafka/rdkafka.h>, which the ports do not need).
struct rd_kafka_headers_s;
using rd_kafka_headers_t = rd_kafka_headers_s;

namespace fxconnect::kafka {

using TopicPartition = std::pair<std::string, std::int32_t>;

// librdkafka's own parse of a consumed record's headers, taken from the record instead of being
// freed with it. A reply carries exactly the request's headers (CONTRACT.md), and handing the
// producer this list for the reply's first produce saves building an equal one from
// Request::headers, header by header (docs/performance.md). Null: none (a fake consumer, a
// record without headers).
struct WireHeadersFree {
  void operator()(rd_kafka_headers_t* headers) const noexcept;
};
using WireHeaders = std::unique_ptr<rd_kafka_headers_t, WireHeadersFree>;

class Consumer {
 public:
  struct Events {
    // A record, copied into a Request, and librdkafka's list of its headers (equal to
    // Request::headers; may be null).
    std::function<void(Request&&, WireHeaders)> message;
    std::function<void(const std::vector<TopicPartition>&)> assigned;
    // The group takes these partitions away. Call release() for them once their work is done;
    // `lost` means another member may own them already (call release() at once).
    std::function<void(const std::vector<TopicPartition>&, bool lost)> revoked;
    // The outcome of a commit of a stored offset (`ok` false: it failed; it is committed again).
    std::function<void(const TopicPartition&, std::int64_t offset, bool ok)> committed = nullptr;
    std::function<void(const std::string& why)> fatal;
    // The cluster refuses this member its input topic or its group (ACLs): nothing will be
    // consumed until someone grants it. Reported once.
    std::function<void(const std::string& why)> unauthorized = nullptr;
    // Every broker unreachable (true), or one reachable again (false). Reported on changes only.
    std::function<void(bool down)> brokers_down = nullptr;
    // How many more requests, and bytes, the runtime takes before its in-flight bound: the
    // consumer takes no more than that at once (at least one message, so that group events are
    // served). Null: no bound.
    std::function<std::pair<std::size_t, std::size_t>()> room = nullptr;
  };

  virtual ~Consumer() = default;
  // Subscribes and starts delivering events. Throws ConfigError when the subscription is refused.
  virtual void start() = 0;
  // The subscription, for log lines.
  virtual const std::string& subscription() const = 0;
  // Stops / restarts taking messages from the local queue: immediate back-pressure for short
  // stretches (group events wait too).
  virtual void stop_taking() = 0;
  virtual void resume_taking() = 0;
  // Stops / restarts fetching the partitions; the group membership stays alive either way.
  virtual void pause(const std::vector<TopicPartition>& partitions) = 0;
  virtual void resume(const std::vector<TopicPartition>& partitions) = 0;
  // Stores the next offsets to read of assigned partitions; they are committed periodically, when
  // released and at close. Returns how many were refused (partitions no longer assigned).
  virtual std::size_t store_offsets(const std::vector<std::pair<TopicPartition, std::int64_t>>& offsets) = 0;
  // The partition's end offset as last seen (no request is made), or nullopt.
  virtual std::optional<std::int64_t> end_offset(const TopicPartition& tp) const = 0;
  // Gives revoked partitions back to the group.
  virtual void release(const std::vector<TopicPartition>& partitions) = 0;
  // Commits what is stored, leaves the group, stops delivering events.
  virtual void close() = 0;
  // Wake-ups sent to the fetcher so far (kafka.fetch_wakeup; kafka/fetch_waker.h).
  virtual std::uint64_t fetch_wakeups() const { return 0; }
};

// Why a record was not written, as far as what to do next is concerned.
enum class ProduceFailure {
  none,         // written (acknowledged by all in-sync replicas)
  transient,    // may be written if tried again later: a broker down, a leader moving, a timeout
  record,       // this record can never be written (too large, invalid): give it up
  destination,  // no record can be written to its topic (missing, not authorized, invalid name)
  fatal,        // the producer itself is unusable
};
std::string_view to_string(ProduceFailure failure);

struct Delivery {
  std::uint64_t tag = 0;
  ProduceFailure failure = ProduceFailure::none;
  bool maybe_written = false;  // failed, but it may be on the topic all the same
  bool too_large = false;      // failed for its size
  std::string error;           // "NAME: what librdkafka says", when failed

  static Delivery written(std::uint64_t tag) {
    Delivery d;
    d.tag = tag;
    return d;
  }
};

class Producer {
 public:
  struct Events {
    // Once per record sent, on the loop.
    std::function<void(const Delivery&)> delivered;
    std::function<void(const std::string& why)> fatal;
  };

  virtual ~Producer() = default;
  // Sends a copy of `record`; its Delivery comes back with `tag`. Never blocks: a full local
  // queue holds records back, in order. `headers`, when given, is librdkafka's list of the
  // record's headers, sent instead of record.headers (then empty).
  virtual void send(const core::OutgoingRecord& record, std::uint64_t tag, WireHeaders headers) = 0;
  // Waits up to `timeout` for every record sent to be reported.
  virtual void flush(std::chrono::milliseconds timeout) = 0;
  // Whether every topic exists and this producer may use it: one problem text per topic that
  // does not (missing, not authorized, unreachable within `timeout`).
  virtual std::vector<std::string> check_topics(const std::vector<std::string>& topics,
                                                std::chrono::milliseconds timeout) = 0;
  // After check_topics(): whether this producer may write to each topic, without writing to it. One
  // problem text per topic it may not write to; nothing when it cannot tell.
  virtual std::vector<std::string> check_write_access(const std::vector<std::string>& /*topics*/,
                                                      std::chrono::milliseconds /*timeout*/) {
    return {};
  }
  // Why the cluster refused this client's connections, if it did: its credentials (SASL) or its
  // TLS setup (an untrusted or unverifiable certificate). Set by check_topics().
  virtual std::optional<std::string> refused() const { return std::nullopt; }
  // How many records send() held back because librdkafka's queue was full
  // (queue.buffering.max.messages or .kbytes reached).
  virtual std::uint64_t held_back() const { return 0; }
};

}  // namespace fxconnect::kafka
