#include "kafka/client.h"

#include <algorithm>
#include <array>
#include <map>
#include <mutex>
#include <string_view>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

namespace fxconnect::kafka {
namespace {

enum class Role { consumer, producer };

void set(rd_kafka_conf_t* conf, const std::string& name, const std::string& value, const std::string& where,
         std::vector<std::string>& errors) {
  char err[512];
  if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
    errors.push_back(fmt::format("{}: {}: {}", where, name, err));
  }
}

// The engine's largest message (CONTRACT.md: KAFKA_MESSAGE_MAX_BYTES).
constexpr std::string_view kPlatformMessageMaxBytes = "52428800";

// Token sources by id: librdkafka hands its refresh callback `sasl.oauthbearer.config`, which
// carries the id (the conf's opaque belongs to the client object). Kept for the process's life: a
// handful of clients, each made once.
std::mutex g_token_sources_mutex;
std::map<std::string, OAuthTokenSource> g_token_sources;

void refresh_token(rd_kafka_t* rk, const char* config, void*) {
  OAuthTokenSource source;
  {
    std::lock_guard lock(g_token_sources_mutex);
    if (auto it = g_token_sources.find(config ? config : ""); it != g_token_sources.end()) source = it->second;
  }
  if (!source) {
    rd_kafka_oauthbearer_set_token_failure(rk, "fxconnect: no token source for this client");
    return;
  }
  try {
    auto token = source();
    auto expires = std::chrono::duration_cast<std::chrono::milliseconds>(token.expires.time_since_epoch()).count();
    char err[512];
    if (rd_kafka_oauthbearer_set_token(rk, token.value.c_str(), expires, token.principal.c_str(), nullptr, 0, err,
                                       sizeof err) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_oauthbearer_set_token_failure(rk, err);
    }
  } catch (const std::exception& e) {
    rd_kafka_oauthbearer_set_token_failure(rk, e.what());
  }
}

void use_token_source(rd_kafka_conf_t* conf, const OAuthTokenSource& source) {
  if (!source) return;
  static std::uint64_t next = 0;
  std::string id;
  {
    std::lock_guard lock(g_token_sources_mutex);
    id = fmt::format("fxconnect-token-source-{}", ++next);
    g_token_sources[id] = source;
  }
  char err[512];
  rd_kafka_conf_set(conf, "sasl.oauthbearer.config", id.c_str(), err, sizeof err);
  rd_kafka_conf_enable_sasl_queue(conf, 1);
  rd_kafka_conf_set_oauthbearer_token_refresh_cb(conf, &refresh_token);
}

ConfPtr build(const ClientSettings& c, Role role, const std::string& group_id,
              std::chrono::milliseconds commit_interval, std::vector<std::string>& errors) {
  ConfPtr conf(rd_kafka_conf_new());
  auto own = [&](const char* name, const std::string& value) {
    set(conf.get(), name, value, c.source + " (set by fxconnect)", errors);
  };
  own("bootstrap.servers", c.bootstrap);
  own("client.id", c.client_id);
  // Default, overridable. After a network cut librdkafka waits up to reconnect.backoff.max.ms
  // (10 s by default) between attempts: a connector cut off for 5 s went on waiting ~10 s more
  // after the network was back (the fault suite's cut-5s). 1 s is a connection attempt per broker
  // per second while one is down: nothing for a broker, and service back within a second.
  own("reconnect.backoff.max.ms", "1000");
  if (role == Role::consumer) {
    own("group.id", group_id);
    // librdkafka commits what the runtime stores (see kafka/source.h for why it, not the runtime).
    own("enable.auto.commit", "true");
    own("enable.auto.offset.store", "false");
    own("auto.commit.interval.ms", std::to_string(commit_interval.count()));
    own("partition.assignment.strategy", "cooperative-sticky");
    // Defaults, overridable. A new group starts at the requests already waiting, not after them
    // (librdkafka's default, `latest`, would skip them and leave their processes waiting).
    own("auto.offset.reset", "earliest");
    // What librdkafka may prefetch while the runtime is at its in-flight limit (librdkafka's own
    // default is 64 MB).
    own("queued.max.messages.kbytes", "16384");
    // Statistics once a second: how the runtime learns that a broker is reachable again after
    // every broker was down (readiness), when no message or commit says so.
    own("statistics.interval.ms", "1000");
  } else {
    own("enable.idempotence", "true");
    own("acks", "all");
    // Defaults, overridable. Replies as large as the engine accepts (the broker's or the reply
    // topic's message.max.bytes must allow them too; docs/config.md).
    own("message.max.bytes", std::string(kPlatformMessageMaxBytes));
    own("message.timeout.ms", "120000");
    // A missing reply or dead-letter topic is refused at startup, not created by a broker that
    // happens to allow it (with whatever partitions and replication that broker defaults to).
    own("allow.auto.create.topics", "false");
  }
  use_token_source(conf.get(), c.oauth_token);
  for (const auto& p : c.properties) {
    const auto& owned = owned_properties();
    auto it = std::find_if(owned.begin(), owned.end(), [&](const OwnedProperty& o) { return p.name == o.name; });
    if (it != owned.end()) {
      errors.push_back(
          fmt::format("{}: {}: set by fxconnect and not configurable ({})", p.where, p.written(), it->why));
      continue;
    }
    set(conf.get(), p.name, p.value, p.where, errors);
  }
  return conf;
}

ConfPtr build_or_throw(const ClientSettings& c, Role role, const std::string& group_id,
                       std::chrono::milliseconds commit_interval) {
  std::vector<std::string> errors;
  auto conf = build(c, role, group_id, commit_interval, errors);
  if (!errors.empty()) throw ConfigError(fmt::format("{}", fmt::join(errors, "\n")));
  return conf;
}

}  // namespace

