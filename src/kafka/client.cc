#include "kafka/client.h"

#include <array>
#include <string_view>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

namespace fxconnect::kafka {
namespace {

// Properties whose values the delivery guarantees depend on (docs/config.md explains each).
struct Owned {
  std::string_view name;
  std::string_view why;
};
constexpr std::array kOwned = {
    Owned{"bootstrap.servers", "use kafka.bootstrap"},
    Owned{"metadata.broker.list", "use kafka.bootstrap"},
    Owned{"group.id", "use kafka.group_id"},
    Owned{"enable.auto.commit", "librdkafka commits the offsets the runtime stores once replies are acknowledged"},
    Owned{"enable.auto.offset.store", "offsets are stored only after the reply is acknowledged"},
    Owned{"auto.commit.interval.ms", "use processing.commit_interval"},
    Owned{"partition.assignment.strategy", "cooperative-sticky lets revoked partitions drain"},
    Owned{"enable.idempotence", "producer retries must not duplicate or reorder replies"},
    Owned{"acks", "replies are acknowledged by all in-sync replicas"},
    Owned{"request.required.acks", "replies are acknowledged by all in-sync replicas"},
    Owned{"dr_msg_cb", "set by fxconnect"},
    Owned{"transactional.id", "replies are not transactional; each is acknowledged on its own"},
};

enum class Role { consumer, producer };

void set(rd_kafka_conf_t* conf, const std::string& name, const std::string& value,
         const std::string& where, std::vector<std::string>& errors) {
  char err[512];
  if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
    errors.push_back(fmt::format("{}: {}: {}", where, name, err));
  }
}

ConfPtr build(const config::ConnectorConfig& c, Role role, std::vector<std::string>& errors) {
  ConfPtr conf(rd_kafka_conf_new());
  auto own = [&](const char* name, const std::string& value) {
    set(conf.get(), name, value, c.source + " (set by fxconnect)", errors);
  };
  own("bootstrap.servers", c.kafka.bootstrap);
  own("client.id", "fxconnect-" + c.kafka.group_id);
  if (role == Role::consumer) {
    own("group.id", c.kafka.group_id);
    // librdkafka commits what the runtime stores (see kafka/source.h for why it, not the runtime).
    own("enable.auto.commit", "true");
    own("enable.auto.offset.store", "false");
    own("auto.commit.interval.ms", std::to_string(c.processing.commit_interval.count()));
    own("partition.assignment.strategy", "cooperative-sticky");
    // A default, overridable: what librdkafka may prefetch while the runtime is at its in-flight
    // limit (librdkafka's own default is 64 MB).
    own("queued.max.messages.kbytes", "16384");
  } else {
    own("enable.idempotence", "true");
    own("acks", "all");
    own("message.timeout.ms", "120000");
  }
  auto apply = [&](const std::vector<config::Property>& props, std::string_view section) {
    for (const auto& p : props) {
      bool owned = false;
      for (const auto& o : kOwned) {
        if (o.name == p.name) {
          errors.push_back(fmt::format("{}: {}.{}: set by fxconnect and not configurable ({})",
                                       p.where, section, p.name, o.why));
          owned = true;
        }
      }
      if (!owned) set(conf.get(), p.name, p.value, p.where, errors);
    }
  };
  apply(c.kafka.properties, "kafka.properties");
  apply(role == Role::consumer ? c.kafka.consumer_properties : c.kafka.producer_properties,
        role == Role::consumer ? "kafka.consumer_properties" : "kafka.producer_properties");
  return conf;
}

ConfPtr build_or_throw(const config::ConnectorConfig& c, Role role) {
  std::vector<std::string> errors;
  auto conf = build(c, role, errors);
  if (!errors.empty()) throw ConfigError(fmt::format("{}", fmt::join(errors, "\n")));
  return conf;
}

}  // namespace

ConfPtr consumer_conf(const config::ConnectorConfig& config) { return build_or_throw(config, Role::consumer); }
ConfPtr producer_conf(const config::ConnectorConfig& config) { return build_or_throw(config, Role::producer); }

