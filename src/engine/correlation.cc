#include "engine/correlation.h"

namespace fxconnect::engine {

std::string Correlator::flat(const CorrelationKey& key) {
  std::string s;
  s.reserve(key.process_instance_uuid.size() + key.fx_context.size() + key.topic.size() + 2);
  s += key.process_instance_uuid;
  s += '\x1f';
  s += key.fx_context;
  s += '\x1f';
  s += key.topic;
  return s;
}

void Correlator::expect(const CorrelationKey& key, std::uint64_t instance) { waiting_[flat(key)] = instance; }

Correlator::Outcome Correlator::take(const CorrelationKey& key) {
  auto k = flat(key);
  if (auto it = waiting_.find(k); it != waiting_.end()) {
    Outcome out{Match::matched, it->second};
    waiting_.erase(it);
    answered_.insert(std::move(k));
    return out;
  }
  if (answered_.count(k)) return {Match::duplicate};
  if (expired_.count(k)) return {Match::late};
  return {Match::unmatched};
}

void Correlator::expire(const CorrelationKey& key) {
  auto k = flat(key);
  if (waiting_.erase(k)) expired_.insert(std::move(k));
}

bool is_trace_header(std::string_view name) {
  return name == "traceparent" || name == "tracestate" || name == "baggage" || name == "uber-trace-id" ||
         name.rfind("uberctx-", 0) == 0;
}

bool headers_came_back(const Headers& sent, const Headers& received) {
  auto it = received.begin();
  for (const auto& h : sent) {
    if (is_trace_header(h.name)) continue;
    while (it != received.end() && !(it->name == h.name && it->value == h.value)) ++it;
    if (it == received.end()) return false;
    ++it;
  }
  return true;
}

}  // namespace fxconnect::engine
