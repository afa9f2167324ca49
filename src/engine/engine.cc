#include "engine/engine.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <unordered_map>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/uuid/random_generator.hpp>
#include <boost/uuid/uuid_io.hpp>

#include "config/config.h"
#include "core/records.h"
#include "core/template.h"
#include "engine/correlation.h"
#include "kafka/client.h"
#include "kafka/replier.h"
#include "kafka/source.h"
#include "observability/logging.h"
#include "observability/metrics.h"
#include "observability/tracer.h"

namespace fxconnect::engine {
using namespace core;  // NOLINT(google-build-using-namespace): templates are the engine's language
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

std::string new_uuid() {
  static thread_local boost::uuids::random_generator gen;
  return boost::uuids::to_string(gen());
}

enum class Status { running, completed, error_path, timed_out, failed };

std::string_view status_name(Status s) {
  switch (s) {
    case Status::running: return "running";
    case Status::completed: return "completed";
    case Status::error_path: return "error path";
    case Status::timed_out: return "timed out";
    case Status::failed: return "failed";
  }
  return "running";
}

struct Instance {
  Instance(std::uint64_t index, asio::io_context& io) : timeout(io) { vars.index = static_cast<std::int64_t>(index); }

  InstanceVars vars;
  json::value data;
  json::value before;         // kept only for instances to show
  std::size_t node = 0;       // next node to run
  Clock::time_point sent_at;  // when the last send node sent (open loop: when it was due)
  Headers sent_headers;       // of the last send, checked against the reply
  CorrelationKey waiting;     // of the receive node waiting now
  asio::steady_timer timeout;
  Status status = Status::running;
  std::optional<observability::TraceContext> trace;  // the instance's latest span, when tracing
  std::string trace_id;
};

class Simulator {
 public:
  Simulator(const ProcessDefinition& d, const EngineOptions& o)
      : def_(d), opt_(o), linger_timer_(io_), start_timer_(io_), progress_timer_(io_) {
    for (const auto& n : def_.nodes) {
      if (const auto* r = std::get_if<ReceiveNode>(&n)) latencies_[r->name];
    }
    // The identity of the application the process belongs to, one per run, per engine profile.
    auto names = opt_.profile == "4.x"
                     ? std::vector<std::string>{"Fx-AppId", "Fx-RootAppId", "Fx-BuildId"}
                     : std::vector<std::string>{"Fx-Build-App-Version-Id", "Fx-WorkspaceId", "Fx-Organization-Id"};
    for (auto& name : names) identity_.push_back(Header{std::move(name), new_uuid()});
    // processInstanceId grows across runs as in the engine's database, without a shared counter.
    first_id_ =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count() *
        1000;
  }

  RunResult run();

 private:
  void begin();
  void start_due_instances();
  void start_instance();
  void advance(Instance& inst);
  void on_reply(Request&& reply);
  void on_sent(std::uint64_t index, const std::string& error);
  void finish(Instance& inst, Status status);
  void print_progress(bool final);
  double since_first_send() const {
    return first_send_ == Clock::time_point{} ? 0 : ms_between(first_send_, Clock::now()) / 1000;
  }

  const ProcessDefinition& def_;
  const EngineOptions& opt_;
  asio::io_context io_{1};
  std::unique_ptr<kafka::Producer> producer_;
  std::unique_ptr<kafka::Consumer> consumer_;
  asio::steady_timer linger_timer_;
  asio::steady_timer start_timer_;
  asio::steady_timer progress_timer_;

