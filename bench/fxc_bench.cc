// Benchmark driver for scripts/bench.sh (figures, never pass/fail).
//
//   fxc_bench preload BOOTSTRAP TOPIC PARTITIONS COUNT KEYS BYTES [BODY_FILE]
//       creates TOPIC and fills it with COUNT JSON requests of about BYTES bytes (or BODY_FILE's
//       content, the same for each), with the engine's headers, over KEYS process instances (the
//       record key is the processInstanceUuid).
//   fxc_bench measure BOOTSTRAP REPLY_TOPIC COUNT TIMEOUT_S -- COMMAND...
//       creates REPLY_TOPIC, starts COMMAND, reads REPLY_TOPIC until COUNT replies arrived, stops
//       COMMAND (SIGTERM) and prints one JSON line: the replies' throughput over their own
//       timestamps (LogAppendTime: first to last appended by the broker, so start-up is not
//       counted), COMMAND's CPU time per reply and its peak resident memory; and, read from
//       /proc just before the SIGTERM, COMMAND's four busiest threads: name, seconds on a CPU and
//       seconds runnable but waiting for one (schedstat), beside life_s, the seconds it ran. A
//       thread whose run + wait is near life_s was never idle: that thread set the rate.
#include <librdkafka/rdkafka.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "core/records.h"
#include "kafka/client.h"

extern char** environ;

namespace {

using namespace fxconnect;

// `body`: the requests' body as is (every request the same), instead of the generated ~`bytes` one.
int preload(const std::string& bootstrap, const std::string& topic, int partitions, long count, long keys, long bytes,
            const std::string& body) {
  if (auto problems = kafka::create_topics(bootstrap, {topic}, partitions, std::chrono::seconds(30));
      !problems.empty()) {
    std::fprintf(stderr, "preload: %s\n", problems.front().c_str());
    return 1;
  }
  char err[512];
  kafka::ConfPtr conf(rd_kafka_conf_new());
  rd_kafka_conf_set(conf.get(), "bootstrap.servers", bootstrap.c_str(), err, sizeof err);
  rd_kafka_conf_set(conf.get(), "linger.ms", "20", err, sizeof err);
  rd_kafka_conf_set(conf.get(), "batch.size", "1000000", err, sizeof err);
  kafka::KafkaPtr producer(rd_kafka_new(RD_KAFKA_PRODUCER, conf.release(), err, sizeof err));
  std::string padding(static_cast<std::size_t>(std::max(0L, bytes - 200)), 'x');
  for (long i = 0; i < count; ++i) {
    long k = i % keys;
    std::string uuid = fmt::format("5c1f0a7e-0000-4000-8000-{:012d}", k);
    core::OutgoingRecord r{
        topic,
        uuid,
        {{"processInstanceUuid", uuid},
         {"processInstanceId", std::to_string(100000 + i)},
         {"fxContext", "main"},
         {"Fx-Build-App-Version-Id", "3f2a9c1e-7b4d-4e8a-9c2f-1d5e6a7b8c9d"},
         {"Fx-WorkspaceId", "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"},
         {"Fx-Organization-Id", "1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e"}},
        body.empty()
            ? fmt::format(R"({{"seq":{},"customer":{{"id":"C-{}","name":"Ana Pop"}},"padding":"{}"}})", i, k, padding)
            : body};
    for (;;) {
      auto e = kafka::produce(producer.get(), r, nullptr);
      if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_poll(producer.get(), 10);
        continue;
      }
      if (e) {
        std::fprintf(stderr, "preload: %s\n", rd_kafka_err2str(e));
        return 1;
      }
      break;
    }
    rd_kafka_poll(producer.get(), 0);
  }
  return rd_kafka_flush(producer.get(), 120'000) == RD_KAFKA_RESP_ERR_NO_ERROR ? 0 : 1;
}

struct ThreadTimes {
  std::string name;
  double run_s = 0;   // on a CPU
  double wait_s = 0;  // runnable, waiting for a CPU
};

// The threads of process `pid` from /proc/PID/task/*/{comm,schedstat}, busiest first (empty
// where /proc does not tell).
std::vector<ThreadTimes> thread_times(pid_t pid) {
  std::vector<ThreadTimes> out;
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator(fmt::format("/proc/{}/task", pid), ec)) {
    std::ifstream comm(task.path() / "comm"), sched(task.path() / "schedstat");
    ThreadTimes t;
    double run_ns = 0, wait_ns = 0;
    if (!std::getline(comm, t.name) || !(sched >> run_ns >> wait_ns)) continue;
    t.run_s = run_ns / 1e9;
    t.wait_s = wait_ns / 1e9;
    out.push_back(std::move(t));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.run_s > b.run_s; });
  return out;
}

// [["name",run_s,wait_s],...] of the `most` busiest threads (names are librdkafka's and ours:
// no quotes or backslashes to escape).
std::string threads_json(const std::vector<ThreadTimes>& threads, std::size_t most) {
  std::string out = "[";
  for (std::size_t i = 0; i < threads.size() && i < most; ++i) {
    out += fmt::format(R"({}["{}",{:.3f},{:.3f}])", i ? "," : "", threads[i].name, threads[i].run_s, threads[i].wait_s);
  }
  return out + "]";
}

