// The fault suite's harness: a three-node cluster with Toxiproxy in front of each node, a steady
// load of engine requests, a reader of every reply, watches on the committed offsets, and the
// accounting of each request as answered once, answered N times, or never (Kafka's system tests
// and Jepsen count the same way). Used by the `faults` ctest tier (short runs) and by
// scripts/chaos.sh (fxc_chaos: long runs and the soak) for docs/reliability.md.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "child_process.h"
#include "toxiproxy.h"

namespace fxconnect::faults {

using std::chrono::milliseconds;
using std::chrono::seconds;

std::int64_t now_ms();  // wall clock (the one Kafka record timestamps use), in ms

// Where the cluster of `scripts/kafka.sh start --brokers 3` and its Toxiproxy are (scripts/test.sh
// and scripts/chaos.sh export them through scripts/lib.sh's fxc_private_kafka3):
//   FXC_KAFKA3_BOOTSTRAP  every node, direct       FXC_KAFKA3_PROXIED    the advertised PROXIED listeners
//   FXC_KAFKA3_UPSTREAMS  where each proxy forwards  FXC_KAFKA3_DIR      the cluster's state dir
//   FXC_TOXIPROXY_URL     Toxiproxy's API
struct ClusterEnv {
  std::string bootstrap;
  std::vector<std::string> proxied;
  std::vector<std::string> upstreams;
  std::string state_dir;
  std::string toxiproxy;
  static std::optional<ClusterEnv> from_env();  // nullopt when any of them is unset
};

class Cluster {
 public:
  // Creates one proxy per node ("kafka1".."kafka3": proxied[i] -> upstreams[i]), replacing any.
  explicit Cluster(ClusterEnv env);
  const ClusterEnv& env() const { return env_; }
  std::string proxied_bootstrap() const;
  int nodes() const { return static_cast<int>(env_.proxied.size()); }
  std::string proxy(int node) const { return "kafka" + std::to_string(node); }
  testing::Toxiproxy& toxiproxy() { return toxiproxy_; }

  void kill_node(int node);   // SIGKILL (scripts/kafka.sh kill-node)
  void stop_node(int node);   // SIGTERM: a controlled shutdown (scripts/kafka.sh stop-node)
  void start_node(int node);  // back, and listing every node (scripts/kafka.sh start-node)
  // Node id of the partition's leader, or -1 when there is none now.
  int leader_of(const std::string& topic, int partition) const;
  // Replication factor 3 (min.insync.replicas=2 from the brokers); waits until every partition
  // has a leader. `log_append_time`: records are stamped by the broker when appended (the reply
  // topic: a reply's latency then ends when it is really there for the engine).
  void create_topic(const std::string& topic, int partitions, bool log_append_time = false) const;
  // Every node running, every proxy enabled and without toxics.
  void heal();

 private:
  void script(const std::string& command) const;
  ClusterEnv env_;
  testing::Toxiproxy toxiproxy_;
};

// One request the load generator sent; partition/offset from its delivery report.
struct SentRequest {
  std::int64_t id = 0;  // also its processInstanceId header
  int key = 0;          // processInstanceUuid "uuid-<key>"
  std::int64_t sent_ms = 0;
  std::size_t bytes = 0;
  int partition = -1;
  std::int64_t offset = -1;  // -1: not delivered to the broker (not counted as a request)
};

// A steady load of engine requests over `keys` keys at `rate` per second, on its own thread,
// through an idempotent producer with acks=all (the engine's own settings do the same).
class Load {
 public:
  struct Options {
    std::string bootstrap;
    std::string topic;
    int keys = 1000;
    double rate = 200;
    // Body size for request `id` (0: a small JSON body of ~60 bytes).
    std::function<std::size_t(std::int64_t id)> body_bytes;
  };
  explicit Load(Options options);
  ~Load();
  Load(const Load&) = delete;
  Load& operator=(const Load&) = delete;
  void start();
  void stop();  // stops sending, waits for every delivery report (up to 10 min)
  std::size_t sent_count() const { return next_id_.load(); }
  std::vector<SentRequest> sent() const;
  void delivered(std::int64_t id, int partition, std::int64_t offset);  // the delivery report (-1: failed)

 private:
  void run();
  Options options_;
  struct Producer;
  std::unique_ptr<Producer> producer_;
  mutable std::mutex mutex_;
  std::vector<SentRequest> sent_;
  std::atomic<std::int64_t> next_id_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// A reply as the checker saw it (the value is not kept: requests may be 50 MB).
struct SeenReply {
  std::int64_t id = -1;  // from processInstanceId; -1 when the header is missing or not ours
  int partition = 0;
  std::int64_t offset = 0;
  std::int64_t timestamp_ms = 0;  // when the broker appended it (the reply topic uses LogAppendTime)
  std::string key;
  bool error = false;       // an error reply (`errorMessage` in the body)
  bool headers_ok = false;  // processInstanceUuid and the test's marker header came back
};

// Reads every partition of the reply topic from the beginning on its own thread.
class ReplyLog {
 public:
  ReplyLog(const std::string& bootstrap, const std::string& topic, int partitions);
  ~ReplyLog();
  ReplyLog(const ReplyLog&) = delete;
  ReplyLog& operator=(const ReplyLog&) = delete;
  std::vector<SeenReply> replies() const;
  std::size_t distinct() const;
  // Until every record on the topic now has been read; false on timeout.
  bool catch_up(milliseconds timeout) const;