const std::vector<OwnedProperty>& owned_properties() {
  // Properties whose values the delivery guarantees depend on (docs/config.md explains each).
  static const std::vector<OwnedProperty> owned = {
      {"bootstrap.servers", "use kafka.bootstrap"},
      {"metadata.broker.list", "use kafka.bootstrap"},
      {"group.id", "use kafka.group_id"},
      {"enable.auto.commit", "librdkafka commits the offsets the runtime stores once replies are acknowledged"},
      {"enable.auto.offset.store", "offsets are stored only after the reply is acknowledged"},
      {"auto.commit.interval.ms", "use processing.commit_interval"},
      {"partition.assignment.strategy", "cooperative-sticky lets revoked partitions drain"},
      {"enable.idempotence", "producer retries must not duplicate or reorder replies"},
      {"acks", "replies are acknowledged by all in-sync replicas"},
      {"request.required.acks", "replies are acknowledged by all in-sync replicas"},
      {"dr_msg_cb", "set by fxconnect"},
      {"transactional.id", "replies are not transactional; each is acknowledged on its own"},
  };
  return owned;
}

ConfPtr consumer_conf(const ConsumerSettings& s) {
  return build_or_throw(s, Role::consumer, s.group_id, s.commit_interval);
}
ConfPtr producer_conf(const ProducerSettings& s) { return build_or_throw(s, Role::producer, "", {}); }