  Headers identity_;
  std::int64_t first_id_ = 0;
  std::unordered_map<std::uint64_t, std::unique_ptr<Instance>> running_;
  Correlator correlator_;
  std::map<std::string, std::vector<double>> latencies_;
  std::vector<double> send_lags_;     // open loop: each instance's first send, ms after it was due
  std::vector<double> reply_delays_;  // each reply: ms from its record timestamp until taken
  // Every reply's latency (all receive nodes) for the progress line's p99: O(1) per tick
  // however long the run (the exact figures of the summary come from latencies_).
  observability::QuantileHistogram progress_latency_;
  std::map<std::string, std::vector<Timeline::Reply>> replies_;  // with opt_.timeline
  Timeline timeline_;
  std::vector<std::string> assigned_topics_;
  bool begun_ = false;
  std::uint64_t started_ = 0;
  std::uint64_t finished_ = 0;
  Clock::time_point first_send_{}, last_finish_{}, open_loop_t0_{};
  Summary summary_;
  std::vector<ShownInstance> shown_;
  std::shared_ptr<observability::OtlpExporter> exporter_;
  std::shared_ptr<const observability::Tracer> tracer_;
};

RunResult Simulator::run() {
  summary_.process = def_.name;
  summary_.instances = opt_.instances;
  std::vector<std::string> topics = def_.send_topics();
  for (const auto& t : def_.receive_topics()) topics.push_back(t);
  if (auto problems = kafka::create_topics(opt_.bootstrap, topics, opt_.partitions, milliseconds(30'000), {},
                                           opt_.kafka_properties, opt_.oauth_token);
      !problems.empty()) {
    throw ConfigError(
        fmt::format("engine: cannot prepare the topics on {}: {}", opt_.bootstrap, fmt::join(problems, "; ")));
  }
  auto fatal = [this](const std::string& why) {
    spdlog::critical("engine: {}", why);
    io_.stop();
  };
  if (!opt_.otlp_endpoint.empty()) {
    try {
      exporter_ = std::make_shared<observability::OtlpExporter>("fxconnect-engine", opt_.otlp_endpoint);
    } catch (const std::exception& e) {
      throw ConfigError(std::string("engine: --otlp-endpoint: ") + e.what());
    }
    tracer_ = std::make_shared<observability::Tracer>(*observability::Sampler::parse("always"), exporter_);
  }

  // The same client setup as a connector's (kafka/client.cc), plus what the engine needs.
  kafka::ProducerSettings producer;
  producer.bootstrap = opt_.bootstrap;
  producer.client_id = "fxconnect-engine";
  producer.source = "engine";
  producer.properties = opt_.kafka_properties;
  producer.oauth_token = opt_.oauth_token;
  producer.properties.push_back({"linger.ms", "1", "engine", ""});
  kafka::ConsumerSettings consumer;
  consumer.bootstrap = opt_.bootstrap;
  consumer.client_id = "fxconnect-engine";
  consumer.source = "engine";
  consumer.group_id = "fxconnect-engine-" + new_uuid();
  consumer.properties = opt_.kafka_properties;
  consumer.oauth_token = opt_.oauth_token;
  consumer.properties.push_back({"topic.metadata.refresh.interval.ms", "5000", "engine", ""});
  consumer.properties.push_back({"fetch.wait.max.ms", "10", "engine", ""});
  producer_ = std::make_unique<kafka::Replier>(
      io_, producer, def_.send_topics(),
      kafka::Producer::Events{
          [this](const kafka::Delivery& d) { on_sent(d.tag, d.failure == kafka::ProduceFailure::none ? "" : d.error); },
          fatal});
  kafka::Consumer::Events events;
  events.message = [this](Request&& m, kafka::WireHeaders) { on_reply(std::move(m)); };
  events.assigned = [this](const std::vector<kafka::TopicPartition>& parts) {
    for (const auto& [topic, partition] : parts) {
      if (std::find(assigned_topics_.begin(), assigned_topics_.end(), topic) == assigned_topics_.end()) {
        assigned_topics_.push_back(topic);
      }
    }
    begin();
  };
  events.revoked = [this](const std::vector<kafka::TopicPartition>& parts, bool) { consumer_->release(parts); };
  events.fatal = fatal;
  consumer_ = std::make_unique<kafka::Source>(
      io_, consumer, "^(" + def_.engine_pattern + ")$",  // whole topic names, as the engine matches
      std::move(events),
      // Start exactly at the end of every reply topic as it is now, before anything is sent:
      // nothing older counts, nothing newer is missed. (Nothing is ever stored: nothing committed.)
      [](rd_kafka_t* rk, rd_kafka_topic_partition_list_t* parts) {
        for (int i = 0; i < parts->cnt; ++i) {
          auto& tp = parts->elems[i];
          std::int64_t low = 0, high = 0;
          auto e = rd_kafka_query_watermark_offsets(rk, tp.topic, tp.partition, &low, &high, 10'000);
          tp.offset = e ? RD_KAFKA_OFFSET_END : high;
        }
      });
  consumer_->start();
  spdlog::info("engine: process {} — {} instances, {}; waiting for the reply topics", def_.name, opt_.instances,
               opt_.rate > 0 ? fmt::format("open loop at {}/s", opt_.rate)
                             : fmt::format("closed loop, {} at a time", opt_.concurrency));
  start_timer_.expires_after(milliseconds(60'000));
  start_timer_.async_wait([this](auto ec) {
    if (ec || begun_) return;
    spdlog::critical("engine: the consumer got no assignment for the reply topics within 60 s");
    io_.stop();
  });
  const bool progress = opt_.progress != EngineOptions::Progress::off;
  if (progress) {
    const auto every = opt_.progress == EngineOptions::Progress::terminal ? milliseconds(500) : opt_.progress_every;
    std::function<void()> tick = [this, &tick, every] {
      progress_timer_.expires_after(every);
      progress_timer_.async_wait([this, &tick](auto ec) {
        if (ec) return;
        print_progress(false);
        tick();
      });
    };
    tick();
    io_.run();
  } else {
    io_.run();
  }
  if (progress) print_progress(true);
  consumer_->close();
  producer_->flush(milliseconds(5000));
  tracer_.reset();
  exporter_.reset();  // exports the last spans

  summary_.duration_s = first_send_ == Clock::time_point{} ? 0 : ms_between(first_send_, last_finish_) / 1000;
  summary_.throughput_per_s =
      summary_.duration_s > 0 ? static_cast<double>(summary_.completed + summary_.error_path) / summary_.duration_s : 0;
  for (const auto& n : def_.nodes) {
    if (const auto* r = std::get_if<ReceiveNode>(&n))
      summary_.receive_nodes.push_back({r->name, summarize(latencies_[r->name])});
  }
  summary_.send_lag = summarize(std::move(send_lags_));
  summary_.reply_delay = summarize(std::move(reply_delays_));
  // Stopped early (no assignment, a fatal client error): what never ran or never ended failed.
  summary_.failed += opt_.instances - started_;
  for (const auto& [index, inst] : running_) summary_.failed += inst->status == Status::running ? 1 : 0;
  for (const auto& n : def_.nodes) {
    if (const auto* r = std::get_if<ReceiveNode>(&n); r && opt_.timeline)
      timeline_.replies.emplace_back(r->name, std::move(replies_[r->name]));
  }
  return RunResult{summary_, shown_, std::move(timeline_)};
}

// Every reply topic is assigned: the run can start without missing a reply.
void Simulator::begin() {
  if (begun_) return;
  for (const auto& t : def_.receive_topics()) {
    if (std::find(assigned_topics_.begin(), assigned_topics_.end(), t) == assigned_topics_.end()) return;
  }
  begun_ = true;
  start_timer_.cancel();
  spdlog::info("engine: reply topics assigned; starting instances");
  open_loop_t0_ = Clock::now();
  if (opt_.rate > 0) {
    start_due_instances();
  } else {
    auto n = std::min<std::uint64_t>(opt_.instances, std::max<std::uint64_t>(1, opt_.concurrency));
    for (std::uint64_t i = 0; i < n; ++i) start_instance();
  }
}

// Open loop: instance i is due at t0 + i/rate, whatever happened to the ones before.
void Simulator::start_due_instances() {
  auto now = Clock::now();
  while (started_ < opt_.instances) {
    auto due = open_loop_t0_ + std::chrono::duration_cast<Clock::duration>(
                                   std::chrono::duration<double>(static_cast<double>(started_) / opt_.rate));
    if (due > now) {
      start_timer_.expires_at(due);
      start_timer_.async_wait([this](auto ec) {
        if (!ec) start_due_instances();
      });
      return;
    }
    start_instance();
  }
}

void Simulator::start_instance() {
  if (started_ >= opt_.instances) return;  // several finishes may have asked for the last one
  auto index = started_++;
  auto owned = std::make_unique<Instance>(index, io_);
  Instance& inst = *owned;
  inst.vars.uuid = new_uuid();
  inst.vars.id = first_id_ + static_cast<std::int64_t>(index);
  inst.data = opt_.data.empty() ? json::value(def_.sample_data) : json::value(opt_.data[index % opt_.data.size()]);
  if (shown_.size() + running_.size() < opt_.show) inst.before = inst.data;
  inst.sent_at = opt_.rate > 0
                     ? open_loop_t0_ + std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double>(static_cast<double>(index) / opt_.rate))
                     : Clock::now();
  if (first_send_ == Clock::time_point{}) first_send_ = inst.sent_at;
  running_.emplace(index, std::move(owned));
  advance(inst);
}

void Simulator::advance(Instance& inst) {
  bool first_send = inst.node == 0;
  while (inst.node < def_.nodes.size()) {
    const Node& node = def_.nodes[inst.node];
    if (const auto* send = std::get_if<SendNode>(&node)) {
      auto body = render(send->message, inst.data, inst.vars);
      if (!body) {
        spdlog::error("engine: instance {} node {}: {}", inst.vars.uuid, send->name, body.error().message);
        return finish(inst, Status::failed);
      }
      Headers headers{{"processInstanceUuid", inst.vars.uuid},
                      {"processInstanceId", std::to_string(inst.vars.id)},
                      {"fxContext", "main"}};
      headers.insert(headers.end(), identity_.begin(), identity_.end());
      for (const auto& [name, tmpl] : send->headers) {
        auto value = render_text(tmpl, inst.data, inst.vars);
        if (!value) {
          spdlog::error("engine: instance {} node {} header {}: {}", inst.vars.uuid, send->name, name,
                        value.error().message);
          return finish(inst, Status::failed);
        }
        headers.push_back({name, std::move(value).value()});
      }
      // Open loop: the first send counts from when it was due; later ones from when they go out.
      if (!first_send) {
        inst.sent_at = Clock::now();
      } else if (opt_.rate > 0) {
        send_lags_.push_back(ms_between(inst.sent_at, Clock::now()));
      }
      first_send = false;
      if (tracer_) {
        // The send node's span: a new trace for the instance's first send, else a child of its
        // last receive. Its context travels in the request's trace header.
        auto span = observability::ActiveSpan::start(tracer_, "send " + send->name, observability::SpanKind::producer,
                                                     inst.trace);
        observability::set_messaging_attributes(
            span, {"publish", send->topic, std::nullopt, std::nullopt, "", inst.vars.uuid, "main"});
        if (inst.trace_id.empty()) inst.trace_id = span.context().trace_id_hex();
        if (opt_.trace_format == "jaeger") {
          headers.push_back({"uber-trace-id", observability::format_uber_trace_id(span.context())});
        } else {
          headers.push_back({"traceparent", observability::format_traceparent(span.context())});
        }
        inst.trace = span.context();
      }
      core::OutgoingRecord record{send->topic, inst.vars.uuid, headers, json::serialize(body.value())};
      inst.sent_headers = std::move(headers);
      producer_->send(record, static_cast<std::uint64_t>(inst.vars.index), nullptr);
      ++inst.node;
    } else if (const auto* receive = std::get_if<ReceiveNode>(&node)) {
      inst.waiting = CorrelationKey{inst.vars.uuid, "main", receive->topic};
      correlator_.expect(inst.waiting, static_cast<std::uint64_t>(inst.vars.index));
      inst.timeout.expires_after(receive->timeout);
      // The expiry may already be queued when the reply arrives in the same turn: it counts only
      // if the instance still waits at this very node.
      inst.timeout.async_wait([this, index = inst.vars.index, node = inst.node](auto ec) {
        if (ec) return;
        auto it = running_.find(static_cast<std::uint64_t>(index));
        if (it == running_.end() || it->second->status != Status::running || it->second->node != node) return;
        correlator_.expire(it->second->waiting);
        finish(*it->second, Status::timed_out);
      });
      return;  // waits for on_reply
    } else {
      const auto& gateway = std::get<GatewayNode>(node);
      ++inst.node;
      for (const auto& branch : gateway.branches) {
        const auto* v = lookup(inst.data, branch.present);
        if (v && !v->is_null()) {
          return finish(inst, branch.end == GatewayNode::End::error ? Status::error_path : Status::completed);
        }
      }
    }
  }
  finish(inst, Status::completed);
}

void Simulator::on_reply(Request&& reply) {
  CorrelationKey key{std::string(reply.process_instance_uuid()), std::string(reply.fx_context()), reply.topic};
  auto outcome = correlator_.take(key);
  switch (outcome.match) {
    case Correlator::Match::duplicate:
      ++summary_.duplicates;
      spdlog::warn("engine: duplicate reply on {} for processInstanceUuid={}", reply.topic,
                   observability::log_safe(key.process_instance_uuid, 128));
      return;
    case Correlator::Match::late: ++summary_.late; return;
    case Correlator::Match::unmatched:
      ++summary_.unmatched;
      spdlog::debug("engine: unmatched reply on {} (processInstanceUuid={})", reply.topic,
                    observability::log_safe(key.process_instance_uuid, 128));
      return;
    case Correlator::Match::matched: break;
  }
  auto it = running_.find(outcome.instance);
  if (it == running_.end() || it->second->status != Status::running) return;
  Instance& inst = *it->second;
  inst.timeout.cancel();
  const auto& node = std::get<ReceiveNode>(def_.nodes[inst.node]);
  // The wall clock (a record timestamp's) first, then the latency's: a pause between the two reads
  // lengthens the latency, never the delay, so a reply's delay stays within its latency.
  const auto wall_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  latencies_[node.name].push_back(ms_between(inst.sent_at, Clock::now()));
  if (reply.timestamp >= 0) {
    reply_delays_.push_back(static_cast<double>(std::max<std::int64_t>(0, wall_ms - reply.timestamp)));
  }
  progress_latency_.observe(latencies_[node.name].back() / 1000);
  if (opt_.timeline) replies_[node.name].push_back({since_first_send(), latencies_[node.name].back()});
  if (!headers_came_back(inst.sent_headers, reply.headers)) {
    ++summary_.header_mismatches;
    spdlog::error("engine: instance {} node {}: the reply's headers differ from those sent", inst.vars.uuid, node.name);
  }
  if (tracer_) {
    // The receive node's span continues from the reply's trace header: the connector's span.
    auto incoming = observability::extract(reply.headers);
    auto span = observability::ActiveSpan::start(tracer_, "receive " + node.name, observability::SpanKind::consumer,
                                                 incoming.context ? incoming.context : inst.trace);
    observability::set_messaging_attributes(
        span, {"receive", reply.topic, std::nullopt, std::nullopt, "", inst.vars.uuid, "main"});
    inst.trace = span.context();
  }
  boost::system::error_code ec;
  auto body = json::parse(reply.body, ec);
  inst.data.as_object()[node.key] = ec ? json::value(reply.body) : std::move(body);
  ++inst.node;
  advance(inst);
}

void Simulator::on_sent(std::uint64_t index, const std::string& error) {
  if (error.empty()) return;
  auto it = running_.find(index);
  spdlog::error("engine: sending instance #{} failed: {}", index, error);
  if (it != running_.end()) {
    correlator_.expire(it->second->waiting);
    finish(*it->second, Status::failed);
  }
}

void Simulator::finish(Instance& inst, Status status) {
  if (inst.status != Status::running) return;  // an instance ends once
  inst.status = status;
  inst.timeout.cancel();
  switch (status) {
    case Status::completed: ++summary_.completed; break;
    case Status::error_path: ++summary_.error_path; break;
    case Status::timed_out: ++summary_.timed_out; break;
    case Status::failed: ++summary_.failed; break;
    case Status::running: break;
  }
  if (!inst.before.is_null() && shown_.size() < opt_.show) {
    shown_.push_back(
        {inst.vars.uuid, inst.trace_id, std::string(status_name(status)), std::move(inst.before), inst.data});
  }
  if (!inst.trace_id.empty() && summary_.trace_ids.size() < 10) summary_.trace_ids.push_back(inst.trace_id);
  last_finish_ = Clock::now();
  ++finished_;
  if (opt_.timeline) timeline_.finishes.push_back({since_first_send(), std::string(status_name(status))});
  auto index = static_cast<std::uint64_t>(inst.vars.index);
  // Not erased now: the caller may still be inside this instance's code. After the turn.
  asio::post(io_, [this, index] { running_.erase(index); });
  if (opt_.rate <= 0 && started_ < opt_.instances) {
    asio::post(io_, [this] { start_instance(); });
  }
  if (finished_ == opt_.instances) {
    linger_timer_.expires_after(opt_.linger);
    linger_timer_.async_wait([this](auto ec) {
      if (!ec) io_.stop();
    });
  }
}

void Simulator::print_progress(bool final) {
  // Instances done, their rate since the first send, and the p99 of every reply so far (all
  // receive nodes together; at most 5 % high, QuantileHistogram): what a person watching a long
  // run wants to see move.
  const double elapsed_s = first_send_ == Clock::time_point{} ? 0 : ms_between(first_send_, Clock::now()) / 1000;
  const double rate = elapsed_s > 0 ? static_cast<double>(finished_) / elapsed_s : 0;
  std::string p99 = "-";
  if (progress_latency_.count() > 0) p99 = fmt::format("{:.1f} ms", progress_latency_.quantile(0.99) * 1000);
  std::string line = fmt::format(
      "engine: {}/{} done, {:.1f}/s, p99 {}, in flight {}, error path {}, timed out {}, failed {}", finished_,
      opt_.instances, rate, p99, running_.size(), summary_.error_path, summary_.timed_out, summary_.failed);
  if (opt_.progress == EngineOptions::Progress::terminal) {
    std::fprintf(stderr, "\r\033[K%s%s", line.c_str(), final ? "\n" : "");
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  std::fflush(stderr);
}

}  // namespace

RunResult run_engine(const ProcessDefinition& definition, const EngineOptions& options) {
  Simulator s(definition, options);
  return s.run();
}

std::vector<json::object> load_jsonl(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw ConfigError(path + ": cannot read the file");
  std::vector<json::object> out;
  std::string line;
  for (int n = 1; std::getline(f, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    boost::system::error_code ec;
    auto v = json::parse(line, ec);
    if (ec || !v.is_object()) {
      throw ConfigError(
          fmt::format("{}:{}: expected one JSON object per line ({})", path, n, ec ? ec.message() : "not an object"));
    }
    out.push_back(std::move(v.as_object()));
  }
  if (out.empty()) throw ConfigError(path + ": no data lines");
  return out;
}

}  // namespace fxconnect::engine
