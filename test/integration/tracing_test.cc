// Traces in a real Jaeger (started by scripts/test.sh through scripts/jaeger.sh): the engine
// simulator → connector → engine is ONE trace with the expected structure, whether the engine
// speaks W3C traceparent or Jaeger uber-trace-id; and a dead collector costs spans, not messages.
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include <gmock/gmock.h>
#include <boost/json.hpp>

#include "connector_fixture.h"
#include "http_get.h"

namespace fxconnect::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
namespace json = boost::json;

class TracingTest : public ConnectorTest {
 protected:
  void SetUp() override {
    ConnectorTest::SetUp();
    const char* otlp = std::getenv("FXC_JAEGER_OTLP");
    const char* query = std::getenv("FXC_JAEGER_QUERY");
    ASSERT_TRUE(otlp && query) << "FXC_JAEGER_OTLP / FXC_JAEGER_QUERY are not set: run through scripts/test.sh, "
                                  "which starts Jaeger with scripts/jaeger.sh";
    otlp_ = otlp;
    query_ = query;
  }

  std::string connector_config(const std::string& otlp) const {
    return config("  name: echo\n  options: { delay: 20ms }\n", "  max_in_flight: 1000\n") +
           "observability:\n  service_name: echo-connector\n  tracing:\n    otlp_endpoint: " + otlp +
           "\n    sampler: parent\n  http:\n    listen: 127.0.0.1:0\n";
  }

  // Runs the engine with tracing; returns the trace ids of its instances.
  std::vector<std::string> run_engine(const std::string& format, int instances) {
    auto process = write_temp_file(name_ + "." + format + ".process.yaml",
                                   "process: traced\nsample_data: { x: 1 }\nnodes:\n  - send: ask\n    topic: " + in_ +
                                       "\n    message: { x: \"${x}\" }\n  - receive: answered\n    topic: " + out_ +
                                       "\n    key: answer\n");
    auto summary = process + ".json";
    ChildProcess engine({program_path("fxconnect"), "engine", "run", process, "-n", std::to_string(instances),
                         "--otlp-endpoint", otlp_, "--trace-format", format, "--json", summary},
                        process + ".log");
    EXPECT_EQ(engine.wait(seconds(120)), 0) << engine.log();
    std::ifstream f(summary);
    std::stringstream text;
    text << f.rdbuf();
    std::vector<std::string> ids;
    boost::system::error_code ec;
    auto v = json::parse(text.str(), ec);
    if (!ec && v.as_object().contains("trace_ids")) {
      for (const auto& id : v.at("trace_ids").as_array()) ids.emplace_back(id.as_string());
    }
    return ids;
  }

  // The trace from Jaeger's query API, once it holds `spans` spans (export is batched).
  json::object fetch_trace(const std::string& trace_id, std::size_t spans) {
    json::object trace;
    auto end = std::chrono::steady_clock::now() + seconds(20);
    while (std::chrono::steady_clock::now() < end) {
      boost::system::error_code ec;
      auto v = json::parse(http_get(query_, "/api/traces/" + trace_id).body, ec);
      // Until the trace is stored Jaeger answers 404 with "data": null.
      if (!ec && v.is_object() && v.as_object().contains("data") && v.at("data").is_array() &&
          !v.at("data").as_array().empty()) {
        trace = v.at("data").as_array()[0].as_object();
        if (trace.at("spans").as_array().size() >= spans) break;
      }
      std::this_thread::sleep_for(milliseconds(250));
    }
    return trace;
  }

