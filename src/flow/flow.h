// Declarative connectors: a connector config's `flow:` (validate → map → call → reply), compiled
// once at startup into a Handler. See docs/config.md (the `flow` keys) and README.md.
//
// A request's data is one JSON object: `request` (the body, numbers exact), `headers` (the
// request's headers by name, first value), `map` (what map steps computed) and one member per
// call's `as` name. Steps run in order on the runtime's loop thread (jq 1.6 is not thread-safe);
// only calls wait, without holding the thread. Every failure is the request's error reply: a flow
// cannot leave a request unanswered.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/json/value.hpp>

#include "config/config.h"
#include "fxconnect/handler.h"
#include "observability/metrics.h"

namespace fxconnect::flow {

// The clock and the UUID source of a flow (`now`, `uuid` fields); `fxconnect test` pins both.
struct Environment {
  std::function<std::chrono::system_clock::time_point()> now = [] { return std::chrono::system_clock::now(); };
  std::function<std::string()> uuid;  // empty: random version 4 UUIDs
};

// What one step did, for `fxconnect test --explain`.
struct StepTrace {
  std::string step;           // "map", "call:account"...
  boost::json::value input;   // the data before the step
  boost::json::value output;  // what it added (its map fields, the call's answer, the reply), or the error
  bool failed = false;
};
using Explain = std::function<void(const StepTrace&)>;

class Flow;

// Compiles the config's `flow:` and `lists:` (reading schemas and CSV files relative to the config
// file). Throws ConfigError listing every problem, each as `file:line:column: flow[2].call.system:
// what is wrong; what would be valid`.
std::shared_ptr<Flow> compile(const config::ConnectorConfig& config);

// The step metrics of `flow` (for /metrics), one per step.
std::vector<std::shared_ptr<observability::FlowStepMetrics>> step_metrics(const Flow& flow);

// A Handler that runs `flow` for each request.
std::unique_ptr<Handler> make_handler(std::shared_ptr<Flow> flow, Environment env = {}, Explain explain = {});

}  // namespace fxconnect::flow
