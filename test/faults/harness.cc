#include "harness.h"

#include <signal.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>
#include <librdkafka/rdkafka.h>

#include "kafka/client.h"
#include "kafka_test_client.h"

namespace fxconnect::faults {

namespace {

using kafka::KafkaPtr;
using kafka::MessagePtr;
using kafka::PartitionListPtr;

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, sep)) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ",") + i;
  return out;
}

void set(rd_kafka_conf_t* conf, const char* key, const std::string& value) {
  char err[512];
  if (rd_kafka_conf_set(conf, key, value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK)
    throw std::runtime_error(fmt::format("{}={}: {}", key, value, err));
}

kafka::ConfPtr base_conf(const std::string& bootstrap) {
  kafka::ConfPtr conf(rd_kafka_conf_new());
  set(conf.get(), "bootstrap.servers", bootstrap);
  set(conf.get(), "log_level", "2");  // the faults make librdkafka complain, by design
  return conf;
}

KafkaPtr make(rd_kafka_type_t type, kafka::ConfPtr conf) {
  char err[512];
  KafkaPtr rk(rd_kafka_new(type, conf.get(), err, sizeof err));
  if (!rk) throw std::runtime_error(err);
  (void)conf.release();  // owned by rk now
  return rk;
}

std::optional<std::string> header(const rd_kafka_message_t& m, const char* name) {
  rd_kafka_headers_t* hdrs = nullptr;
  if (rd_kafka_message_headers(&m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR) return std::nullopt;
  const void* value = nullptr;
  std::size_t size = 0;
  if (rd_kafka_header_get_last(hdrs, name, &value, &size) != RD_KAFKA_RESP_ERR_NO_ERROR || !value) return std::nullopt;
  return std::string(static_cast<const char*>(value), size);
}

const char* kMarker = "fxChaosRun";  // a header of every request; the reply must carry it back

}  // namespace

std::int64_t now_ms() {
  return std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// ---------------------------------------------------------------------------------------------
// Cluster

std::optional<ClusterEnv> ClusterEnv::from_env() {
  auto get = [](const char* name) -> std::string {
    const char* v = std::getenv(name);
    return v ? v : "";
  };
  ClusterEnv env{get("FXC_KAFKA3_BOOTSTRAP"), split(get("FXC_KAFKA3_PROXIED"), ','),
                 split(get("FXC_KAFKA3_UPSTREAMS"), ','), get("FXC_KAFKA3_DIR"), get("FXC_TOXIPROXY_URL")};
  if (env.bootstrap.empty() || env.proxied.empty() || env.proxied.size() != env.upstreams.size() ||
      env.state_dir.empty() || env.toxiproxy.empty())
    return std::nullopt;
  return env;
}

Cluster::Cluster(ClusterEnv env) : env_(std::move(env)), toxiproxy_(env_.toxiproxy) {
  for (int n = 1; n <= nodes(); ++n) {
    try {
      toxiproxy_.remove_proxy(proxy(n));
    } catch (const std::exception&) {
      // none yet
    }
    toxiproxy_.create_proxy(proxy(n), env_.proxied[n - 1], env_.upstreams[n - 1]);
  }
}

std::string Cluster::proxied_bootstrap() const { return join(env_.proxied); }

void Cluster::script(const std::string& command) const {
  auto line = fmt::format("env -u FXC_KAFKA_BOOTSTRAP FXC_KAFKA_DIR='{}' '{}/scripts/kafka.sh' {} >/dev/null",
                          env_.state_dir, FXC_SOURCE_DIR, command);
  if (std::system(line.c_str()) != 0) throw std::runtime_error("failed: scripts/kafka.sh " + command);
}

void Cluster::kill_node(int node) { script("kill-node " + std::to_string(node)); }
void Cluster::stop_node(int node) { script("stop-node " + std::to_string(node)); }
void Cluster::start_node(int node) { script("start-node " + std::to_string(node)); }

int Cluster::leader_of(const std::string& topic, int partition) const {
  auto rk = make(RD_KAFKA_PRODUCER, base_conf(env_.bootstrap));
  kafka::TopicPtr handle(rd_kafka_topic_new(rk.get(), topic.c_str(), nullptr));
  const struct rd_kafka_metadata* md = nullptr;
  if (rd_kafka_metadata(rk.get(), 0, handle.get(), &md, 10'000) != RD_KAFKA_RESP_ERR_NO_ERROR) return -1;
  int leader = -1;
  if (md->topic_cnt == 1 && partition < md->topics[0].partition_cnt)
    leader = md->topics[0].partitions[partition].leader;
  rd_kafka_metadata_destroy(md);
  return leader;
}

void Cluster::create_topic(const std::string& topic, int partitions, bool log_append_time) const {
  std::vector<std::pair<std::string, std::string>> configs;
  if (log_append_time) configs.emplace_back("message.timestamp.type", "LogAppendTime");
  auto problems = kafka::create_topics(env_.bootstrap, {topic}, partitions, seconds(60), configs);
  if (!problems.empty()) throw std::runtime_error(problems.front());
  // Each node learns of a new topic from the controller on its own time: until every one of them
  // knows it, a connector asking another node would be told that its topic does not exist. A new
  // client asks its bootstrap node first, so one client per node.
  auto end = std::chrono::steady_clock::now() + seconds(60);
  for (const auto& node : split(env_.bootstrap, ',')) {
    for (;;) {
      auto rk = make(RD_KAFKA_PRODUCER, base_conf(node));
      kafka::TopicPtr handle(rd_kafka_topic_new(rk.get(), topic.c_str(), nullptr));
      const struct rd_kafka_metadata* md = nullptr;
      bool known = false;
      if (rd_kafka_metadata(rk.get(), 0, handle.get(), &md, 10'000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        known = md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR &&
                md->topics[0].partition_cnt == partitions;
        for (int p = 0; known && p < md->topics[0].partition_cnt; ++p) known = md->topics[0].partitions[p].leader >= 0;
      }
      if (md) rd_kafka_metadata_destroy(md);
      if (known) break;
      if (std::chrono::steady_clock::now() >= end)
        throw std::runtime_error(fmt::format("topic {} not known to node {} after 60 s", topic, node));
      std::this_thread::sleep_for(milliseconds(200));
    }
  }
}

void Cluster::heal() {
  toxiproxy_.reset();
  for (int n = 1; n <= nodes(); ++n) start_node(n);
}

// ---------------------------------------------------------------------------------------------
// Load

struct Load::Producer {
  KafkaPtr rk;
};

namespace {
void load_delivered(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque);
}

Load::Load(Options options) : options_(std::move(options)), producer_(new Producer) {
  auto conf = base_conf(options_.bootstrap);
  set(conf.get(), "enable.idempotence", "true");
  set(conf.get(), "acks", "all");
  set(conf.get(), "linger.ms", "5");
  set(conf.get(), "message.max.bytes", "52428800");
  set(conf.get(), "message.timeout.ms", "600000");
  rd_kafka_conf_set_opaque(conf.get(), this);
  rd_kafka_conf_set_dr_msg_cb(conf.get(), load_delivered);
  producer_->rk = make(RD_KAFKA_PRODUCER, std::move(conf));
}

Load::~Load() { stop(); }

void Load::start() {
  stop_ = false;
  thread_ = std::thread([this] { run(); });
}

void Load::run() {
  auto begin = std::chrono::steady_clock::now();
  const std::string run_tag = std::to_string(reinterpret_cast<std::uintptr_t>(this));
  while (!stop_) {
    double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
    auto target = static_cast<std::int64_t>(elapsed * options_.rate);
    while (next_id_ < target && !stop_) {
      std::int64_t id = next_id_;
      int key = static_cast<int>(id % options_.keys);
      std::string uuid = "uuid-" + std::to_string(key);
      std::size_t pad = options_.body_bytes ? options_.body_bytes(id) : 0;
      std::string body = fmt::format(R"({{"seq":{},"key":"{}","pad":"{}"}})", id, uuid, std::string(pad, 'x'));
      {
        std::lock_guard lock(mutex_);
        sent_.push_back(SentRequest{id, key, now_ms(), body.size(), -1, -1});
      }
      auto id_text = std::to_string(id);
      for (;;) {
        auto err = rd_kafka_producev(
            producer_->rk.get(), RD_KAFKA_V_TOPIC(options_.topic.c_str()), RD_KAFKA_V_KEY(uuid.data(), uuid.size()),
            RD_KAFKA_V_VALUE(body.data(), body.size()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_HEADER("processInstanceUuid", uuid.data(), static_cast<ssize_t>(uuid.size())),
            RD_KAFKA_V_HEADER("processInstanceId", id_text.data(), static_cast<ssize_t>(id_text.size())),
            RD_KAFKA_V_HEADER(kMarker, run_tag.data(), static_cast<ssize_t>(run_tag.size())),
            RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(static_cast<std::intptr_t>(id))), RD_KAFKA_V_END);
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
          rd_kafka_poll(producer_->rk.get(), 50);
          continue;
        }
        if (err) throw std::runtime_error(std::string("load: produce: ") + rd_kafka_err2str(err));
        break;
      }
      ++next_id_;
      rd_kafka_poll(producer_->rk.get(), 0);
    }
    rd_kafka_poll(producer_->rk.get(), 5);
  }
}

void Load::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (producer_ && producer_->rk) rd_kafka_flush(producer_->rk.get(), 600'000);
}

std::vector<SentRequest> Load::sent() const {
  std::lock_guard lock(mutex_);
  return sent_;
}

namespace {
void load_delivered(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* load = static_cast<Load*>(opaque);
  auto id = static_cast<std::int64_t>(reinterpret_cast<std::intptr_t>(m->_private));
  load->delivered(id, m->err ? -1 : m->partition, m->err ? -1 : m->offset);
}
}  // namespace

void Load::delivered(std::int64_t id, int partition, std::int64_t offset) {
  std::lock_guard lock(mutex_);
  if (id >= 0 && id < static_cast<std::int64_t>(sent_.size())) {
    sent_[id].partition = partition;
    sent_[id].offset = offset;
  }
}

// ---------------------------------------------------------------------------------------------
// ReplyLog

struct ReplyLog::State {
  std::string topic;
  KafkaPtr query;
  mutable std::mutex mutex;
  std::vector<SeenReply> replies;
  std::set<std::int64_t> ids;
  std::map<std::int32_t, std::int64_t> next;  // per partition: one past the last offset read
  std::atomic<bool> stop{false};
  std::thread thread;
};

ReplyLog::ReplyLog(const std::string& bootstrap, const std::string& topic, int partitions) : s_(new State) {
  s_->topic = topic;
  s_->query = make(RD_KAFKA_PRODUCER, base_conf(bootstrap));
  auto conf = base_conf(bootstrap);
  set(conf.get(), "group.id", "fxc-chaos-reader-" + testing::unique_suffix());
  set(conf.get(), "enable.auto.commit", "false");
  set(conf.get(), "fetch.max.bytes", "57671680");
  set(conf.get(), "max.partition.fetch.bytes", "57671680");
  set(conf.get(), "receive.message.max.bytes", "120000000");
  auto consumer = make(RD_KAFKA_CONSUMER, std::move(conf));
  rd_kafka_poll_set_consumer(consumer.get());
  PartitionListPtr list(rd_kafka_topic_partition_list_new(partitions));
  for (int p = 0; p < partitions; ++p)
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  if (auto err = rd_kafka_assign(consumer.get(), list.get()))
    throw std::runtime_error(std::string("reply log: assign: ") + rd_kafka_err2str(err));
  s_->thread = std::thread([s = s_.get(), c = consumer.release()] {
    KafkaPtr consumer(c);
    while (!s->stop) {
      MessagePtr m(rd_kafka_consumer_poll(consumer.get(), 100));
      if (!m || m->err) continue;
      SeenReply r;
      r.partition = m->partition;
      r.offset = m->offset;
      rd_kafka_timestamp_type_t type;
      r.timestamp_ms = rd_kafka_message_timestamp(m.get(), &type);
      if (m->key) r.key.assign(static_cast<const char*>(m->key), m->key_len);
      auto id = header(*m, "processInstanceId");
      auto uuid = header(*m, "processInstanceUuid");
      auto marker = header(*m, kMarker);
      if (id) {
        char* end = nullptr;
        long long v = std::strtoll(id->c_str(), &end, 10);
        if (end && *end == '\0' && !id->empty()) r.id = v;
      }
      r.headers_ok = uuid.has_value() && marker.has_value() && r.key == *uuid;
      std::size_t look = std::min<std::size_t>(m->len, 512);
      static constexpr std::string_view kError = "\"errorMessage\"";
      r.error = m->payload &&
                std::string_view(static_cast<const char*>(m->payload), look).find(kError) != std::string_view::npos;
      std::lock_guard lock(s->mutex);
      s->next[r.partition] = std::max(s->next[r.partition], r.offset + 1);
      if (r.id >= 0) s->ids.insert(r.id);
      s->replies.push_back(std::move(r));
    }
    rd_kafka_consumer_close(consumer.get());
  });
}

ReplyLog::~ReplyLog() {
  s_->stop = true;
  if (s_->thread.joinable()) s_->thread.join();
}

std::vector<SeenReply> ReplyLog::replies() const {
  std::lock_guard lock(s_->mutex);
  return s_->replies;
}

std::size_t ReplyLog::distinct() const {
  std::lock_guard lock(s_->mutex);
  return s_->ids.size();
}

bool ReplyLog::catch_up(milliseconds timeout) const {
  auto end = std::chrono::steady_clock::now() + timeout;
  auto ends = testing::end_offsets(s_->query.get(), s_->topic);
  // A node may still be coming back after a fault: ask again until the deadline.
  while (!ends && std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(milliseconds(500));
    ends = testing::end_offsets(s_->query.get(), s_->topic);
  }
  if (!ends) return false;
  for (;;) {
    {
      std::lock_guard lock(s_->mutex);
      if (testing::reached(*ends, s_->next)) return true;
    }
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::sleep_for(milliseconds(50));
  }
}

// ---------------------------------------------------------------------------------------------
// CommitWatch

struct CommitWatch::State {
  mutable std::mutex mutex;
  std::vector<CommitSnapshot> snapshots;
  std::atomic<bool> stop{false};
  std::thread thread;
};

CommitWatch::CommitWatch(const std::string& bootstrap, const std::string& group, const std::string& input,
                         int input_partitions, const std::string& reply, int reply_partitions)
    : s_(new State) {
  auto conf = base_conf(bootstrap);
  set(conf.get(), "group.id", group);
  set(conf.get(), "enable.auto.commit", "false");
  auto consumer = make(RD_KAFKA_CONSUMER, std::move(conf));
  s_->thread = std::thread([s = s_.get(), c = consumer.release(), input, input_partitions, reply, reply_partitions] {
    KafkaPtr consumer(c);
    while (!s->stop) {
      CommitSnapshot snap;
      snap.at_ms = now_ms();
      PartitionListPtr list(rd_kafka_topic_partition_list_new(input_partitions));
      for (int p = 0; p < input_partitions; ++p) rd_kafka_topic_partition_list_add(list.get(), input.c_str(), p);
      bool ok = rd_kafka_committed(consumer.get(), list.get(), 5'000) == RD_KAFKA_RESP_ERR_NO_ERROR;
      for (int p = 0; ok && p < input_partitions; ++p) {
        ok = list->elems[p].err == RD_KAFKA_RESP_ERR_NO_ERROR;
        snap.committed.push_back(list->elems[p].offset);
      }
      // The watermarks after the commits: a reply acknowledged before a commit lies below them.
      for (int p = 0; ok && p < reply_partitions; ++p) {
        std::int64_t low = 0, high = 0;
        ok = rd_kafka_query_watermark_offsets(consumer.get(), reply.c_str(), p, &low, &high, 5'000) ==
             RD_KAFKA_RESP_ERR_NO_ERROR;
        snap.reply_high.push_back(high);
      }
      if (ok) {
        std::lock_guard lock(s->mutex);
        s->snapshots.push_back(std::move(snap));
      }
      for (int i = 0; i < 5 && !s->stop; ++i) std::this_thread::sleep_for(milliseconds(100));
    }
    rd_kafka_consumer_close(consumer.get());
  });
}

CommitWatch::~CommitWatch() { stop(); }

void CommitWatch::stop() {
  s_->stop = true;
  if (s_->thread.joinable()) s_->thread.join();
}

std::vector<CommitSnapshot> CommitWatch::snapshots() const {
  std::lock_guard lock(s_->mutex);
  return s_->snapshots;
}

// ---------------------------------------------------------------------------------------------
// Accounting

Outcome account(const std::vector<SentRequest>& sent, const std::vector<SeenReply>& replies,
                const std::vector<CommitSnapshot>& snapshots, std::int64_t fault_start_ms) {
  Outcome o;
  std::map<std::int64_t, const SentRequest*> requests;
  std::set<std::int64_t> undelivered;  // the load generator saw them fail; they may be on the topic anyway
  for (const auto& s : sent) {
    if (s.offset < 0) {
      ++o.undelivered;
      undelivered.insert(s.id);
    } else {
      requests[s.id] = &s;
    }
  }
  o.requests = requests.size();

  // Replies in topic order; per request, its first reply.
  std::vector<const SeenReply*> ordered;
  for (const auto& r : replies) ordered.push_back(&r);
  std::sort(ordered.begin(), ordered.end(), [](const SeenReply* a, const SeenReply* b) {
    return std::tie(a->partition, a->offset) < std::tie(b->partition, b->offset);
  });
  std::map<std::int64_t, std::vector<const SeenReply*>> by_id;
  for (const auto* r : ordered) {
    if (r->headers_ok && undelivered.count(r->id))
      continue;  // a request whose delivery report failed, written after all
    if (r->id < 0 || !requests.count(r->id) || !r->headers_ok) {
      ++o.foreign_replies;
      continue;
    }
    by_id[r->id].push_back(r);
  }

  std::vector<double> latencies;
  std::int64_t last_slow_reply = -1;
  for (const auto& [id, req] : requests) {
    auto it = by_id.find(id);
    if (it == by_id.end()) {
      ++o.lost;
      continue;
    }
    const auto& rs = it->second;
    if (rs.size() > 1) {
      o.duplicates += rs.size() - 1;
      ++o.answered_twice_or_more;
    }
    const SeenReply* first = rs.front();
    // Any error reply counts, first or not: one after the new owner's answer contradicts it.
    if (std::any_of(rs.begin(), rs.end(), [](const SeenReply* r) { return r->error; })) ++o.error_replies;
    double latency = static_cast<double>(first->timestamp_ms - req->sent_ms) / 1000.0;
    latencies.push_back(latency);
    if (fault_start_ms >= 0 && first->timestamp_ms >= fault_start_ms && latency > 1.0)
      last_slow_reply = std::max(last_slow_reply, first->timestamp_ms);
  }
  if (!latencies.empty()) {
    std::sort(latencies.begin(), latencies.end());
    o.max_latency_s = latencies.back();
    o.p99_latency_s = latencies[std::min(latencies.size() - 1, latencies.size() * 99 / 100)];
  }
  if (last_slow_reply >= 0) o.recovery_s = static_cast<double>(last_slow_reply - fault_start_ms) / 1000.0;

  // Per key: first replies in topic order must follow request order (ids grow per key, as the one
  // load producer sent them).
  std::map<int, std::int64_t> last_id_of_key;
  for (const auto* r : ordered) {
    auto it = by_id.find(r->id);
    if (it == by_id.end() || it->second.front() != r) continue;  // foreign, or a duplicate
    int key = requests.at(r->id)->key;
    auto [k, inserted] = last_id_of_key.emplace(key, r->id);
    if (!inserted) {
      if (r->id < k->second) {
        ++o.order_violations;
      } else {
        k->second = r->id;
      }
    }
  }

  // Commits: every request below a committed offset must have a reply below the watermarks read
  // after that commit. Each request is checked at the first snapshot that covers it (watermarks
  // only grow, so later snapshots could not fail it).
  std::map<int, std::vector<const SentRequest*>> by_partition;
  for (const auto& [id, req] : requests) by_partition[req->partition].push_back(req);
  for (auto& [p, reqs] : by_partition) {
    std::sort(reqs.begin(), reqs.end(), [](auto* a, auto* b) { return a->offset < b->offset; });
  }
  std::map<int, std::size_t> checked;  // per input partition: index of the first request not yet covered
  std::set<std::int64_t> violating;
  for (const auto& snap : snapshots) {
    for (std::size_t p = 0; p < snap.committed.size(); ++p) {
      auto& reqs = by_partition[static_cast<int>(p)];
      auto& i = checked[static_cast<int>(p)];
      for (; i < reqs.size() && reqs[i]->offset < snap.committed[p]; ++i) {
        auto it = by_id.find(reqs[i]->id);
        bool ok = false;
        if (it != by_id.end()) {
          for (const auto* r : it->second) {
            ok = ok || (static_cast<std::size_t>(r->partition) < snap.reply_high.size() &&
                        r->offset < snap.reply_high[r->partition]);
          }
        }
        if (!ok) violating.insert(reqs[i]->id);
      }
    }
  }
  o.commit_violations = violating.size();
  o.commit_snapshots = snapshots.size();
  return o;
}

std::string Outcome::line() const {
  return fmt::format(
      "chaos: scenario={} requests={} lost={} duplicates={} answered_twice_or_more={} order_violations={} "
      "commit_violations={} commit_snapshots={} error_replies={} foreign_replies={} undelivered={} "
      "max_latency_s={:.2f} p99_latency_s={:.2f} recovery_s={:.1f} peak_rss_mb={:.0f} seconds={:.0f}{}",
      scenario, requests, lost, duplicates, answered_twice_or_more, order_violations, commit_violations,
      commit_snapshots, error_replies, foreign_replies, undelivered, max_latency_s, p99_latency_s, recovery_s,
      peak_rss_mb, seconds, notes.empty() ? "" : " notes=\"" + notes + "\"");
}

std::string Outcome::table_header() {
  return "| scenario | requests | lost | duplicates | order violations | max reply latency | recovery time | "
         "commit violations | error replies | connector peak RSS |\n"
         "|---|---|---|---|---|---|---|---|---|---|";
}

std::string Outcome::table_row() const {
  return fmt::format("| {} | {} | {} | {} | {} | {:.2f} s | {:.1f} s | {} | {} | {:.0f} MB |", scenario, requests, lost,
                     duplicates, order_violations, max_latency_s, recovery_s, commit_violations, error_replies,
                     peak_rss_mb);
}

// ---------------------------------------------------------------------------------------------
// Connector

std::string connector_yaml(const std::string& bootstrap, const std::string& group, const std::string& input,
                           const std::string& reply, const std::string& delay, const std::string& properties) {
  return fmt::format(
      "kafka:\n  bootstrap: {}\n  group_id: {}\n  properties: {{ auto.offset.reset: earliest{} }}\n"
      "input:\n  topic: {}\nreply:\n  topic: {}\n  engine_pattern: \"ai.flowx.dev.engine.receive.*\"\n"
      "handler:\n  name: echo\n  options: {{ delay: {} }}\nprocessing:\n  max_in_flight: 5000\n",
      bootstrap, group, properties.empty() ? "" : ", " + properties, input, reply, delay);
}

Connector::Connector(std::string name, std::string yaml, std::string dir)
    : name_(std::move(name)), yaml_path_(dir + "/" + name_ + ".yaml"), log_dir_(std::move(dir)) {
  std::filesystem::create_directories(log_dir_);
  std::ofstream(yaml_path_) << yaml;
}

Connector::~Connector() {
  if (process_ && process_->running()) terminate(seconds(30));
}

void Connector::start() {
  auto log = fmt::format("{}/{}.{}.log", log_dir_, name_, run_++);
  process_ = std::make_unique<testing::ChildProcess>(
      std::vector<std::string>{testing::program_path("fxconnect"), "run", yaml_path_}, log);
}

bool Connector::wait_assigned(milliseconds timeout) {
  return process_ && process_->wait_for_log("partitions assigned", timeout);
}

double Connector::peak_rss_mb() const {
  if (!process_) return 0;
  std::ifstream status(fmt::format("/proc/{}/status", process_->pid()));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::strtod(line.c_str() + 6, nullptr) / 1024.0;
  }
  return 0;
}

void Connector::kill() {
  if (!process_) return;
  max_peak_rss_mb_ = std::max(max_peak_rss_mb_, peak_rss_mb());
  process_->signal(SIGKILL);
  process_->wait(seconds(30));
}

int Connector::terminate(milliseconds timeout) {
  if (!process_) return -1;
  max_peak_rss_mb_ = std::max(max_peak_rss_mb_, peak_rss_mb());
  process_->signal(SIGTERM);
  auto code = process_->wait(timeout);
  if (!code) {
    process_->signal(SIGKILL);
    process_->wait(seconds(30));
    return -1;
  }
  return *code;
}

bool Connector::running() { return process_ && process_->running(); }

std::string Connector::log() const { return process_ ? process_->log() : ""; }

}  // namespace fxconnect::faults