std::vector<std::string> check_properties(const ConsumerSettings& consumer, const ProducerSettings& producer) {
  std::vector<std::string> errors;
  for (Role role : {Role::consumer, Role::producer}) {
    std::vector<std::string> role_errors;
    const ClientSettings& settings = role == Role::consumer ? static_cast<const ClientSettings&>(consumer) : producer;
    auto conf = build(settings, role, consumer.group_id, consumer.commit_interval, role_errors);
    if (role_errors.empty()) {
      // librdkafka checks combinations of properties only when a client is created. One without
      // brokers connects nowhere.
      char err[512];
      rd_kafka_conf_set(conf.get(), "bootstrap.servers", "", err, sizeof err);
      rd_kafka_conf_set_log_cb(conf.get(), [](const rd_kafka_t*, int, const char*, const char*) {});
      KafkaPtr client(
          rd_kafka_new(role == Role::consumer ? RD_KAFKA_CONSUMER : RD_KAFKA_PRODUCER, conf.get(), err, sizeof err));
      if (client) {
        handed_to_librdkafka(conf);
      } else {
        role_errors.push_back(fmt::format("{}: kafka properties ({}): {}", settings.source,
                                          role == Role::consumer ? "consumer" : "producer", err));
      }
    }
    for (auto& e : role_errors) {
      if (std::find(errors.begin(), errors.end(), e) == errors.end()) errors.push_back(std::move(e));
    }
  }
  return errors;
}

Request to_request(const rd_kafka_message_t& m) {
  Request r;
  r.topic = rd_kafka_topic_name(m.rkt);
  r.partition = m.partition;
  r.offset = m.offset;
  r.timestamp = rd_kafka_message_timestamp(&m, nullptr);
  if (m.key) r.key.emplace(static_cast<const char*>(m.key), m.key_len);
  if (m.payload) r.body.assign(static_cast<const char*>(m.payload), m.len);
  rd_kafka_headers_t* hdrs = nullptr;
  // Parsed once by librdkafka and kept in the message (copied here, not detached).
  if (rd_kafka_message_headers(&m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR && hdrs) {
    std::size_t count = rd_kafka_header_cnt(hdrs);
    r.headers.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
      const char* name = nullptr;
      const void* value = nullptr;
      std::size_t size = 0;
      if (rd_kafka_header_get_all(hdrs, i, &name, &value, &size) != RD_KAFKA_RESP_ERR_NO_ERROR) break;
      Header h{name, std::nullopt};
      if (value) h.value.emplace(static_cast<const char*>(value), size);
      r.headers.push_back(std::move(h));
    }
  }
  return r;
}

HeadersPtr to_kafka_headers(const Headers& headers) {
  HeadersPtr out(rd_kafka_headers_new(headers.size()));
  for (const auto& h : headers) {
    rd_kafka_header_add(out.get(), h.name.data(), static_cast<ssize_t>(h.name.size()),
                        h.value ? h.value->data() : nullptr, h.value ? static_cast<ssize_t>(h.value->size()) : 0);
  }
  return out;
}

void WireHeadersFree::operator()(rd_kafka_headers_t* headers) const noexcept { rd_kafka_headers_destroy(headers); }

rd_kafka_resp_err_t produce(rd_kafka_t* producer, const core::OutgoingRecord& record, void* opaque,
                            rd_kafka_topic_t* topic, WireHeaders* ready) {
  const bool given = ready && *ready;
  HeadersPtr built = given ? nullptr : to_kafka_headers(record.headers);
  rd_kafka_headers_t* headers = given ? ready->get() : built.get();
  const void* key = record.key ? record.key->data() : nullptr;
  std::size_t key_size = record.key ? record.key->size() : 0;
  void* value = const_cast<char*>(record.value.data());  // copied (RD_KAFKA_MSG_F_COPY)
  std::size_t value_size = record.value.size();
  rd_kafka_resp_err_t err =
      topic ? rd_kafka_producev(producer, RD_KAFKA_V_RKT(topic), RD_KAFKA_V_KEY(key, key_size),
                                RD_KAFKA_V_VALUE(value, value_size), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END)
            : rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(record.topic.c_str()), RD_KAFKA_V_KEY(key, key_size),
                                RD_KAFKA_V_VALUE(value, value_size), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (given) {
      handed_to_librdkafka(*ready);
    } else {
      handed_to_librdkafka(built);
    }
  }
  return err;
}

