// RAII over librdkafka handles, the client configurations fxconnect builds from plain settings,
// and the classification of produce errors. Every C handle lives in a unique_ptr with its deleter.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <librdkafka/rdkafka.h>

#include "core/property.h"
#include "core/records.h"
#include "fxconnect/handler.h"  // ConfigError
#include "fxconnect/message.h"
#include "kafka/ports.h"
#include "kafka/settings.h"

namespace fxconnect::kafka {

struct Deleter {
  void operator()(rd_kafka_t* p) const { rd_kafka_destroy(p); }
  void operator()(rd_kafka_conf_t* p) const { rd_kafka_conf_destroy(p); }
  void operator()(rd_kafka_topic_partition_list_t* p) const { rd_kafka_topic_partition_list_destroy(p); }
  void operator()(rd_kafka_headers_t* p) const { rd_kafka_headers_destroy(p); }
  void operator()(rd_kafka_queue_t* p) const { rd_kafka_queue_destroy(p); }
  void operator()(rd_kafka_message_t* p) const { rd_kafka_message_destroy(p); }
  void operator()(rd_kafka_error_t* p) const { rd_kafka_error_destroy(p); }
  void operator()(rd_kafka_topic_t* p) const { rd_kafka_topic_destroy(p); }
};
using KafkaPtr = std::unique_ptr<rd_kafka_t, Deleter>;
using ConfPtr = std::unique_ptr<rd_kafka_conf_t, Deleter>;
using PartitionListPtr = std::unique_ptr<rd_kafka_topic_partition_list_t, Deleter>;
using HeadersPtr = std::unique_ptr<rd_kafka_headers_t, Deleter>;
using QueuePtr = std::unique_ptr<rd_kafka_queue_t, Deleter>;
using MessagePtr = std::unique_ptr<rd_kafka_message_t, Deleter>;
using ErrorPtr = std::unique_ptr<rd_kafka_error_t, Deleter>;
using TopicPtr = std::unique_ptr<rd_kafka_topic_t, Deleter>;

// librdkafka configurations: fxconnect's own settings (see docs/config.md) plus the settings'
// properties. Throws ConfigError naming the property, its place and librdkafka's reason when a
// property is unknown, invalid or owned by fxconnect.
ConfPtr consumer_conf(const ConsumerSettings& settings);
ConfPtr producer_conf(const ProducerSettings& settings);

// The same checks without building anything to keep: every problem, one string each. librdkafka
// checks combinations of properties only when a client is created: this creates (and destroys)
// clients that connect nowhere.
std::vector<std::string> check_properties(const ConsumerSettings& consumer, const ProducerSettings& producer);

// A consumed record as a Request (copied: the librdkafka message can be released at once).
// `json` is left null; the runtime parses the body. The message keeps its headers: take them
// with rd_kafka_message_detach_headers() to pass them on (Source does, see WireHeaders).
Request to_request(const rd_kafka_message_t& message);

// librdkafka headers for a record, in order, null values kept as null.
HeadersPtr to_kafka_headers(const Headers& headers);

// Produces `record` with `opaque` for its delivery report. Returns librdkafka's immediate error
// (e.g. RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, RD_KAFKA_RESP_ERR__QUEUE_FULL) or NO_ERROR.
// `topic`, when given, is the producer's handle of record.topic: librdkafka then skips looking the
// topic up by name (a write lock on the whole client and a search of its topics, per record).
// `headers`, when it points at a list, is the record's headers (record.headers is not read): librdkafka
// takes the list if it takes the record; else it stays with the caller, e.g. for the next attempt.
rd_kafka_resp_err_t produce(rd_kafka_t* producer, const core::OutgoingRecord& record, void* opaque,
                            rd_kafka_topic_t* topic = nullptr, WireHeaders* headers = nullptr);

// Creates the topics that do not exist yet (`partitions` each, the cluster's default replication
// factor: 1 on a development broker, 3 on scripts/kafka.sh's three-node cluster) and waits until their leaders are
// known. Returns one text per problem. `configs` are topic configs (e.g. message.timestamp.type=LogAppendTime);
// `properties` librdkafka properties of the admin client (TLS, SASL: kafka.security). A refused login or
// certificate ends the wait at once, with explain_refusal()'s text.
std::vector<std::string> create_topics(const std::string& bootstrap, const std::vector<std::string>& topics,
                                       int partitions, std::chrono::milliseconds timeout,
                                       const std::vector<std::pair<std::string, std::string>>& configs = {},
                                       const std::vector<core::Property>& properties = {},
                                       const OAuthTokenSource& oauth_token = nullptr);

// To call right after rd_kafka_new() for a client whose conf came from this file: tokens for
// OAUTHBEARER are then fetched on librdkafka's background thread, never on the caller's loop.
void after_create(rd_kafka_t* rk);

// librdkafka's log lines, through spdlog (a rd_kafka_conf_set_log_cb callback).
void log_to_spdlog(const rd_kafka_t* rk, int level, const char* facility, const char* message);
// Makes log_to_spdlog `conf`'s log callback. librdkafka calls it on its own threads, so spdlog's
// registry and default logger (created on first use) are created here first, on the thread that
// goes on to create the client: before librdkafka's threads start, not concurrently with their
// first log line.
void log_through_spdlog(rd_kafka_conf_t* conf);

// For a client error callback: logs a non-fatal error and returns nullopt, or returns what made
// the client unusable (idempotent producer fencing, ...) for the caller to stop on.
std::optional<std::string> describe_client_error(rd_kafka_t* rk, int err, const char* reason);

// Whether a client error (error_cb) means the cluster refuses this client as configured: a failed
// SASL authentication or TLS handshake (an untrusted certificate, say), not a broker that is down.
bool refusal(int err, std::string_view reason);
// For such a refusal: what went wrong and which `kafka.security` keys to look at.
std::string explain_refusal(int err, std::string_view reason);

// librdkafka took what `owned` holds (rd_kafka_new() keeps its conf on success, rd_kafka_producev()
// its headers): stop owning it, without freeing it.
template <class T, class Free>
void handed_to_librdkafka(std::unique_ptr<T, Free>& owned) {
  static_cast<void>(owned.release());
}

// The tag of a record travels as librdkafka's per-message opaque pointer.
inline void* tag_as_opaque(std::uint64_t tag) {
  // An opaque value, never dereferenced.
  return reinterpret_cast<void*>(static_cast<std::uintptr_t>(tag));  // NOLINT(performance-no-int-to-ptr)
}

// What a failed produce means for the record and its topic (every librdkafka code listed).
ProduceFailure classify_produce_error(rd_kafka_resp_err_t err);

}  // namespace fxconnect::kafka
