// A process definition for the engine simulator: the nodes a FLOWX process runs between start
// and end, as the modeller draws them (send → receive → gateway → ...). docs/engine.md describes
// the file format.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <boost/json/value.hpp>

namespace fxconnect::engine {

// A message send task: publishes `message` (a JSON template with ${path} placeholders over the
// process data) to `topic`, with the engine's headers plus `headers` (templates too).
struct SendNode {
  std::string name;
  std::string topic;
  boost::json::value message;
  std::vector<std::pair<std::string, std::string>> headers;
};

// A receive message task: waits for the reply on `topic` and stores its whole body under `key`
// in the process data. No reply within `timeout`: the instance times out.
struct ReceiveNode {
  std::string name;
  std::string topic;
  std::string key;
  std::chrono::milliseconds timeout{30'000};
};

// An exclusive gateway on the process data: the first condition that holds ends the instance on
// its branch; none holds → the process goes on.
struct GatewayNode {
  enum class End { error, ok };
  struct Branch {
    std::string present;  // path that must exist (and not be null)
    End end = End::error;
  };
  std::string name;
  std::vector<Branch> branches;
};

using Node = std::variant<SendNode, ReceiveNode, GatewayNode>;

struct ProcessDefinition {
  std::string name;
  std::string source;  // the file
  std::string engine_pattern = "ai.flowx.dev.engine.receive.*";
  boost::json::object sample_data;
  std::vector<Node> nodes;

  // Receive topics, each once, in node order.
  std::vector<std::string> receive_topics() const;
  std::vector<std::string> send_topics() const;
};

// Parses and validates; throws ConfigError listing every problem with file:line:column.
ProcessDefinition parse_definition(const std::string& yaml, const std::string& source);
ProcessDefinition load_definition(const std::string& path);

// ISO 8601 durations as the modeller writes timeouts: PT30S, PT1M30S, PT0.5S, P1DT2H.
// nullopt when `text` is not one.
std::optional<std::chrono::milliseconds> parse_iso_duration(std::string_view text);

}  // namespace fxconnect::engine