int measure(const std::string& bootstrap, const std::string& topic, long count, int timeout_s, char** command) {
  // Broker time, set when a reply is appended (acknowledged), not when the producer was called.
  if (auto problems = kafka::create_topics(bootstrap, {topic}, 3, std::chrono::seconds(30),
                                           {{"message.timestamp.type", "LogAppendTime"}});
      !problems.empty()) {
    std::fprintf(stderr, "measure: %s\n", problems.front().c_str());
    return 1;
  }
  char err[512];
  kafka::ConfPtr conf(rd_kafka_conf_new());
  rd_kafka_conf_set(conf.get(), "bootstrap.servers", bootstrap.c_str(), err, sizeof err);
  rd_kafka_conf_set(conf.get(), "group.id", ("fxc-bench-reader-" + std::to_string(::getpid())).c_str(), err,
                    sizeof err);
  rd_kafka_conf_set(conf.get(), "auto.offset.reset", "earliest", err, sizeof err);
  rd_kafka_conf_set(conf.get(), "enable.auto.commit", "false", err, sizeof err);
  kafka::KafkaPtr consumer(rd_kafka_new(RD_KAFKA_CONSUMER, conf.release(), err, sizeof err));
  rd_kafka_poll_set_consumer(consumer.get());
  kafka::PartitionListPtr topics(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(topics.get(), topic.c_str(), RD_KAFKA_PARTITION_UA);
  rd_kafka_subscribe(consumer.get(), topics.get());

  pid_t pid = 0;
  if (posix_spawn(&pid, command[0], nullptr, nullptr, command, environ) != 0) {
    std::fprintf(stderr, "measure: cannot start %s\n", command[0]);
    return 1;
  }
  long got = 0;
  std::int64_t first_ts = INT64_MAX, last_ts = 0;
  const auto start = std::chrono::steady_clock::now();
  auto end = start + std::chrono::seconds(timeout_s);
  // Progress on stderr (stdout is the JSON figures): a line rewritten in place on a terminal,
  // else a plain line every 5 s.
  const bool tty = ::isatty(STDERR_FILENO) != 0;
  const auto every = tty ? std::chrono::milliseconds(500) : std::chrono::milliseconds(5000);
  auto next_progress = start + every;
  auto progress = [&](bool final) {
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::string line =
        fmt::format("bench: {}/{} replies, {:.0f}/s over {:.1f} s", got, count, s > 0 ? got / s : 0.0, s);
    std::fprintf(stderr, tty ? "\r\033[K%s%s" : "%s\n%s", line.c_str(), tty && final ? "\n" : "");
    std::fflush(stderr);
  };
  while (got < count && std::chrono::steady_clock::now() < end) {
    if (std::chrono::steady_clock::now() >= next_progress) {
      progress(false);
      next_progress += every;
    }
    kafka::MessagePtr m(rd_kafka_consumer_poll(consumer.get(), 100));
    if (!m || m->err) continue;
    rd_kafka_timestamp_type_t type;
    auto ts = rd_kafka_message_timestamp(m.get(), &type);
    first_ts = std::min(first_ts, ts);
    last_ts = std::max(last_ts, ts);
    ++got;
  }
  progress(true);
  const double life_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto threads = thread_times(pid);
  ::kill(pid, SIGTERM);
  int status = 0;
  struct rusage usage {};
  ::wait4(pid, &status, 0, &usage);
  rd_kafka_consumer_close(consumer.get());
  double cpu_s = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                 static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  double span_s = got > 1 ? static_cast<double>(last_ts - first_ts) / 1000.0 : 0;
  std::printf(
      R"({"replies":%ld,"expected":%ld,"span_s":%.3f,"msgs_per_s":%.1f,"cpu_s":%.3f,"cpu_us_per_msg":%.2f,"peak_rss_mb":%.1f,"exit":%d,"life_s":%.3f,"threads":%s})"
      "\n",
      got, count, span_s, span_s > 0 ? static_cast<double>(got - 1) / span_s : 0.0, cpu_s,
      got > 0 ? cpu_s * 1e6 / static_cast<double>(got) : 0.0, static_cast<double>(usage.ru_maxrss) / 1024.0,
      WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), life_s, threads_json(threads, 4).c_str());
  return got == count ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string cmd = argc > 1 ? argv[1] : "";
  if (cmd == "preload" && (argc == 8 || argc == 9)) {
    std::string body;
    if (argc == 9) {
      std::ifstream in(argv[8]);
      if (!in) {
        std::fprintf(stderr, "preload: cannot read %s\n", argv[8]);
        return 1;
      }
      body.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    return preload(argv[2], argv[3], std::stoi(argv[4]), std::stol(argv[5]), std::stol(argv[6]), std::stol(argv[7]),
                   body);
  }
  if (cmd == "measure" && argc >= 8 && std::string(argv[6]) == "--") {
    return measure(argv[2], argv[3], std::stol(argv[4]), std::stoi(argv[5]), argv + 7);
  }
  std::fprintf(stderr,
               "usage: fxc_bench preload BOOTSTRAP TOPIC PARTITIONS COUNT KEYS BYTES [BODY_FILE]\n"
               "       fxc_bench measure BOOTSTRAP REPLY_TOPIC COUNT TIMEOUT_S -- COMMAND...\n");
  return 2;
}