std::vector<std::string> check_properties(const config::ConnectorConfig& config) {
  std::vector<std::string> errors;
  for (Role role : {Role::consumer, Role::producer}) {
    std::vector<std::string> role_errors;
    auto conf = build(config, role, role_errors);
    if (role_errors.empty()) {
      // librdkafka checks combinations of properties only when a client is created. One without
      // brokers connects nowhere.
      char err[512];
      rd_kafka_conf_set(conf.get(), "bootstrap.servers", "", err, sizeof err);
      rd_kafka_conf_set_log_cb(conf.get(), [](const rd_kafka_t*, int, const char*, const char*) {});
      KafkaPtr client(rd_kafka_new(role == Role::consumer ? RD_KAFKA_CONSUMER : RD_KAFKA_PRODUCER, conf.get(), err, sizeof err));
      if (client) {
        conf.release();
      } else {
        role_errors.push_back(fmt::format("{}: kafka properties ({}): {}", config.source,
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
  if (m.key) r.key.emplace(static_cast<const char*>(m.key), m.key_len);
  if (m.payload) r.body.assign(static_cast<const char*>(m.payload), m.len);
  rd_kafka_headers_t* hdrs = nullptr;
  // The headers stay owned by the message; detach would cost a copy we don't need.
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
                        h.value ? h.value->data() : nullptr,
                        h.value ? static_cast<ssize_t>(h.value->size()) : 0);
  }
  return out;
}

rd_kafka_resp_err_t produce(rd_kafka_t* producer, const core::OutgoingRecord& record, void* opaque) {
  HeadersPtr headers = to_kafka_headers(record.headers);
  const void* key = record.key ? record.key->data() : nullptr;
  std::size_t key_size = record.key ? record.key->size() : 0;
  void* value = const_cast<char*>(record.value.data());  // copied (RD_KAFKA_MSG_F_COPY)
  std::size_t value_size = record.value.size();
  rd_kafka_resp_err_t err = rd_kafka_producev(
      producer, RD_KAFKA_V_TOPIC(record.topic.c_str()), RD_KAFKA_V_KEY(key, key_size),
      RD_KAFKA_V_VALUE(value, value_size),
      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(headers.get()),
      RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) headers.release();  // librdkafka owns them now
  return err;
}

std::vector<std::string> create_topics(const std::string& bootstrap, const std::vector<std::string>& topics,
                                       int partitions, std::chrono::milliseconds timeout,
                                       const std::vector<std::pair<std::string, std::string>>& configs) {
  std::vector<std::string> problems;
  if (topics.empty()) return problems;
  ConfPtr conf(rd_kafka_conf_new());
  char err[512];
  rd_kafka_conf_set(conf.get(), "bootstrap.servers", bootstrap.c_str(), err, sizeof err);
  rd_kafka_conf_set_log_cb(conf.get(), &log_to_spdlog);
  KafkaPtr admin(rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), err, sizeof err));
  if (!admin) return {std::string("cannot create an admin client: ") + err};
  conf.release();
  std::vector<std::unique_ptr<rd_kafka_NewTopic_t, decltype(&rd_kafka_NewTopic_destroy)>> owned;
  std::vector<rd_kafka_NewTopic_t*> requests;
  for (const auto& t : topics) {
    owned.emplace_back(rd_kafka_NewTopic_new(t.c_str(), partitions, 1, err, sizeof err), rd_kafka_NewTopic_destroy);
    if (!owned.back()) return {fmt::format("topic {}: {}", t, err)};
    for (const auto& [name, value] : configs) rd_kafka_NewTopic_set_config(owned.back().get(), name.c_str(), value.c_str());
    requests.push_back(owned.back().get());
  }
  QueuePtr queue(rd_kafka_queue_new(admin.get()));
  rd_kafka_CreateTopics(admin.get(), requests.data(), requests.size(), nullptr, queue.get());
  std::unique_ptr<rd_kafka_event_t, decltype(&rd_kafka_event_destroy)> ev(
      rd_kafka_queue_poll(queue.get(), static_cast<int>(timeout.count())), rd_kafka_event_destroy);
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

bool is_retriable_produce_error(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR_INVALID_MSG:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
      return false;
    default:
      return true;
  }
}

}  // namespace fxconnect::kafka
