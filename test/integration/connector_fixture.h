// Integration fixture: unique topics on the real broker (FXC_KAFKA_BOOTSTRAP), a connector config
// for them, and the connector running as its own process, as in production.
#pragma once

#include <map>
#include <memory>
#include <regex>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "child_process.h"
#include "kafka_test_client.h"

namespace fxconnect::testing {

class ConnectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bootstrap_ = bootstrap_from_env();
    ASSERT_FALSE(bootstrap_.empty()) << "FXC_KAFKA_BOOTSTRAP is not set: run the integration tier through "
                                        "scripts/test.sh, which starts a broker";
    auto suffix = unique_suffix();
    in_ = "ai.flowx.dev.plugin.test.in." + suffix;
    out_ = "ai.flowx.dev.engine.receive.plugin.test.out." + suffix;
    dlq_ = "ai.flowx.dev.plugin.test.dlq." + suffix;
    group_ = "fxc-it-" + suffix;
    name_ = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    kafka_ = std::make_unique<TestKafka>(bootstrap_);
  }

  // A config for this test's topics; `handler` and `processing` are YAML blocks (indented).
  std::string config(const std::string& handler, const std::string& processing, bool dlq = false,
                     const std::string& producer_properties = "") const {
    std::string yaml = "kafka:\n  bootstrap: " + bootstrap_ + "\n  group_id: " + group_ +
                       "\n  properties: { auto.offset.reset: earliest }\n";
    if (!producer_properties.empty()) yaml += "  producer_properties: { " + producer_properties + " }\n";
    yaml += "input:\n  topic: " + in_ + "\nreply:\n  topic: " + out_ +
            "\n  engine_pattern: \"ai.flowx.dev.engine.receive.*\"\nhandler:\n" + handler + "processing:\n" +
            processing;
    if (dlq) yaml += "errors:\n  dlq_topic: " + dlq_ + "\n";
    return yaml;
  }

  // The same for a declarative connector: no `handler`; the caller appends `systems:` and `flow:`.
  std::string flow_config(const std::string& processing) const {
    std::string yaml = config("  name: echo\n", processing);
    const std::string handler = "handler:\n  name: echo\n";
    return yaml.replace(yaml.find(handler), handler.size(), "");
  }

  // Starts a connector program (default: the test connector) with `yaml`; waits until it has
  // partitions of `input` (default: this test's input topic).
  std::unique_ptr<ChildProcess> start_connector(const std::string& yaml, int run = 0,
                                                const std::string& program = "fxc_test_connector",
                                                const std::string& input = "") {
    auto tag = name_ + "." + program + "." + std::to_string(run);
    auto path = write_temp_file(tag + ".yaml", yaml);
    auto log = write_temp_file(tag + ".log", "");
    auto p = std::make_unique<ChildProcess>(std::vector<std::string>{program_path(program), "run", path}, log);
    EXPECT_TRUE(p->wait_for_log("partitions assigned: " + (input.empty() ? in_ : input), std::chrono::seconds(60)))
        << p->log();
    return p;
  }

  std::string bootstrap_, in_, out_, dlq_, group_, name_;
  std::unique_ptr<TestKafka> kafka_;
};

// Records of `replies` by their processInstanceUuid header.
inline std::map<std::string, std::vector<ConsumedRecord>> by_uuid(const std::vector<ConsumedRecord>& replies) {
  std::map<std::string, std::vector<ConsumedRecord>> out;
  for (const auto& r : replies) {
    auto uuid = first_value(r.headers, "processInstanceUuid");
    out[uuid ? std::string(*uuid) : std::string()].push_back(r);
  }
  return out;
}

// A figure of the connector's stop line ("stopped: exit=0 consumed=... handling_max=..."), or -1.
inline double stop_figure(const std::string& log, const std::string& name) {
  std::smatch m;
  if (!std::regex_search(log, m, std::regex("stopped: .*\\b" + name + "=([0-9.]+)"))) return -1;
  return std::stod(m[1]);
}

}  // namespace fxconnect::testing
