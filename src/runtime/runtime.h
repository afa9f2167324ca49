// The connector runtime: consume engine requests, run the handler, reply, commit.
// See docs/architecture.md for the parts; this class only wires them: the consumer and producer
// (kafka::Consumer / kafka::Producer), the partitions (Partitions), the intake bound (Intake),
// the request state machine (Requests) and what is reported about them (RequestObserver).
#pragma once

#include <functional>
#include <memory>

#include <boost/asio/io_context.hpp>

#include "config/config.h"
#include "fxconnect/handler.h"
#include "kafka/ports.h"
#include "runtime/observer.h"

namespace fxconnect::runtime {

// Exit codes of run() (and of `fxconnect run`).
enum ExitCode : int {
  exit_clean = 0,           // stopped on request; every consumed request answered and committed
  exit_fatal = 1,           // a Kafka client hit a fatal error, or the cluster could not be reached at
                            // startup; unanswered requests are redelivered
  exit_config = 2,          // the configuration was refused (before any I/O), or the reply or
                            // dead-letter topic is missing or cannot be written
  exit_grace_expired = 75,  // stopped, but work was unfinished at the grace period's end (or the
                            // final commit failed); it is redelivered on restart (EX_TEMPFAIL)
};

// How the runtime gets its Kafka clients: librdkafka's by default; fakes in tests.
struct KafkaClients {
  std::function<std::unique_ptr<kafka::Consumer>(boost::asio::io_context&, std::string subscription,
                                                 kafka::Consumer::Events)>
      consumer;
  std::function<std::unique_ptr<kafka::Producer>(boost::asio::io_context&, kafka::Producer::Events)> producer;
};
// kafka::Source and kafka::Replier for `config`.
KafkaClients librdkafka_clients(const config::ConnectorConfig& config);

class Runtime {
 public:
  Runtime(config::ConnectorConfig config, std::unique_ptr<Handler> handler);
  Runtime(config::ConnectorConfig config, std::unique_ptr<Handler> handler, KafkaClients clients);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // Connects, serves until stopped, returns an ExitCode. Call once. Installs SIGTERM/SIGINT
  // handlers unless `handle_signals` is false (tests running several runtimes in one process).
  // Throws ConfigError when the reply or dead-letter topic is missing or not authorized.
  int run(bool handle_signals = true);
  // Before run(): the steps of a declarative handler (src/flow/), on /metrics. Their figures are
  // written by the handler on the loop thread, where /metrics reads them.
  void add_flow_metrics(std::vector<std::shared_ptr<observability::FlowStepMetrics>> steps);
  // Graceful stop (same as SIGTERM); thread-safe, may be called before or during run().
  void request_stop();
  // Valid after run() returned.
  RunStats stats() const;
  // The readiness page's answer now ("ready" or "not ready: why"); thread-safe (for tests).
  std::string readiness();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fxconnect::runtime