std::vector<std::string> create_topics(const std::string& bootstrap, const std::vector<std::string>& topics,
                                       int partitions, std::chrono::milliseconds timeout,
                                       const std::vector<std::pair<std::string, std::string>>& configs,
                                       const std::vector<core::Property>& properties,
                                       const OAuthTokenSource& oauth_token) {
  std::vector<std::string> problems;
  if (topics.empty()) return problems;
  ConfPtr conf(rd_kafka_conf_new());
  char err[512];
  rd_kafka_conf_set(conf.get(), "bootstrap.servers", bootstrap.c_str(), err, sizeof err);
  for (const auto& p : properties) {
    if (rd_kafka_conf_set(conf.get(), p.name.c_str(), p.value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      problems.push_back(fmt::format("{}: {}: {}", p.where, p.written(), err));
    }
  }
  if (!problems.empty()) return problems;
  use_token_source(conf.get(), oauth_token);
  // The first refused login or certificate, reported through the admin client's main queue.
  std::optional<std::string> refused;
  rd_kafka_conf_set_opaque(conf.get(), &refused);
  rd_kafka_conf_set_error_cb(conf.get(), [](rd_kafka_t*, int e, const char* reason, void* opaque) {
    auto& first = *static_cast<std::optional<std::string>*>(opaque);
    if (!first && refusal(e, reason)) first = explain_refusal(e, reason);
  });
  log_through_spdlog(conf.get());
  KafkaPtr admin(rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), err, sizeof err));
  if (!admin) return {std::string("cannot create an admin client: ") + err};
  after_create(admin.get());
  handed_to_librdkafka(conf);
  std::vector<std::unique_ptr<rd_kafka_NewTopic_t, decltype(&rd_kafka_NewTopic_destroy)>> owned;
  std::vector<rd_kafka_NewTopic_t*> requests;
  for (const auto& t : topics) {
    // Replication factor -1: the cluster's default.replication.factor (3 on a replicated cluster,
    // where 1 would lose the topic with one broker and fail every acks=all send once
    // min.insync.replicas is 2).
    owned.emplace_back(rd_kafka_NewTopic_new(t.c_str(), partitions, -1, err, sizeof err), rd_kafka_NewTopic_destroy);
    if (!owned.back()) return {fmt::format("topic {}: {}", t, err)};
    for (const auto& [name, value] : configs)
      rd_kafka_NewTopic_set_config(owned.back().get(), name.c_str(), value.c_str());
    requests.push_back(owned.back().get());
  }
  QueuePtr queue(rd_kafka_queue_new(admin.get()));
  rd_kafka_CreateTopics(admin.get(), requests.data(), requests.size(), nullptr, queue.get());
  std::unique_ptr<rd_kafka_event_t, decltype(&rd_kafka_event_destroy)> ev(nullptr, rd_kafka_event_destroy);
  for (auto end = std::chrono::steady_clock::now() + timeout; !ev && std::chrono::steady_clock::now() < end;) {
    ev.reset(rd_kafka_queue_poll(queue.get(), 200));
    rd_kafka_poll(admin.get(), 0);  // serves error_cb
    if (refused) return {fmt::format("the cluster at {} refused the connection: {}", bootstrap, *refused)};
  }
  if (!ev) return {fmt::format("creating topics timed out after {} ms ({})", timeout.count(), bootstrap)};
  if (rd_kafka_event_error(ev.get())) return {std::string("creating topics: ") + rd_kafka_event_error_string(ev.get())};
  std::size_t n = 0;
  const auto** results = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev.get()), &n);
  for (std::size_t i = 0; i < n; ++i) {
    auto e = rd_kafka_topic_result_error(results[i]);
    if (e && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
      problems.push_back(fmt::format("topic {}: {}", rd_kafka_topic_result_name(results[i]),
                                     rd_kafka_topic_result_error_string(results[i])));
    }
  }
  // Wait until every partition has a leader: producing before that fails or stalls.
  auto end = std::chrono::steady_clock::now() + timeout;
  for (const auto& t : topics) {
    bool ready = false;
    while (!ready && std::chrono::steady_clock::now() < end) {
      TopicPtr handle(rd_kafka_topic_new(admin.get(), t.c_str(), nullptr));
      const struct rd_kafka_metadata* md = nullptr;
      if (rd_kafka_metadata(admin.get(), 0, handle.get(), &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        ready = md->topic_cnt == 1 && md->topics[0].err == 0 && md->topics[0].partition_cnt > 0;
        for (int p = 0; ready && p < md->topics[0].partition_cnt; ++p) ready = md->topics[0].partitions[p].leader >= 0;
        rd_kafka_metadata_destroy(md);
      }
      if (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (!ready) problems.push_back(fmt::format("topic {}: no leader within {} ms", t, timeout.count()));
  }
  return problems;
}

void log_to_spdlog(const rd_kafka_t*, int level, const char* facility, const char* message) {
  // kafka.properties go to both clients; librdkafka's note that one of them ignores a property
  // meant for the other is expected, not a warning.
  if (std::string_view(facility) == "CONFWARN" &&
      std::string_view(message).find(" property and will be ignored by this ") != std::string_view::npos) {
    level = 7;
  }
  auto lvl = level <= 3   ? spdlog::level::err
             : level <= 4 ? spdlog::level::warn
             : level <= 6 ? spdlog::level::info
                          : spdlog::level::debug;
  spdlog::log(lvl, "librdkafka {}: {}", facility, message);
}

void log_through_spdlog(rd_kafka_conf_t* conf) {
  spdlog::default_logger_raw();  // creates the registry now if nothing logged yet
  rd_kafka_conf_set_log_cb(conf, &log_to_spdlog);
}

std::optional<std::string> describe_client_error(rd_kafka_t* rk, int err, const char* reason) {
  const char* role = rd_kafka_type(rk) == RD_KAFKA_PRODUCER ? "producer" : "consumer";
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    char buf[512];
    auto original = rd_kafka_fatal_error(rk, buf, sizeof buf);
    return fmt::format("fatal Kafka error in the {}: {}: {}", role, rd_kafka_err2name(original), buf);
  }
  spdlog::warn("kafka {}: {}: {}", role, rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)), reason);
  return std::nullopt;
}

