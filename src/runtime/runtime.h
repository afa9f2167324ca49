// The connector runtime: consume engine requests, run the handler, reply, commit.
// See DESIGN.md ("The path of one message") for the parts and their order.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "config/config.h"
#include "fxconnect/handler.h"

namespace fxconnect::runtime {

// Exit codes of run() (and of `fxconnect run`).
enum ExitCode : int {
  exit_clean = 0,          // stopped on request; every consumed request answered and committed
  exit_fatal = 1,          // a Kafka client hit a fatal error; unanswered requests are redelivered
  exit_config = 2,         // the configuration was refused (reported before any I/O)
  exit_grace_expired = 75, // stopped, but work was unfinished at the grace period's end; it is
                           // redelivered on restart (EX_TEMPFAIL)
};

// Figures of one run, for the stop log line, tests and benchmarks.
struct RunStats {
  std::uint64_t consumed = 0;
  std::uint64_t replied_ok = 0;
  std::uint64_t replied_error = 0;
  std::uint64_t dead_lettered = 0;
  std::uint64_t produce_retries = 0;
  std::uint64_t undeliverable = 0;     // records that could never be written, given up
  std::uint64_t late_completions = 0;  // handler finished after its deadline reply
  std::uint64_t max_in_flight = 0;     // consumed, outcome not yet acknowledged
  double mean_in_flight = 0;           // time-weighted, over the time anything was in flight
  std::uint64_t max_handling = 0;      // in the handler (not waiting behind their key)
  double mean_handling = 0;            // time-weighted, over the same time
  double busy_seconds = 0;             // time anything was in flight
};

class Runtime {
 public:
  Runtime(config::ConnectorConfig config, std::unique_ptr<Handler> handler);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // Connects, serves until stopped, returns an ExitCode. Call once. Installs SIGTERM/SIGINT
  // handlers unless `handle_signals` is false (tests running several runtimes in one process).
  int run(bool handle_signals = true);
  // Graceful stop (same as SIGTERM); thread-safe, may be called before or during run().
  void request_stop();
  // Valid after run() returned.
  RunStats stats() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fxconnect::runtime
