// How the engine ties a reply to the receive node waiting for it: by processInstanceUuid,
// fxContext and topic (CONTRACT.md), and how it checks that the headers came back unchanged.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "fxconnect/message.h"

namespace fxconnect::engine {

struct CorrelationKey {
  std::string process_instance_uuid;
  std::string fx_context;
  std::string topic;
};

class Correlator {
 public:
  enum class Match {
    matched,    // a node was waiting for it
    duplicate,  // its node already had its reply
    late,       // its node had timed out
    unmatched,  // no node of this run ever waited for it
  };
  struct Outcome {
    Match match;
    std::uint64_t instance = 0;  // when matched
  };

  // A receive node of `instance` starts waiting.
  void expect(const CorrelationKey& key, std::uint64_t instance);
  // A reply arrived.
  Outcome take(const CorrelationKey& key);
  // The node stopped waiting (timeout): a reply arriving later is `late`.
  void expire(const CorrelationKey& key);
  std::size_t waiting() const { return waiting_.size(); }

 private:
  static std::string flat(const CorrelationKey& key);
  std::unordered_map<std::string, std::uint64_t> waiting_;
  std::unordered_set<std::string> answered_;
  std::unordered_set<std::string> expired_;
};

// Whether a header carries trace context, which a connector may rewrite (CONTRACT.md).
bool is_trace_header(std::string_view name);

// Whether every header the engine sent came back unchanged: each non-trace header of `sent`
// appears in `received` in the same order with the same bytes (a connector may add headers).
bool headers_came_back(const Headers& sent, const Headers& received);

}  // namespace fxconnect::engine
