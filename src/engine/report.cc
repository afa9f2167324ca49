#include "engine/report.h"

#include <algorithm>
#include <cmath>
#include <string_view>

#include <fmt/format.h>

namespace fxconnect::engine {

LatencySummary summarize(std::vector<double> samples) {
  LatencySummary s;
  s.count = samples.size();
  if (samples.empty()) return s;
  std::sort(samples.begin(), samples.end());
  // Nearest rank: the smallest sample with at least q of all samples at or below it.
  auto at = [&](double q) {
    auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(samples.size())));
    return samples[std::clamp<std::size_t>(rank, 1, samples.size()) - 1];
  };
  s.p50 = at(0.5);
  s.p90 = at(0.9);
  s.p99 = at(0.99);
  s.p999 = at(0.999);
  s.max = samples.back();
  return s;
}

boost::json::object Summary::to_json() const {
  boost::json::object o;
  o["process"] = process;
  o["instances"] = instances;
  o["completed"] = completed;
  o["error_path"] = error_path;
  o["timed_out"] = timed_out;
  o["failed"] = failed;
  o["duplicates"] = duplicates;
  o["unmatched"] = unmatched;
  o["late"] = late;
  o["header_mismatches"] = header_mismatches;
  o["duration_s"] = duration_s;
  o["throughput_per_s"] = throughput_per_s;
  boost::json::object nodes;
  // A latency summary's percentiles, ms (the count beside them where it is not named otherwise).
  auto percentiles = [](const LatencySummary& l) {
    return boost::json::object{{"p50", l.p50}, {"p90", l.p90}, {"p99", l.p99}, {"p999", l.p999}, {"max", l.max}};
  };
  for (const auto& n : receive_nodes) {
    nodes[n.name] = boost::json::object{{"replies", n.latency.count}, {"latency_ms", percentiles(n.latency)}};
  }
  o["receive_nodes"] = std::move(nodes);
  auto share = [&](const LatencySummary& l) {
    auto j = percentiles(l);
    j["count"] = l.count;
    return j;
  };
  o["send_lag_ms"] = share(send_lag);
  o["reply_delay_ms"] = share(reply_delay);
  if (!trace_ids.empty()) {
    boost::json::array ids;
    for (const auto& id : trace_ids) ids.push_back(boost::json::string(id));
    o["trace_ids"] = std::move(ids);
  }
  return o;
}

std::string Summary::to_table() const {
  std::string t = fmt::format("process {}: {} instances in {:.2f} s, {:.1f} instances/s\n", process, instances,
                              duration_s, throughput_per_s);
  auto row = [&](const char* name, std::uint64_t v, const char* note) {
    t += fmt::format("  {:<18}{:>8}  {}\n", name, v, note);
  };
  row("completed", completed, "reached the end");
  row("error path", error_path, "ended on a gateway's error branch");
  row("timed out", timed_out, "no reply within a receive node's timeout");
  row("failed", failed, "could not be sent (template or produce error)");
  row("duplicates", duplicates, "replies for a node that already had one");
  row("unmatched", unmatched, "replies no node of this run waited for");
  row("late", late, "replies after their node timed out");
  row("header mismatches", header_mismatches, "replies whose headers did not come back unchanged");
  t += fmt::format("\n  {:<28}{:>8}{:>9}{:>9}{:>9}{:>9}{:>9}   (latency, ms)\n", "receive node", "replies", "p50",
                   "p90", "p99", "p99.9", "max");
  auto line = [&](std::string_view name, const LatencySummary& l) {
    t += fmt::format("  {:<28}{:>8}{:>9.2f}{:>9.2f}{:>9.2f}{:>9.2f}{:>9.2f}\n", name, l.count, l.p50, l.p90, l.p99,
                     l.p999, l.max);
  };
  for (const auto& n : receive_nodes) line(n.name, n.latency);
  // The simulator's own share: what of the latencies is neither the broker's nor the connector's.
  if (send_lag.count > 0) line("(sent after due: send lag)", send_lag);
  if (reply_delay.count > 0) line("(reply's timestamp -> taken)", reply_delay);
  return t;
}

}  // namespace fxconnect::engine
