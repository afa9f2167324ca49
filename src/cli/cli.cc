#include "fxconnect/app.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>

#include <boost/json/serialize.hpp>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "config/config.h"
#include "config/spec.h"
#include "engine/engine.h"
#include "kafka/client.h"
#include "observability/logging.h"
#include "runtime/runtime.h"

namespace fxconnect {
namespace {


// Everything `lint` checks, in the order `run` needs it. Throws ConfigError with every problem.
struct Checked {
  config::ConnectorConfig config;
  std::unique_ptr<Handler> handler;
};
Checked check(const std::string& path, const Registry& registry) {
  Checked out{config::load(path), nullptr};
  std::vector<std::string> problems = kafka::check_properties(out.config);
  try {
    out.handler = registry.create(out.config.handler.name, out.config.handler.options);
  } catch (const ConfigError& e) {
    problems.push_back(fmt::format("{}: handler: {}", path, e.what()));
  }
  if (!problems.empty()) {
    std::string all;
    for (const auto& p : problems) all += (all.empty() ? "" : "\n") + p;
    throw ConfigError(all);
  }
  return out;
}

}  // namespace

int run_cli(int argc, char** argv, Registry registry) {
  CLI::App app{"fxconnect: connectors between a process engine and legacy systems, over Kafka"};
  app.set_version_flag("--version", std::string("fxconnect ") + FXC_VERSION);
  app.require_subcommand(1);

  std::string config_path;
  auto* run = app.add_subcommand("run", "Run a connector until SIGTERM/SIGINT");
  run->add_option("config", config_path, "Connector config (YAML); see docs/config.md")->required();
  auto* lint = app.add_subcommand("lint", "Check a connector config without connecting; non-zero on any problem");
  lint->add_option("config", config_path, "Connector config (YAML)")->required();
  auto* handlers = app.add_subcommand("handlers", "List the handlers this program offers");
  auto* reference = app.add_subcommand("config-reference", "Print the config reference (docs/config.md)");

  auto* engine = app.add_subcommand("engine", "Play the process engine: run process definitions against connectors");
  engine->require_subcommand(1);
  std::string process_path;
  engine::EngineOptions eopt;
  const char* env_bootstrap = std::getenv("FXC_KAFKA_BOOTSTRAP");
  eopt.bootstrap = env_bootstrap ? env_bootstrap : "127.0.0.1:9092";
  std::string data_path, json_path;
  auto* erun = engine->add_subcommand("run", "Run instances of a process definition and report what they saw");
  erun->add_option("process", process_path, "Process definition (YAML); see docs/engine.md")->required();
  erun->add_option("--instances,-n", eopt.instances, "Instances to run")->capture_default_str()->check(CLI::PositiveNumber);
  erun->add_option("--data", data_path, "JSON lines: the process data of each instance (cycled); default: the definition's sample_data");
  auto* rate = erun->add_option("--rate", eopt.rate, "Open loop: instances started per second (latency counts from when each was due)")
                   ->check(CLI::PositiveNumber);
  erun->add_option("--concurrency,-c", eopt.concurrency, "Closed loop: instances running at once (default 100)")
      ->excludes(rate)
      ->check(CLI::PositiveNumber);
  erun->add_option("--json", json_path, "Write the summary as JSON to this file");
  erun->add_option("--show", eopt.show, "Print the process data of this many finished instances, before and after");
  erun->add_option("--bootstrap", eopt.bootstrap, "Kafka bootstrap servers (default: $FXC_KAFKA_BOOTSTRAP, else 127.0.0.1:9092)");
  erun->add_option("--profile", eopt.profile, "Engine identity headers: 4.x (Fx-AppId, Fx-RootAppId, Fx-BuildId) or 5.x "
                                              "(Fx-Build-App-Version-Id, Fx-WorkspaceId, Fx-Organization-Id)")
      ->capture_default_str()
      ->check(CLI::IsMember({"4.x", "5.x"}));
  erun->add_option("--partitions", eopt.partitions, "Partitions of the topics the simulator creates when missing")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  erun->add_option("--otlp-endpoint", eopt.otlp_endpoint,
                   "Trace the send and receive nodes, exporting OTLP/HTTP to this collector (e.g. http://127.0.0.1:4318)");
  erun->add_option("--trace-format", eopt.trace_format,
                   "Trace header the engine sends: w3c (traceparent, engine >= 4.1) or jaeger (uber-trace-id)")
      ->capture_default_str()
      ->check(CLI::IsMember({"w3c", "jaeger"}));
  auto* elint = engine->add_subcommand("lint", "Check a process definition; non-zero on any problem");
  elint->add_option("process", process_path, "Process definition (YAML)")->required();
  auto* eprepare = engine->add_subcommand("prepare", "Create the process's topics when missing (engine run does it too)");
  eprepare->add_option("process", process_path, "Process definition (YAML)")->required();
  eprepare->add_option("--bootstrap", eopt.bootstrap, "Kafka bootstrap servers (default: $FXC_KAFKA_BOOTSTRAP, else 127.0.0.1:9092)");
  eprepare->add_option("--partitions", eopt.partitions, "Partitions of each topic created")->capture_default_str()->check(CLI::PositiveNumber);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  if (*handlers) {
    for (const auto& name : registry.names()) std::cout << name << "\t" << registry.description(name) << "\n";
    return 0;
  }
  if (*reference) {
    std::cout << config::markdown_reference();
    return 0;
  }
  if (*engine) {
    observability::setup_logging("info", "text");
    try {
      auto definition = engine::load_definition(process_path);
      if (*elint) {
        std::cout << process_path << ": ok\n";
        return 0;
      }
      if (*eprepare) {
        auto topics = definition.send_topics();
        for (const auto& t : definition.receive_topics()) topics.push_back(t);
        auto problems = kafka::create_topics(eopt.bootstrap, topics, eopt.partitions, std::chrono::seconds(30));
        for (const auto& p : problems) std::cerr << p << "\n";
        if (problems.empty()) std::cout << "topics ready: " << fmt::format("{}", fmt::join(topics, " ")) << "\n";
        return problems.empty() ? 0 : 1;
      }
      if (!data_path.empty()) eopt.data = engine::load_jsonl(data_path);
      if (eopt.rate <= 0 && eopt.concurrency == 0) eopt.concurrency = 100;
      eopt.progress = ::isatty(STDERR_FILENO) != 0;
      auto result = engine::run_engine(definition, eopt);
      std::cout << result.summary.to_table();
      for (const auto& shown : result.shown) {
        std::cout << "\ninstance " << shown.process_instance_uuid << " (" << shown.status << ")"
                  << (shown.trace_id.empty() ? "" : " trace " + shown.trace_id) << "\n  before: "
                  << boost::json::serialize(shown.before) << "\n  after:  " << boost::json::serialize(shown.after) << "\n";
      }
      if (!json_path.empty()) {
        std::ofstream out(json_path);
        out << boost::json::serialize(result.summary.to_json()) << "\n";
        if (!out) {
          std::cerr << json_path << ": cannot write the summary\n";
          return 1;
        }
      }
      return result.summary.exit_code();
    } catch (const ConfigError& e) {
      std::cerr << e.what() << "\n";
      return runtime::exit_config;
    }
  }
  if (*lint) {
    try {
      check(config_path, registry);
    } catch (const ConfigError& e) {
      std::cerr << e.what() << "\n";
      return runtime::exit_config;
    }
    std::cout << config_path << ": ok\n";
    return 0;
  }

  // run
  Checked checked;
  try {
    checked = check(config_path, registry);
  } catch (const ConfigError& e) {
    std::cerr << e.what() << "\n";
    return runtime::exit_config;
  }
  observability::setup_logging(checked.config.log.level, checked.config.log.format);
  try {
    runtime::Runtime rt(std::move(checked.config), std::move(checked.handler));
    return rt.run();
  } catch (const ConfigError& e) {
    spdlog::critical("{}", e.what());
    return runtime::exit_config;
  }
}

}  // namespace fxconnect
