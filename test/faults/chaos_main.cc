// fxc_chaos: the fault suite's long form and soak, for docs/reliability.md (run by scripts/chaos.sh,
// which starts the three-node cluster and Toxiproxy and exports FXC_KAFKA3_* / FXC_TOXIPROXY_URL).
//
//   fxc_chaos [--short] [--rate R] [--keys K] [--scenario NAME]...    each scenario (default: all, long
//                                                                     form), one `chaos:` line each,
//                                                                     then the Markdown table
//   fxc_chaos --soak 30m [--fault-every 60s] [--rate R]                the soak; R defaults to half of
//                                                                     the measured maximum rate
// Exit status: 0 when every run lost nothing, kept per-key order, never committed past an unanswered
// request and duplicated only where the guarantee allows; 1 otherwise; 2 on bad arguments.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/duration.h"
#include "harness.h"

using namespace fxconnect::faults;

namespace {

int usage(const std::string& problem) {
  std::fprintf(stderr,
               "fxc_chaos: %s\nusage: fxc_chaos [--short] [--rate R] [--keys K] [--scenario NAME]...\n"
               "       fxc_chaos --soak DURATION [--fault-every DURATION] [--rate R]\nscenarios:",
               problem.c_str());
  for (const auto& n : scenario_names()) std::fprintf(stderr, " %s", n.c_str());
  std::fprintf(stderr, "\n");
  return 2;
}

bool judge(const Outcome& o, bool duplicates_ok) {
  return o.lost == 0 && o.commit_violations == 0 && o.order_violations == 0 && o.foreign_replies == 0 &&
         o.error_replies == 0 && o.commit_snapshots > 0 && (duplicates_ok || o.duplicates == 0);
}

std::optional<std::chrono::seconds> seconds_of(const std::string& text) {
  auto d = fxconnect::core::parse_duration(text);
  if (!d) return std::nullopt;
  return std::chrono::duration_cast<std::chrono::seconds>(*d);
}

}  // namespace

int main(int argc, char** argv) {
  ScenarioOptions options;
  options.short_form = false;
  std::vector<std::string> scenarios;
  std::optional<std::chrono::seconds> soak;
  std::chrono::seconds fault_every(60);
  double rate = 0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--short") {
      options.short_form = true;
    } else if (a == "--rate") {
      rate = std::atof(value().c_str());
      if (rate <= 0) return usage("--rate takes a positive number of requests per second");
    } else if (a == "--keys") {
      options.keys = std::atoi(value().c_str());
      if (options.keys <= 0) return usage("--keys takes a positive number");
    } else if (a == "--scenario") {
      scenarios.push_back(value());
    } else if (a == "--soak") {
      soak = seconds_of(value());
      if (!soak || soak->count() <= 0) return usage("--soak takes a duration such as 30m");
    } else if (a == "--fault-every") {
      auto d = seconds_of(value());
      if (!d || d->count() < 20) return usage("--fault-every takes a duration of 20s or more");
      fault_every = *d;
    } else {
      return usage("unknown argument '" + a + "'");
    }
  }
  auto env = ClusterEnv::from_env();
  if (!env)
    return usage(
        "FXC_KAFKA3_BOOTSTRAP, _PROXIED, _UPSTREAMS, _DIR and FXC_TOXIPROXY_URL must be set (scripts/chaos.sh does)");
  for (const auto& s : scenarios) {
    bool known = false;
    for (const auto& n : scenario_names()) known = known || n == s;
    if (!known) return usage("unknown scenario '" + s + "'");
  }
  Cluster cluster(*env);
  bool ok = true;
  if (soak) {
    if (rate <= 0) {
      double max = measure_max_rate(cluster, options, 60'000);
      rate = max / 2;
      std::printf("chaos: max_rate=%.0f requests/s (60000 pre-filled, one connector, echo 50ms); soak at %.0f/s\n", max,
                  rate);
    }
    options.rate = rate;
    std::vector<SoakSample> samples;
    auto o = run_soak(cluster, *soak, fault_every, options, samples);
    std::printf("chaos: soak samples (connector B, every 10 s): at_s rss_mb fds fault\n");
    for (const auto& s : samples)
      std::printf("chaos: sample %.0f %.1f %d %s\n", s.at_s, s.rss_mb, s.fds, s.fault.empty() ? "-" : s.fault.c_str());
    std::printf("%s\n%s\n%s\n", o.line().c_str(), Outcome::table_header().c_str(), o.table_row().c_str());
    ok = judge(o, true);
  } else {
    if (rate > 0) options.rate = rate;
    if (scenarios.empty()) scenarios = scenario_names();
    std::vector<Outcome> outcomes;
    for (const auto& s : scenarios) {
      outcomes.push_back(run_scenario(cluster, s, options));
      std::printf("%s\n", outcomes.back().line().c_str());
      std::fflush(stdout);
      ok = judge(outcomes.back(), duplicates_allowed(s)) && ok;
    }
    std::printf("%s\n", Outcome::table_header().c_str());
    for (const auto& o : outcomes) std::printf("%s\n", o.table_row().c_str());
  }
  std::printf("chaos: %s\n", ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}