void after_create(rd_kafka_t* rk) {
  // An error only says that no SASL callback is configured: nothing to forward.
  if (rd_kafka_error_t* e = rd_kafka_sasl_background_callbacks_enable(rk)) rd_kafka_error_destroy(e);
}

bool refusal(int err, std::string_view reason) {
  if (err == RD_KAFKA_RESP_ERR__AUTHENTICATION || err == RD_KAFKA_RESP_ERR__SSL) return true;
  // librdkafka 2.0.2 reports the first failed handshake of a connection as a transport error.
  return err == RD_KAFKA_RESP_ERR__TRANSPORT && reason.find("SSL routines") != std::string_view::npos;
}

std::string explain_refusal(int err, std::string_view reason) {
  if (err == RD_KAFKA_RESP_ERR__AUTHENTICATION && reason.find("OAUTHBEARER token") != std::string_view::npos) {
    return fmt::format(
        "SASL authentication failed ({}); check kafka.security.sasl: token_url, client_id, "
        "client_secret and scope must be what the identity provider expects",
        reason);
  }
  if (err == RD_KAFKA_RESP_ERR__AUTHENTICATION) {
    // librdkafka before 2.6.1 repeats the client nonce in SCRAM's client-final message; Kafka 3.8.1
    // to 3.9 tolerate it, Kafka 4 refuses it as wrong credentials (docs/security.md).
    bool scram_limit = reason.find("SCRAM") != std::string_view::npos && rd_kafka_version() < 0x020601ff;
    return fmt::format(
        "SASL authentication failed ({}); check kafka.security.sasl: the mechanism must be one the "
        "listener enables, and the user and password the cluster's{}",
        reason,
        scram_limit ? fmt::format(". Note: this librdkafka ({}) cannot do SCRAM with Kafka 4.0 or later "
                                  "brokers (they need librdkafka 2.6.1 or later); with such a cluster use "
                                  "PLAIN over sasl_ssl or OAUTHBEARER",
                                  rd_kafka_version_str())
                    : "");
  }
  if (reason.find("verify") != std::string_view::npos || reason.find("certificate") != std::string_view::npos) {
    return fmt::format(
        "the broker's TLS certificate was not accepted ({}); check kafka.security.ca_file (the CA that "
        "signed the brokers' certificates) and that the bootstrap host names are the certificate's",
        reason);
  }
  return fmt::format(
      "the TLS handshake failed ({}); check kafka.security.protocol against the listener (TLS or not) "
      "and, if the cluster asks for a client certificate, kafka.security.cert_file and key_file",
      reason);
}

