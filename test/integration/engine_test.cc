// The engine simulator end to end: `fxconnect engine run` against real connectors on a real
// broker, judged by its JSON summary and exit code.
#include <algorithm>
#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <boost/json.hpp>

#include "connector_fixture.h"

namespace fxconnect::testing {
namespace {

using std::chrono::seconds;
namespace json = boost::json;

struct EngineRun {
  int exit_code;
  json::object summary;
  std::string output;
};

class EngineTest : public ConnectorTest {
 protected:
  // Runs `fxconnect engine run` on `definition` with `args`; returns its summary.
  EngineRun run_engine(const std::string& definition, std::vector<std::string> args) {
    auto path = write_temp_file(name_ + ".process.yaml", definition);
    auto summary_path = path + ".summary.json";
    std::remove(summary_path.c_str());
    std::vector<std::string> argv{program_path("fxconnect"), "engine", "run", path, "--json", summary_path};
    argv.insert(argv.end(), args.begin(), args.end());
    ChildProcess engine(argv, path + ".log");
    auto code = engine.wait(seconds(180));
    EXPECT_TRUE(code.has_value()) << "the engine did not finish\n" << engine.log();
    std::ifstream f(summary_path);
    std::stringstream text;
    text << f.rdbuf();
    boost::system::error_code ec;
    auto v = json::parse(text.str(), ec);
    EXPECT_FALSE(ec) << "no JSON summary\n" << engine.log();
    return EngineRun{code.value_or(-1), ec ? json::object{} : v.as_object(), engine.log()};
  }

  // A process with one send/receive pair on this test's topics.
  std::string one_call(const std::string& message, const std::string& timeout = "PT30S") const {
    return "process: one_call\nsample_data: { customer: { id: C-1, firstName: Ana, lastName: Pop, birthDate: "
           "'24/02/1990', "
           "country: Romania }, loan: { amount: '1234.56', currency: RON } }\nnodes:\n"
           "  - send: ask\n    topic: " +
           in_ + "\n    message: " + message + "\n    headers: { channel: web }\n" +
           "  - receive: answered\n    topic: " + out_ + "\n    key: answer\n    timeout: " + timeout + "\n" +
           "  - gateway: answered_ok\n    error_if_present: answer.errorMessage\n";
  }

