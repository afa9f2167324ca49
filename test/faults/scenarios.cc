// The scenarios of issue 11 on the harness: each one a steady load through echo connectors (50 ms)
// with one kind of fault in the middle, then every request accounted for.
#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <stdexcept>
#include <stop_token>
#include <thread>

#include <fmt/format.h>

#include "harness.h"
#include "kafka_test_client.h"

namespace fxconnect::faults {

namespace {

using Steady = std::chrono::steady_clock;

void sleep_for(milliseconds d) { std::this_thread::sleep_for(d); }

// What a scenario needs while it runs.
struct Run {
  Cluster& cluster;
  const ScenarioOptions& options;
  std::string name, suffix, input, reply, group, dir;
  std::vector<std::unique_ptr<Connector>> connectors;
  std::function<void(const std::string&)> say;

  Connector& add(const std::string& tag, bool proxied, const std::string& properties = "") {
    auto yaml = connector_yaml(proxied ? cluster.proxied_bootstrap() : cluster.env().bootstrap, group, input, reply,
                               "50ms", properties);
    connectors.push_back(std::make_unique<Connector>(tag, yaml, dir));
    return *connectors.back();
  }
};

struct Spec {
  // Connectors to start (added to the run); the first is the one faults aim at.
  std::function<void(Run&)> connectors;
  // The fault itself: blocks for its whole length and ends with everything healed that the
  // scenario is about (a node restarted, the network back).
  std::function<void(Run&)> fault;
  // Duplicates are part of the guarantee here (at-least-once after a crash or a lost session).
  bool duplicates_allowed = false;
};

milliseconds pick(const ScenarioOptions& o, milliseconds short_form, milliseconds long_form) {
  return o.short_form ? short_form : long_form;
}

void restart_leader_of(Run& run, const std::string& topic, const char* what) {
  int node = run.cluster.leader_of(topic, 0);
  if (node < 1) throw std::runtime_error(fmt::format("no leader for {} partition 0", what));
  run.say(fmt::format("killing node {} (leader of {} partition 0) with SIGKILL", node, what));
  run.cluster.kill_node(node);
  sleep_for(seconds(10));
  run.say(fmt::format("restarting node {}", node));
  run.cluster.start_node(node);
}

void cut(Run& run, milliseconds length) {
  run.say(fmt::format("cutting connector A from every broker for {} s", length.count() / 1000));
  for (int n = 1; n <= run.cluster.nodes(); ++n) run.cluster.toxiproxy().enable(run.cluster.proxy(n), false);
  sleep_for(length);
  for (int n = 1; n <= run.cluster.nodes(); ++n) run.cluster.toxiproxy().enable(run.cluster.proxy(n), true);
  run.say("network back");
}

std::map<std::string, Spec> specs() {
  std::map<std::string, Spec> s;
  auto one_proxied = [](Run& run) { run.add("a", true); };

  s["leader-kill-input"] = {one_proxied, [](Run& run) { restart_leader_of(run, run.input, "the input topic"); }};
  s["leader-kill-reply"] = {one_proxied, [](Run& run) { restart_leader_of(run, run.reply, "the reply topic"); }};
  s["rolling-restart"] = {one_proxied, [](Run& run) {
                            for (int n = 1; n <= run.cluster.nodes(); ++n) {
                              run.say(fmt::format("rolling restart: stopping node {} (SIGTERM)", n));
                              run.cluster.stop_node(n);
                              run.cluster.start_node(n);
                              run.say(fmt::format("rolling restart: node {} back", n));
                              sleep_for(pick(run.options, seconds(5), seconds(20)));
                            }
                          }};
  // A through the proxies, B direct: A's partitions must go to B when A's session ends.
  auto a_and_b = [](const std::string& a_properties) {
    return [a_properties](Run& run) {
      run.add("a", true, a_properties);
      run.add("b", false);
    };
  };
  s["cut-5s"] = {a_and_b(""), [](Run& run) { cut(run, seconds(5)); }};
  // The short form scales A's timeouts down so that 30 s is past them as 3 min is past the
  // defaults (session.timeout.ms 45 s, message.timeout.ms 120 s): its session ends (partitions
  // lost, taken over by B) and the replies it had queued time out, the same paths as in cut-3m.
  // The long form keeps the defaults: 30 s is within the session, nothing moves.
  s["cut-30s"] = {[](Run& run) {
                    run.add("a", true,
                            run.options.short_form ? "session.timeout.ms: '10000', message.timeout.ms: '15000'" : "");
                    run.add("b", false);
                  },
                  [](Run& run) { cut(run, seconds(30)); }, true};
  s["cut-3m"] = {a_and_b(""), [](Run& run) { cut(run, seconds(180)); }, true};
  s["slow-broker"] = {one_proxied, [](Run& run) {
                        auto& tp = run.cluster.toxiproxy();
                        auto proxy = run.cluster.proxy(1);
                        run.say("node 1: 500 ms latency and 1 MB/s each way");
                        tp.add_latency(proxy, 500, 0, "downstream");
                        tp.add_bandwidth(proxy, 1024);
                        sleep_for(pick(run.options, seconds(30), seconds(120)));
                        tp.reset();
                        run.say("node 1 back to normal");
                      }};
  // Two members; A killed with SIGKILL and restarted every 10 s. A short session lets the group
  // notice each dead member in seconds (with the default 45 s, the partitions of every killed
  // member would wait that long).
  s["kill-loop"] = {[](Run& run) {
                      run.add("a", false, "session.timeout.ms: '6000'");
                      run.add("b", false, "session.timeout.ms: '6000'");
                    },
                    [](Run& run) {
                      auto end = Steady::now() + pick(run.options, seconds(40), seconds(120));
                      int kills = 0;
                      while (Steady::now() < end) {
                        sleep_for(seconds(10));
                        run.connectors[0]->kill();
                        ++kills;
                        run.connectors[0]->start();
                      }
                      run.say(fmt::format("connector A killed with SIGKILL and restarted {} times", kills));
                    },
                    true};
  s["big-requests"] = {one_proxied, [](Run& run) { sleep_for(pick(run.options, seconds(20), seconds(60))); }};
  return s;
}

}  // namespace

std::vector<std::string> scenario_names() {
  return {"leader-kill-input", "leader-kill-reply", "rolling-restart", "cut-5s", "cut-30s", "cut-3m",
          "slow-broker",       "kill-loop",         "big-requests"};
}

bool duplicates_allowed(const std::string& scenario) {
  auto all = specs();
  auto it = all.find(scenario);
  return it != all.end() && it->second.duplicates_allowed;
}

// A line of progress every `every` while a scenario's load runs (chaos.sh's output is a log, not
// a terminal: plain lines), from a thread of its own; stopped and joined when it goes out of scope.
class Ticker {
 public:
  Ticker(milliseconds every, std::function<void()> tick)
      : thread_([every, tick = std::move(tick)](const std::stop_token& stop) {
          std::mutex m;
          std::condition_variable_any cv;
          std::unique_lock lock(m);
          while (!cv.wait_for(lock, stop, every, [&stop] { return stop.stop_requested(); })) tick();
        }) {}