  void expect_one_trace_through_the_connector(const std::string& format) {
    kafka_->create_topic(in_, 1);
    kafka_->create_topic(out_, 1);
    auto connector = start_connector(connector_config(otlp_));
    auto ids = run_engine(format, 2);
    ASSERT_EQ(ids.size(), 2u);
    auto trace = fetch_trace(ids[0], 6);
    ASSERT_FALSE(trace.empty()) << "trace " << ids[0] << " is not in Jaeger";
    // name → (service, parent name, tags)
    struct Span {
      std::string service, parent;
      std::map<std::string, std::string> tags;
    };
    std::map<std::string, std::string> names_by_id;
    for (const auto& s : trace.at("spans").as_array()) {
      names_by_id[std::string(s.at("spanID").as_string())] = std::string(s.at("operationName").as_string());
    }
    std::map<std::string, Span> spans;
    for (const auto& sv : trace.at("spans").as_array()) {
      const auto& s = sv.as_object();
      Span span;
      span.service = std::string(trace.at("processes").at(s.at("processID").as_string()).at("serviceName").as_string());
      for (const auto& r : s.at("references").as_array()) {
        if (r.at("refType").as_string() == "CHILD_OF")
          span.parent = names_by_id[std::string(r.at("spanID").as_string())];
      }
      for (const auto& t : s.at("tags").as_array()) {
        span.tags[std::string(t.at("key").as_string())] = json::serialize(t.at("value"));
      }
      spans[std::string(s.at("operationName").as_string())] = span;
    }
    std::string process = "process " + in_, publish = "publish " + out_;
    ASSERT_EQ(spans.size(), 6u) << json::serialize(trace);
    EXPECT_EQ(spans["send ask"].service, "fxconnect-engine");
    EXPECT_EQ(spans["send ask"].parent, "") << "the instance's root";
    EXPECT_EQ(spans[process].service, "echo-connector");
    EXPECT_EQ(spans[process].parent, "send ask") << "the connector continues the engine's trace";
    EXPECT_EQ(spans["handle echo"].parent, process);
    EXPECT_EQ(spans["echo delay"].parent, "handle echo") << "a call made through the SDK";
    EXPECT_EQ(spans[publish].parent, process);
    EXPECT_EQ(spans["receive answered"].service, "fxconnect-engine");
    EXPECT_EQ(spans["receive answered"].parent, publish) << "the reply's trace header points at the publish span";
    EXPECT_EQ(spans[process].tags["messaging.system"], "\"kafka\"");
    EXPECT_EQ(spans[process].tags["messaging.destination.name"], "\"" + in_ + "\"");
    EXPECT_EQ(spans[process].tags["messaging.consumer.group.name"], "\"" + group_ + "\"");
    EXPECT_EQ(spans[process].tags["fx.context"], "\"main\"");
    EXPECT_NE(spans[process].tags["fx.processInstanceUuid"], "\"\"");
    EXPECT_EQ(spans[process].tags["span.kind"], "\"consumer\"");
    connector->signal(SIGTERM);
    EXPECT_EQ(connector->wait(seconds(60)), 0);
  }

  std::string otlp_, query_;
};

TEST_F(TracingTest, OneTraceFromTheEngineThroughTheConnectorWithTraceparent) {
  expect_one_trace_through_the_connector("w3c");
}

TEST_F(TracingTest, OneTraceFromTheEngineThroughTheConnectorWithUberTraceId) {
  expect_one_trace_through_the_connector("jaeger");
}