 private:
  struct State;
  std::unique_ptr<State> s_;
};

// The connector group's committed offsets of the input topic, then the reply topic's high
// watermarks, read together every 500 ms. A commit promises that every request below it has been
// answered: its reply must lie below the watermarks read after the commit.
struct CommitSnapshot {
  std::int64_t at_ms = 0;
  std::vector<std::int64_t> committed;   // per input partition, -1 when none
  std::vector<std::int64_t> reply_high;  // per reply partition
};

class CommitWatch {
 public:
  CommitWatch(const std::string& bootstrap, const std::string& group, const std::string& input, int input_partitions,
              const std::string& reply, int reply_partitions);
  ~CommitWatch();
  CommitWatch(const CommitWatch&) = delete;
  CommitWatch& operator=(const CommitWatch&) = delete;
  std::vector<CommitSnapshot> snapshots() const;
  void stop();

 private:
  struct State;
  std::unique_ptr<State> s_;
};

// What became of every request of a run.
struct Outcome {
  std::string scenario;
  std::size_t requests = 0;     // delivered to the input topic
  std::size_t undelivered = 0;  // the load generator could not deliver (not requests)
  std::size_t lost = 0;         // never answered
  std::size_t duplicates = 0;   // replies beyond the first, summed
  std::size_t answered_twice_or_more = 0;
  std::size_t order_violations = 0;   // replies whose request came before the key's previous reply's
  std::size_t commit_violations = 0;  // requests below a commit whose reply was not yet written
  std::size_t error_replies = 0;      // requests with an error reply (`errorMessage`), first or later
  std::size_t foreign_replies = 0;    // replies not matching a request (a header lost or changed)
  std::size_t commit_snapshots = 0;   // commit snapshots checked (0 would make commit_violations vacuous)
  double max_latency_s = 0;           // request sent -> first reply produced
  double p99_latency_s = 0;
  double recovery_s = 0;   // fault start -> the last reply slower than 1 s
  double peak_rss_mb = 0;  // the connectors' largest VmHWM
  double seconds = 0;      // the run's length
  std::string notes;

  std::string line() const;           // `chaos: scenario=... requests=... lost=...` (one line)
  static std::string table_header();  // the Markdown table of docs/reliability.md
  std::string table_row() const;
};

// The accounting itself (pure, unit-tested): `fault_start_ms` anchors the recovery time.
Outcome account(const std::vector<SentRequest>& sent, const std::vector<SeenReply>& replies,
                const std::vector<CommitSnapshot>& snapshots, std::int64_t fault_start_ms);

// A connector process (`fxconnect run`: the echo handler with a 50 ms delay) in a fault run.
class Connector {
 public:
  // `bootstrap` is the proxied list for a connector the faults must reach, else the direct one.
  Connector(std::string name, std::string yaml, std::string dir);
  ~Connector();
  void start();
  bool wait_assigned(milliseconds timeout);  // until it logged "partitions assigned"
  void kill();                               // SIGKILL, reaped
  int terminate(milliseconds timeout);       // SIGTERM; exit code (or -1)
  bool running();
  double peak_rss_mb() const;                                  // VmHWM of the current process (0 when gone)
  double max_peak_rss_mb() const { return max_peak_rss_mb_; }  // over every process it ran
  pid_t pid() const { return process_ ? process_->pid() : -1; }
  std::string log() const;

 private:
  std::string name_, yaml_path_, log_dir_;
  int run_ = 0;
  std::unique_ptr<testing::ChildProcess> process_;
  double max_peak_rss_mb_ = 0;
};

// A connector config for the fault runs: echo with `delay`, group `group`, extra librdkafka
// `properties` (YAML flow-map entries, e.g. "session.timeout.ms: '6000'").
std::string connector_yaml(const std::string& bootstrap, const std::string& group, const std::string& input,
                           const std::string& reply, const std::string& delay = "50ms",
                           const std::string& properties = "");

// The scenarios of issue 11; `short_form` sizes them for the test tier, otherwise for the record.
struct ScenarioOptions {
  bool short_form = true;
  double rate = 200;  // requests per second
  int keys = 1000;
  int partitions = 6;                                // of the input and the reply topic
  std::function<void(const std::string&)> progress;  // one line at each step (default: stderr)
};

std::vector<std::string> scenario_names();  // in the order of the issue
// Whether the guarantee allows duplicates in the scenario (at-least-once after a crash or a lost
// session); elsewhere every request must be answered exactly once.
bool duplicates_allowed(const std::string& scenario);
// Runs one scenario on a healed cluster and heals it again afterwards. Throws on a setup failure
// (unknown name, a connector that never got partitions); the outcome's figures are for the caller
// to judge.
Outcome run_scenario(Cluster& cluster, const std::string& name, const ScenarioOptions& options);

// The soak: the load at `rate` for `duration` with a fault from the list every `fault_every`
// (chosen at random, each healed before the next), RSS and open fds of the connectors sampled every
// 10 s (`samples` gets one line each).
// The connector's maximum rate here: `requests` pre-filled, drained by one connector (echo 50 ms,
// defaults), answered per second.
double measure_max_rate(Cluster& cluster, const ScenarioOptions& options, std::size_t requests);

struct SoakSample {
  double at_s = 0;
  double rss_mb = 0;
  int fds = 0;
  std::string fault;
};
Outcome run_soak(Cluster& cluster, seconds duration, seconds fault_every, const ScenarioOptions& options,
                 std::vector<SoakSample>& samples);

}  // namespace fxconnect::faults