 private:
  std::jthread thread_;
};

Outcome run_scenario(Cluster& cluster, const std::string& name, const ScenarioOptions& options) {
  auto all = specs();
  auto it = all.find(name);
  if (it == all.end()) throw std::invalid_argument("unknown scenario '" + name + "'");
  Spec spec = it->second;
  auto suffix = testing::unique_suffix();
  Run run{cluster,
          options,
          name,
          suffix,
          "ai.flowx.dev.plugin.chaos.in." + name + "." + suffix,
          "ai.flowx.dev.engine.receive.chaos.out." + name + "." + suffix,
          "fxc-chaos-" + name + "-" + suffix,
          std::string(FXC_TEST_TMP_DIR) + "/chaos/" + name + "." + suffix,
          {},
          options.progress ? options.progress
                           : [](const std::string& s) { std::fprintf(stderr, "chaos: %s\n", s.c_str()); }};
  auto begin = Steady::now();
  auto print = run.say;
  auto say = [&, print](const std::string& what) {
    print(fmt::format("[{} +{:.0f}s] {}", name, std::chrono::duration<double>(Steady::now() - begin).count(), what));
  };
  run.say = say;

  cluster.heal();
  cluster.create_topic(run.input, options.partitions);
  cluster.create_topic(run.reply, options.partitions, true);
  spec.connectors(run);
  ReplyLog replies(cluster.env().bootstrap, run.reply, options.partitions);
  CommitWatch watch(cluster.env().bootstrap, run.group, run.input, options.partitions, run.reply, options.partitions);
  for (auto& c : run.connectors) c->start();
  for (auto& c : run.connectors) {
    if (!c->wait_assigned(seconds(90))) throw std::runtime_error("a connector got no partitions:\n" + c->log());
  }

  Load::Options lo{cluster.env().bootstrap, run.input, options.keys, options.rate, {}};
  auto warmup = pick(options, seconds(10), seconds(30));
  if (name == "big-requests") {
    // 1, 10 and 50 MB requests among the small ones, spread over the fault window.
    auto first = static_cast<std::int64_t>(options.rate * static_cast<double>(warmup.count()) / 1000.0);
    int rounds = options.short_form ? 1 : 4;
    auto step = static_cast<std::int64_t>(options.rate * 4);  // one every ~4 s
    std::map<std::int64_t, std::size_t> big;
    for (int r = 0; r < rounds; ++r) {
      big[first + step * (3 * r + 0)] = 1'000'000;
      big[first + step * (3 * r + 1)] = 10'000'000;
      big[first + step * (3 * r + 2)] = 50'000'000;
    }
    lo.body_bytes = [big](std::int64_t id) {
      auto b = big.find(id);
      return b == big.end() ? std::size_t{0} : b->second;
    };
  }
  Load load(lo);
  load.start();
  say(fmt::format("load: {:.0f} requests/s over {} keys, {} connector(s)", options.rate, options.keys,
                  run.connectors.size()));
  std::size_t last_answered = 0;
  auto last_tick = Steady::now();
  Ticker ticker(seconds(5), [&] {
    auto answered = replies.distinct();
    auto now = Steady::now();
    say(fmt::format("progress: {} sent, {} answered, {:.0f} answers/s", load.sent_count(), answered,
                    static_cast<double>(answered - std::min(answered, last_answered)) /
                        std::chrono::duration<double>(now - last_tick).count()));
    last_answered = answered;
    last_tick = now;
  });
  sleep_for(warmup);
  auto fault_start = now_ms();
  say("fault");
  spec.fault(run);
  sleep_for(pick(options, seconds(15), seconds(60)));
  load.stop();
  auto sent = load.sent();
  std::size_t delivered = std::count_if(sent.begin(), sent.end(), [](const auto& s) { return s.offset >= 0; });
  say(fmt::format("load stopped: {} requests sent; waiting for their replies", delivered));
  auto drain_end = Steady::now() + pick(options, seconds(180), seconds(420));
  while (replies.distinct() < delivered && Steady::now() < drain_end) sleep_for(milliseconds(200));
  say(fmt::format("{} of {} answered; stopping the connectors", replies.distinct(), delivered));

  Outcome o;
  double peak = 0;
  for (auto& c : run.connectors) {
    peak = std::max(peak, c->peak_rss_mb());
    int code = c->terminate(seconds(60));
    peak = std::max(peak, c->max_peak_rss_mb());
    if (code != 0) o.notes += fmt::format("a connector exited {} at SIGTERM; ", code);
  }
  if (!replies.catch_up(seconds(120))) o.notes += "the reply reader did not catch up; ";
  watch.stop();
  auto notes = o.notes;
  o = account(sent, replies.replies(), watch.snapshots(), fault_start);
  o.notes = notes;
  o.scenario = name;
  o.peak_rss_mb = peak;
  o.seconds = std::chrono::duration<double>(Steady::now() - begin).count();
  if (o.lost > 0 || o.commit_violations > 0 || (!spec.duplicates_allowed && o.duplicates > 0)) {
    for (auto& c : run.connectors)
      say("connector log (last 4000 bytes):\n" + c->log().substr(c->log().size() > 4000 ? c->log().size() - 4000 : 0));
  }
  cluster.heal();
  say(o.line());
  return o;
}

}  // namespace fxconnect::faults