ProduceFailure classify_produce_error(rd_kafka_resp_err_t err) {
  // Every code librdkafka 2.0.2 defines and no default: the compiler (-Wswitch) names any code a
  // newer librdkafka adds.
  switch (err) {
    case RD_KAFKA_RESP_ERR_NO_ERROR: return ProduceFailure::none;
    // Worth another try later: connectivity, leadership, replication, throttling, timeouts.
    case RD_KAFKA_RESP_ERR__DESTROY:
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__CRIT_SYS_RESOURCE:
    case RD_KAFKA_RESP_ERR__RESOLVE:
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__QUEUE_FULL:
    case RD_KAFKA_RESP_ERR__ISR_INSUFF:
    case RD_KAFKA_RESP_ERR__NODE_UPDATE:
    case RD_KAFKA_RESP_ERR__SSL:
    case RD_KAFKA_RESP_ERR__WAIT_COORD:
    case RD_KAFKA_RESP_ERR__IN_PROGRESS:
    case RD_KAFKA_RESP_ERR__PREV_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE:
    case RD_KAFKA_RESP_ERR__WAIT_CACHE:
    case RD_KAFKA_RESP_ERR__INTR:
    case RD_KAFKA_RESP_ERR__RETRY:
    case RD_KAFKA_RESP_ERR__PURGE_QUEUE:
    case RD_KAFKA_RESP_ERR__PURGE_INFLIGHT:
    case RD_KAFKA_RESP_ERR__UNKNOWN_BROKER:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_REPLICA_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION:
    case RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_COORDINATOR:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case RD_KAFKA_RESP_ERR_NOT_CONTROLLER:
    case RD_KAFKA_RESP_ERR_DUPLICATE_SEQUENCE_NUMBER:
    case RD_KAFKA_RESP_ERR_CONCURRENT_TRANSACTIONS:
    case RD_KAFKA_RESP_ERR_OPERATION_NOT_ATTEMPTED:
    case RD_KAFKA_RESP_ERR_KAFKA_STORAGE_ERROR:
    case RD_KAFKA_RESP_ERR_LOG_DIR_NOT_FOUND:
    case RD_KAFKA_RESP_ERR_UNKNOWN_PRODUCER_ID:
    case RD_KAFKA_RESP_ERR_REASSIGNMENT_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_FENCED_LEADER_EPOCH:
    case RD_KAFKA_RESP_ERR_UNKNOWN_LEADER_EPOCH:
    case RD_KAFKA_RESP_ERR_STALE_BROKER_EPOCH:
    case RD_KAFKA_RESP_ERR_OFFSET_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_PREFERRED_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_ELIGIBLE_LEADERS_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_THROTTLING_QUOTA_EXCEEDED: return ProduceFailure::transient;
    // This record, never: its size, its contents.
    case RD_KAFKA_RESP_ERR__BAD_MSG:
    case RD_KAFKA_RESP_ERR__BAD_COMPRESSION:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
    case RD_KAFKA_RESP_ERR__KEY_SERIALIZATION:
    case RD_KAFKA_RESP_ERR__VALUE_SERIALIZATION:
    case RD_KAFKA_RESP_ERR_INVALID_MSG:
    case RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE:
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_TIMESTAMP:
    case RD_KAFKA_RESP_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD: return ProduceFailure::record;
    // No record to this topic, until someone changes the deployment: a missing topic, ACLs,
    // credentials, a protocol or setting the cluster refuses.
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR__NOT_IMPLEMENTED:
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
    case RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE:
    case RD_KAFKA_RESP_ERR__READ_ONLY:
    case RD_KAFKA_RESP_ERR__NOT_CONFIGURED:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    case RD_KAFKA_RESP_ERR_INVALID_REQUIRED_ACKS:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_UNSUPPORTED_SASL_MECHANISM:
    case RD_KAFKA_RESP_ERR_ILLEGAL_SASL_STATE:
    case RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION:
    case RD_KAFKA_RESP_ERR_POLICY_VIOLATION:
    case RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_SECURITY_DISABLED:
    case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
    case RD_KAFKA_RESP_ERR_DELEGATION_TOKEN_AUTH_DISABLED:
    case RD_KAFKA_RESP_ERR_DELEGATION_TOKEN_NOT_FOUND:
    case RD_KAFKA_RESP_ERR_DELEGATION_TOKEN_OWNER_MISMATCH:
    case RD_KAFKA_RESP_ERR_DELEGATION_TOKEN_REQUEST_NOT_ALLOWED:
    case RD_KAFKA_RESP_ERR_DELEGATION_TOKEN_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_DELEGATION_TOKEN_EXPIRED:
    case RD_KAFKA_RESP_ERR_INVALID_PRINCIPAL_TYPE:
    case RD_KAFKA_RESP_ERR_UNSUPPORTED_COMPRESSION_TYPE:
    case RD_KAFKA_RESP_ERR_UNACCEPTABLE_CREDENTIAL:
    case RD_KAFKA_RESP_ERR_PRINCIPAL_DESERIALIZATION_FAILURE: return ProduceFailure::destination;
    // The idempotent producer cannot go on (its sequence broken, fenced).
    case RD_KAFKA_RESP_ERR__FATAL:
    case RD_KAFKA_RESP_ERR__INCONSISTENT:
    case RD_KAFKA_RESP_ERR__GAPLESS_GUARANTEE:
    case RD_KAFKA_RESP_ERR__FENCED:
    case RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER:
    case RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH:
    case RD_KAFKA_RESP_ERR_INVALID_TXN_STATE:
    case RD_KAFKA_RESP_ERR_INVALID_PRODUCER_ID_MAPPING:
    case RD_KAFKA_RESP_ERR_TRANSACTION_COORDINATOR_FENCED:
    case RD_KAFKA_RESP_ERR_PRODUCER_FENCED: return ProduceFailure::fatal;
    // Markers, not errors.
    case RD_KAFKA_RESP_ERR__BEGIN:
    case RD_KAFKA_RESP_ERR__END:
    case RD_KAFKA_RESP_ERR_END_ALL:
    // Group, consumer, admin and internal codes a delivery report does not carry. Should one come,
    // the record is not retried (that could block its partition forever), and it is logged.
    case RD_KAFKA_RESP_ERR__FAIL:
    case RD_KAFKA_RESP_ERR__PARTITION_EOF:
    case RD_KAFKA_RESP_ERR__FS:
    case RD_KAFKA_RESP_ERR__UNKNOWN_GROUP:
    case RD_KAFKA_RESP_ERR__EXISTING_SUBSCRIPTION:
    case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
    case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
    case RD_KAFKA_RESP_ERR__CONFLICT:
    case RD_KAFKA_RESP_ERR__STATE:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PROTOCOL:
    case RD_KAFKA_RESP_ERR__NO_OFFSET:
    case RD_KAFKA_RESP_ERR__OUTDATED:
    case RD_KAFKA_RESP_ERR__KEY_DESERIALIZATION:
    case RD_KAFKA_RESP_ERR__VALUE_DESERIALIZATION:
    case RD_KAFKA_RESP_ERR__PARTIAL:
    case RD_KAFKA_RESP_ERR__NOENT:
    case RD_KAFKA_RESP_ERR__UNDERFLOW:
    case RD_KAFKA_RESP_ERR__INVALID_TYPE:
    case RD_KAFKA_RESP_ERR__MAX_POLL_EXCEEDED:
    case RD_KAFKA_RESP_ERR__APPLICATION:
    case RD_KAFKA_RESP_ERR__ASSIGNMENT_LOST:
    case RD_KAFKA_RESP_ERR__NOOP:
    case RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET:
    case RD_KAFKA_RESP_ERR_UNKNOWN:
    case RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE:
    case RD_KAFKA_RESP_ERR_STALE_CTRL_EPOCH:
    case RD_KAFKA_RESP_ERR_OFFSET_METADATA_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION:
    case RD_KAFKA_RESP_ERR_INCONSISTENT_GROUP_PROTOCOL:
    case RD_KAFKA_RESP_ERR_INVALID_GROUP_ID:
    case RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID:
    case RD_KAFKA_RESP_ERR_INVALID_SESSION_TIMEOUT:
    case RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_INVALID_COMMIT_OFFSET_SIZE:
    case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS:
    case RD_KAFKA_RESP_ERR_INVALID_PARTITIONS:
    case RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR:
    case RD_KAFKA_RESP_ERR_INVALID_REPLICA_ASSIGNMENT:
    case RD_KAFKA_RESP_ERR_INVALID_CONFIG:
    case RD_KAFKA_RESP_ERR_INVALID_REQUEST:
    case RD_KAFKA_RESP_ERR_INVALID_TRANSACTION_TIMEOUT:
    case RD_KAFKA_RESP_ERR_NON_EMPTY_GROUP:
    case RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND:
    case RD_KAFKA_RESP_ERR_FETCH_SESSION_ID_NOT_FOUND:
    case RD_KAFKA_RESP_ERR_INVALID_FETCH_SESSION_EPOCH:
    case RD_KAFKA_RESP_ERR_LISTENER_NOT_FOUND:
    case RD_KAFKA_RESP_ERR_TOPIC_DELETION_DISABLED:
    case RD_KAFKA_RESP_ERR_MEMBER_ID_REQUIRED:
    case RD_KAFKA_RESP_ERR_GROUP_MAX_SIZE_REACHED:
    case RD_KAFKA_RESP_ERR_FENCED_INSTANCE_ID:
    case RD_KAFKA_RESP_ERR_ELECTION_NOT_NEEDED:
    case RD_KAFKA_RESP_ERR_NO_REASSIGNMENT_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_GROUP_SUBSCRIBED_TO_TOPIC:
    case RD_KAFKA_RESP_ERR_UNSTABLE_OFFSET_COMMIT:
    case RD_KAFKA_RESP_ERR_RESOURCE_NOT_FOUND:
    case RD_KAFKA_RESP_ERR_DUPLICATE_RESOURCE:
    case RD_KAFKA_RESP_ERR_INCONSISTENT_VOTER_SET:
    case RD_KAFKA_RESP_ERR_INVALID_UPDATE_VERSION:
    case RD_KAFKA_RESP_ERR_FEATURE_UPDATE_FAILED:
      spdlog::error("produce: unexpected error {} ({}) in a delivery report; the record is given up",
                    rd_kafka_err2name(err), static_cast<int>(err));
      return ProduceFailure::record;
  }
  spdlog::error("produce: unknown error code {} in a delivery report; the record is given up", static_cast<int>(err));
  return ProduceFailure::record;
}

std::string_view to_string(ProduceFailure failure) {
  switch (failure) {
    case ProduceFailure::none: return "none";
    case ProduceFailure::transient: return "transient";
    case ProduceFailure::record: return "record";
    case ProduceFailure::destination: return "destination";
    case ProduceFailure::fatal: return "fatal";
  }
  return "unknown";
}

}  // namespace fxconnect::kafka