TEST_F(TracingTest, ADeadCollectorCostsSpansNotMessages) {
  kafka_->create_topic(in_, 2);
  kafka_->create_topic(out_, 2);
  // Nothing listens on port 9 of loopback (discard): every export fails.
  auto connector = start_connector(connector_config("http://127.0.0.1:9"));
  std::smatch m;
  auto log = connector->log();
  ASSERT_TRUE(std::regex_search(log, m, std::regex(R"(metrics and health on http://([0-9.]+:[0-9]+))"))) << log;
  std::string metrics_base = "http://" + m[1].str();
  std::vector<core::OutgoingRecord> requests;
  for (int i = 0; i < 500; ++i) {
    std::string uuid = "u" + std::to_string(i);
    requests.push_back(
        {in_,
         uuid,
         {{"processInstanceUuid", uuid}, {"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}},
         "{}"});
  }
  kafka_->produce(requests);
  TopicReader replies(bootstrap_, out_);
  ASSERT_TRUE(replies.wait_for(500, seconds(60))) << "a dead collector must not hold up replies";
  double dropped = 0;
  auto end = std::chrono::steady_clock::now() + seconds(30);
  while (dropped <= 0 && std::chrono::steady_clock::now() < end) {
    auto page = http_get(metrics_base, "/metrics").body;
    std::smatch d;
    if (std::regex_search(page, d, std::regex(R"(\nfxconnect_spans_dropped_total ([0-9]+))")))
      dropped = std::stod(d[1]);
    std::this_thread::sleep_for(milliseconds(250));
  }
  EXPECT_GT(dropped, 0) << "dropped spans are counted";
  connector->signal(SIGTERM);
  EXPECT_EQ(connector->wait(seconds(60)), 0);
  EXPECT_EQ(replies.count(), 500u);
}

// A Jaeger of this test's own, stopped mid-load: every request is still answered, at the pace it
// comes, and the spans that could not be exported are counted.
TEST_F(TracingTest, StoppingJaegerMidLoadLosesNoMessage) {
  auto dir = std::string(FXC_TEST_TMP_DIR) + "/" + name_ + ".jaeger";
  ::setenv("FXC_JAEGER_DIR", dir.c_str(), 1);
  auto script = std::string(FXC_SOURCE_DIR) + "/scripts/jaeger.sh";
  struct StopAtEnd {  // whatever happens below, this test's Jaeger does not outlive it
    std::string script, dir;
    ~StopAtEnd() {
      ChildProcess stop({"/bin/bash", script, "stop"}, dir + ".final-stop.log");
      stop.wait(std::chrono::seconds(60));
      ::unsetenv("FXC_JAEGER_DIR");
    }
  } stop_at_end{script, dir};
  ChildProcess start({"/bin/bash", script, "start"}, dir + ".start.log");
  ASSERT_EQ(start.wait(seconds(600)), 0) << start.log();
  std::smatch m;
  auto started = start.log();
  ASSERT_TRUE(std::regex_search(started, m, std::regex(R"(otlp_http=(http://[0-9.:]+))"))) << started;
  std::string own_otlp = m[1];

  kafka_->create_topic(in_, 2);
  kafka_->create_topic(out_, 2);
  auto connector = start_connector(connector_config(own_otlp));
  auto log = connector->log();
  ASSERT_TRUE(std::regex_search(log, m, std::regex(R"(metrics and health on http://([0-9.]+:[0-9]+))"))) << log;
  std::string metrics_base = "http://" + m[1].str();
  TopicReader replies(bootstrap_, out_);
  constexpr int kChunks = 8, kPerChunk = 500;
  std::vector<std::chrono::steady_clock::time_point> sent_at;
  for (int c = 0; c < kChunks; ++c) {
    std::vector<core::OutgoingRecord> chunk;
    for (int i = 0; i < kPerChunk; ++i) {
      std::string uuid = "c" + std::to_string(c) + "-" + std::to_string(i);
      chunk.push_back(
          {in_,
           uuid,
           {{"processInstanceUuid", uuid}, {"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}},
           "{}"});
    }
    kafka_->produce(chunk);
    sent_at.push_back(std::chrono::steady_clock::now());
    if (c == kChunks / 2 - 1) {
      ChildProcess stop({"/bin/bash", script, "stop"}, dir + ".stop.log");  // Jaeger goes away mid-load
      ASSERT_EQ(stop.wait(seconds(60)), 0) << stop.log();
    }
    std::this_thread::sleep_for(milliseconds(300));
  }
  ASSERT_TRUE(replies.wait_for(kChunks * kPerChunk, seconds(60))) << replies.count();
  auto lag = std::chrono::duration<double>(std::chrono::steady_clock::now() - sent_at.back()).count();
  std::printf("[ figures  ] Jaeger stopped after %d of %d requests: all answered, the last %.2f s after it was sent\n",
              kChunks / 2 * kPerChunk, kChunks * kPerChunk, lag);
  double dropped = 0;
  auto end = std::chrono::steady_clock::now() + seconds(30);
  while (dropped <= 0 && std::chrono::steady_clock::now() < end) {
    std::smatch d;
    auto page = http_get(metrics_base, "/metrics").body;
    if (std::regex_search(page, d, std::regex(R"(\nfxconnect_spans_dropped_total ([0-9]+))")))
      dropped = std::stod(d[1]);
    std::this_thread::sleep_for(milliseconds(250));
  }
  EXPECT_GT(dropped, 0);
  connector->signal(SIGTERM);
  EXPECT_EQ(connector->wait(seconds(60)), 0);
  EXPECT_EQ(by_uuid(replies.records()).size(), static_cast<std::size_t>(kChunks * kPerChunk))
      << "every request answered";
}

TEST_F(TracingTest, JsonLogLinesCarryTheRequestsTraceAndProcessInstance) {
  kafka_->create_topic(in_, 1);
  kafka_->create_topic(out_, 1);
  auto connector = start_connector(connector_config(otlp_) + "log:\n  format: json\n");
  kafka_->produce(
      {{in_,
        "bad",
        {{"processInstanceUuid", "pi-42"}, {"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}},
        "not json"}});
  TopicReader replies(bootstrap_, out_);
  ASSERT_TRUE(replies.wait_for(1, seconds(30)));
  connector->signal(SIGTERM);
  EXPECT_EQ(connector->wait(seconds(60)), 0);
  bool found = false;
  std::istringstream lines(connector->log());
  for (std::string line; std::getline(lines, line);) {
    boost::system::error_code ec;
    auto v = json::parse(line, ec);
    ASSERT_FALSE(ec) << "not a JSON line: " << line;
    ASSERT_TRUE(v.as_object().contains("time") && v.as_object().contains("level") && v.as_object().contains("message"))
        << line;
    if (v.as_object().contains("processInstanceUuid") && v.at("level") == "error") {
      found = true;
      EXPECT_EQ(v.at("processInstanceUuid"), "pi-42");
      EXPECT_EQ(v.at("trace_id"), "4bf92f3577b34da6a3ce929d0e0e4736") << "the caller's trace";
      EXPECT_EQ(v.at("span_id").as_string().size(), 16u);
      EXPECT_NE(v.at("span_id"), "00f067aa0ba902b7") << "the connector's own span, not the caller's";
    }
  }
  EXPECT_TRUE(found) << connector->log();
}

}  // namespace
}  // namespace fxconnect::testing