namespace fxconnect::faults {

namespace {

// RSS (MB) and open file descriptors of a process, or nothing when it is gone.
std::optional<std::pair<double, int>> sample(pid_t pid) {
  std::ifstream status(fmt::format("/proc/{}/status", pid));
  if (!status) return std::nullopt;
  double rss = 0;
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) rss = std::strtod(line.c_str() + 6, nullptr) / 1024.0;
  }
  int fds = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(fmt::format("/proc/{}/fd", pid), ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
    ++fds;
  return std::make_pair(rss, fds);
}

}  // namespace

double measure_max_rate(Cluster& cluster, const ScenarioOptions& options, std::size_t requests) {
  auto suffix = testing::unique_suffix();
  auto input = "ai.flowx.dev.plugin.chaos.in.max." + suffix;
  auto reply = "ai.flowx.dev.engine.receive.chaos.out.max." + suffix;
  cluster.create_topic(input, options.partitions);
  cluster.create_topic(reply, options.partitions);
  {
    Load load({cluster.env().bootstrap, input, options.keys, 1e9, {}});
    load.start();
    while (load.sent_count() < requests) std::this_thread::sleep_for(milliseconds(20));
    load.stop();
  }
  ReplyLog replies(cluster.env().bootstrap, reply, options.partitions);
  Connector c("max", connector_yaml(cluster.env().bootstrap, "fxc-chaos-max-" + suffix, input, reply),
              std::string(FXC_TEST_TMP_DIR) + "/chaos/max." + suffix);
  c.start();
  if (!c.wait_assigned(seconds(90))) throw std::runtime_error("the connector got no partitions:\n" + c.log());
  auto begin = std::chrono::steady_clock::now();
  auto end = begin + seconds(300);
  while (replies.distinct() < requests && std::chrono::steady_clock::now() < end)
    std::this_thread::sleep_for(milliseconds(50));
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  auto answered = replies.distinct();
  c.terminate(seconds(60));
  return static_cast<double>(answered) / elapsed;
}