  static std::uint64_t count(const json::object& s, const char* key) { return s.at(key).to_number<std::uint64_t>(); }
};

TEST_F(EngineTest, RunsInstancesThroughTheExampleConnector) {
  kafka_->create_topic(in_, 3);
  kafka_->create_topic(out_, 3);
  std::string yaml = config("  name: onboarding\n", "  max_in_flight: 1000\n");
  auto connector = start_connector(yaml, 0, "onboarding-connector");
  auto run =
      run_engine(one_call("{ customer: \"${customer}\", loan: \"${loan}\" }"),
                 {"--instances", "300", "--concurrency", "50", "--profile", "4.x", "--show", "1", "--progress-every",
                  "100ms", "--report", std::string(FXC_TEST_TMP_DIR) + "/" + name_ + ".report.html"});
  EXPECT_EQ(run.exit_code, 0) << run.output;
  // stderr is a file here, not a terminal: plain progress lines, the last one when all are done.
  EXPECT_THAT(run.output, ::testing::HasSubstr("engine: 300/300 done, ")) << run.output;
  EXPECT_THAT(run.output, ::testing::ContainsRegex("engine: [0-9]+/300 done, [0-9.]+/s, p99 [0-9.]+ ms, in flight"));
  EXPECT_EQ(run.output.find("\033[K"), std::string::npos) << "no terminal control codes in a log";
  // --report: the HTML page, then what a browser makes of it (Debian's chromium, headless): the
  // paths each chart drew (the page's own count, on <body data-drawn>) and a screenshot.
  const std::string report = std::string(FXC_TEST_TMP_DIR) + "/" + name_ + ".report.html";
  std::ifstream report_file(report);
  std::stringstream html;
  html << report_file.rdbuf();
  for (const char* id : {"throughput", "latency", "latency-histogram", "outcomes"})
    EXPECT_THAT(html.str(), ::testing::HasSubstr(std::string("<figure id=\"") + id + "\"")) << id;
  EXPECT_EQ(html.str().find("http"), html.str().find("http://www.w3.org")) << "nothing fetched from a network";
  ChildProcess dom(
      {"/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", "file://" + report},
      report + ".dom");
  EXPECT_EQ(dom.wait(seconds(120)), 0) << dom.log();
  EXPECT_THAT(dom.log(),
              ::testing::ContainsRegex("data-drawn=\"throughput:1 latency:2 latency-histogram:1 outcomes:4\""))
      << "every chart has lines (1 throughput, p50 + p99 of the one receive node, 1 histogram, 4 outcome bars)";
  ChildProcess shot({"/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                     "--window-size=1000,1700", "--screenshot=" + report + ".png", "file://" + report},
                    report + ".shot.log");
  EXPECT_EQ(shot.wait(seconds(120)), 0) << shot.log();
  std::ifstream png(report + ".png", std::ios::binary | std::ios::ate);
  EXPECT_GT(static_cast<long long>(png.tellg()), 20'000) << "a screenshot with charts in it";
  std::size_t lines = 0;
  for (auto at = run.output.find("/300 done, "); at != std::string::npos; at = run.output.find("/300 done, ", at + 1))
    ++lines;
  EXPECT_GE(lines, 2u) << "periodic lines (--progress-every 100ms), then the final one";
  EXPECT_EQ(count(run.summary, "completed"), 300u) << run.output;
  EXPECT_EQ(count(run.summary, "header_mismatches"), 0u);
  EXPECT_EQ(count(run.summary, "duplicates"), 0u);
  EXPECT_EQ(count(run.summary, "timed_out"), 0u);
  const auto& node = run.summary.at("receive_nodes").at("answered").as_object();
  EXPECT_EQ(node.at("replies").to_number<int>(), 300);
  EXPECT_GT(node.at("latency_ms").at("p50").to_number<double>(), 0.0);
  EXPECT_LE(node.at("latency_ms").at("p50").to_number<double>(), node.at("latency_ms").at("p999").to_number<double>());
  EXPECT_THAT(run.output, ::testing::HasSubstr("\"birthDate\":\"1990-02-24\"")) << "--show prints the stored reply";
  // Closed loop: nothing is due, so no send lag; every reply's delay since its timestamp is known.
  EXPECT_EQ(run.summary.at("send_lag_ms").at("count").to_number<int>(), 0);
  EXPECT_EQ(run.summary.at("reply_delay_ms").at("count").to_number<int>(), 300);
  connector->signal(SIGTERM);
  EXPECT_EQ(connector->wait(seconds(60)), 0);
}

TEST_F(EngineTest, TwoConnectorsInSequenceTheSecondUsingWhatTheFirstReturned) {
  std::string in2 = in_ + ".second", out2 = out_ + ".second";
  for (const auto& t : {in_, out_, in2, out2}) kafka_->create_topic(t, 3);
  auto first = start_connector(config("  name: onboarding\n", "  max_in_flight: 1000\n"), 0, "onboarding-connector");
  std::string second_yaml = config("  name: echo\n  options: { delay: 20ms }\n", "  max_in_flight: 1000\n");
  second_yaml.replace(second_yaml.find(in_), in_.size(), in2);
  second_yaml.replace(second_yaml.find(out_), out_.size(), out2);
  second_yaml.replace(second_yaml.find("group_id: " + group_), 10 + group_.size(), "group_id: " + group_ + "-2");
  auto second = start_connector(second_yaml, 0, "fxconnect", in2);
  auto definition = one_call("{ customer: \"${customer}\", loan: \"${loan}\" }") +
                    "  - send: open_account\n    topic: " + in2 +
                    "\n    message: { customerRef: \"${answer.customerRef}\", amountMinor: \"${answer.amountMinor}\", "
                    "ref: \"acc-${@index}\" }\n  - receive: account_opened\n    topic: " +
                    out2 + "\n    key: account\n";
  auto run = run_engine(definition, {"--instances", "200", "--rate", "100", "--show", "1"});
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(count(run.summary, "completed"), 200u) << run.output;
  EXPECT_EQ(run.summary.at("receive_nodes").at("account_opened").at("replies").to_number<int>(), 200);
  // The simulator's own share, open loop: each instance's first send, late or not, and each of the
  // 400 replies. A reply is stamped after its request was sent, so its delay since the stamp is
  // within the node's latency (1 ms for the stamp's resolution; in ms, not s or us).
  const auto& lag = run.summary.at("send_lag_ms");
  EXPECT_EQ(lag.at("count").to_number<int>(), 200);
  // An instance's first latency counts from when it was due, so it holds its send lag.
  EXPECT_LE(lag.at("max").to_number<double>(),
            run.summary.at("receive_nodes").at("answered").at("latency_ms").at("max").to_number<double>())
      << run.output;
  const auto& delay = run.summary.at("reply_delay_ms");
  EXPECT_EQ(delay.at("count").to_number<int>(), 400);
  double slowest = 0;
  for (const auto& [name, node] : run.summary.at("receive_nodes").as_object())
    slowest = std::max(slowest, node.at("latency_ms").at("max").to_number<double>());
  EXPECT_LE(delay.at("max").to_number<double>(), slowest + 1.0) << run.output;
  EXPECT_THAT(run.output, ::testing::ContainsRegex("\\(sent after due: send lag\\) +200 "));
  EXPECT_THAT(run.output, ::testing::ContainsRegex("\\(reply's timestamp -> taken\\) +400 "));
  EXPECT_THAT(run.output, ::testing::HasSubstr("\"account\":{\"customerRef\":\"C-1\",\"amountMinor\":123456"))
      << "the second call carried data the first returned";
  for (auto* c : {first.get(), second.get()}) {
    c->signal(SIGTERM);
    EXPECT_EQ(c->wait(seconds(60)), 0);
  }
}

TEST_F(EngineTest, AnErrorReplyTakesTheErrorPath) {
  kafka_->create_topic(in_, 3);
  kafka_->create_topic(out_, 3);
  auto connector = start_connector(config("  name: scripted\n", "  max_in_flight: 1000\n"));
  auto run = run_engine(one_call("{ fail: \"customer ${customer.id} is blocked\" }"), {"--instances", "50"});
  EXPECT_EQ(run.exit_code, 0) << "the error path is a normal end\n" << run.output;
  EXPECT_EQ(count(run.summary, "error_path"), 50u) << run.output;
  EXPECT_EQ(count(run.summary, "completed"), 0u);
  connector->signal(SIGTERM);
  EXPECT_EQ(connector->wait(seconds(60)), 0);
}

TEST_F(EngineTest, AReceiveTimeoutIsReportedAndFailsTheRun) {
  // The connector ran and was stopped: nobody answers any more.
  kafka_->create_topic(in_, 3);
  kafka_->create_topic(out_, 3);
  auto connector = start_connector(config("  name: echo\n", "  max_in_flight: 100\n"));
  connector->signal(SIGTERM);
  ASSERT_EQ(connector->wait(seconds(60)), 0);
  auto run =
      run_engine(one_call("{ customer: \"${customer}\" }", "PT1S"), {"--instances", "20", "--concurrency", "20"});
  EXPECT_NE(run.exit_code, 0) << run.output;
  EXPECT_EQ(count(run.summary, "timed_out"), 20u) << run.output;
  EXPECT_EQ(count(run.summary, "completed"), 0u);
}

}  // namespace
}  // namespace fxconnect::testing