Outcome run_soak(Cluster& cluster, seconds duration, seconds fault_every, const ScenarioOptions& options,
                 std::vector<SoakSample>& samples) {
  auto suffix = testing::unique_suffix();
  ScenarioOptions o = options;
  Run run{cluster,
          o,
          "soak",
          suffix,
          "ai.flowx.dev.plugin.chaos.in.soak." + suffix,
          "ai.flowx.dev.engine.receive.chaos.out.soak." + suffix,
          "fxc-chaos-soak-" + suffix,
          std::string(FXC_TEST_TMP_DIR) + "/chaos/soak." + suffix,
          {},
          {}};
  auto begin = Steady::now();
  auto progress = options.progress ? options.progress
                                   : [](const std::string& s) { std::fprintf(stderr, "chaos: %s\n", s.c_str()); };
  run.say = [&](const std::string& what) {
    progress(fmt::format("[soak +{:.0f}s] {}", std::chrono::duration<double>(Steady::now() - begin).count(), what));
  };
  cluster.heal();
  cluster.create_topic(run.input, o.partitions);
  cluster.create_topic(run.reply, o.partitions, true);
  // A through the proxies (network faults and kills aim at it), B direct and never killed: its RSS
  // and descriptors are the flat line to watch.
  run.add("a", true, "session.timeout.ms: '10000'");
  run.add("b", false, "session.timeout.ms: '10000'");
  ReplyLog replies(cluster.env().bootstrap, run.reply, o.partitions);
  CommitWatch watch(cluster.env().bootstrap, run.group, run.input, o.partitions, run.reply, o.partitions);
  for (auto& c : run.connectors) {
    c->start();
    if (!c->wait_assigned(seconds(90))) throw std::runtime_error("a connector got no partitions:\n" + c->log());
  }
  Load load({cluster.env().bootstrap, run.input, o.keys, o.rate, {}});
  load.start();
  run.say(fmt::format("load: {:.0f} requests/s for {} s, a fault every {} s", o.rate, duration.count(),
                      fault_every.count()));

  // The faults, each over well before the next one.
  std::vector<std::pair<std::string, std::function<void(Run&)>>> faults{
      {"leader-kill-input", [](Run& r) { restart_leader_of(r, r.input, "the input topic"); }},
      {"leader-kill-reply", [](Run& r) { restart_leader_of(r, r.reply, "the reply topic"); }},
      {"node-restart",
       [](Run& r) {
         int n = 1 + static_cast<int>(now_ms() % r.cluster.nodes());
         r.cluster.stop_node(n);
         r.cluster.start_node(n);
       }},
      {"cut-5s", [](Run& r) { cut(r, seconds(5)); }},
      {"cut-30s", [](Run& r) { cut(r, seconds(30)); }},
      {"slow-broker",
       [](Run& r) {
         r.cluster.toxiproxy().add_latency(r.cluster.proxy(1), 500, 0, "downstream");
         r.cluster.toxiproxy().add_bandwidth(r.cluster.proxy(1), 1024);
         sleep_for(seconds(30));
         r.cluster.toxiproxy().reset();
       }},
      {"kill-9-a",
       [](Run& r) {
         r.connectors[0]->kill();
         r.connectors[0]->start();
       }},
  };
  std::mt19937 random(static_cast<unsigned>(now_ms()));
  std::atomic<bool> stop{false};
  std::mutex fault_mutex;
  std::string current_fault;
  std::thread sampler([&] {
    while (!stop) {
      SoakSample s;
      s.at_s = std::chrono::duration<double>(Steady::now() - begin).count();
      {
        std::lock_guard lock(fault_mutex);
        s.fault = current_fault;
      }
      if (auto b = sample(run.connectors[1]->pid())) {
        s.rss_mb = b->first;
        s.fds = b->second;
      }
      samples.push_back(s);
      run.say(fmt::format("sample: connector B rss={:.1f}MB fds={} answered={} fault={}", s.rss_mb, s.fds,
                          replies.distinct(), s.fault.empty() ? "-" : s.fault));
      for (int i = 0; i < 100 && !stop; ++i) sleep_for(milliseconds(100));
    }
  });
  auto end = begin + duration;
  auto first_fault = now_ms();
  while (Steady::now() + fault_every <= end) {
    auto next = Steady::now() + fault_every;
    auto& [name, fault] = faults[random() % faults.size()];
    {
      std::lock_guard lock(fault_mutex);
      current_fault = name;
    }
    run.say("fault: " + name);
    fault(run);
    {
      std::lock_guard lock(fault_mutex);
      current_fault.clear();
    }
    cluster.heal();
    std::this_thread::sleep_until(next);
  }
  std::this_thread::sleep_until(end);
  load.stop();
  auto sent = load.sent();
  std::size_t delivered = std::count_if(sent.begin(), sent.end(), [](const auto& s) { return s.offset >= 0; });
  auto drain_end = Steady::now() + seconds(420);
  while (replies.distinct() < delivered && Steady::now() < drain_end) sleep_for(milliseconds(200));
  stop = true;
  sampler.join();
  Outcome out;
  double peak = 0;
  for (auto& c : run.connectors) {
    peak = std::max(peak, c->peak_rss_mb());
    if (int code = c->terminate(seconds(60)); code != 0) out.notes += fmt::format("a connector exited {}; ", code);
    peak = std::max(peak, c->max_peak_rss_mb());
  }
  if (!replies.catch_up(seconds(120))) out.notes += "the reply reader did not catch up; ";
  watch.stop();
  auto notes = out.notes;
  out = account(sent, replies.replies(), watch.snapshots(), first_fault);
  out.notes = notes;
  out.scenario = "soak";
  out.peak_rss_mb = peak;
  out.seconds = std::chrono::duration<double>(Steady::now() - begin).count();
  cluster.heal();
  run.say(out.line());
  return out;
}

}  // namespace fxconnect::faults
