#include "fxconnect/app.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include <boost/json/serialize.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "cli/extension.h"
#include "config/config.h"
#include "config/spec.h"
#include "core/secrets.h"
#include "flow/flow.h"
#include "flow/test_runner.h"
#include "kafka/client.h"
#include "observability/logging.h"
#include "runtime/kafka_settings.h"
#include "runtime/runtime.h"

namespace fxconnect {
namespace {

// Everything `lint` checks, in the order `run` needs it. Throws ConfigError with every problem.
struct Checked {
  config::ConnectorConfig config;
  std::unique_ptr<Handler> handler;
  std::vector<std::shared_ptr<observability::FlowStepMetrics>> flow_steps;
};
Checked check(const std::string& path, const Registry& registry) {
  Checked out{config::load(path), nullptr, {}};
  std::vector<std::string> problems =
      kafka::check_properties(runtime::consumer_settings(out.config), runtime::producer_settings(out.config));
  try {
    if (out.config.flow.steps) {
      auto flow = flow::compile(out.config);  // problems carry their own file:line:column
      out.flow_steps = flow::step_metrics(*flow);
      out.handler = flow::make_handler(std::move(flow));
    } else {
      out.handler = registry.create(out.config.handler.name, out.config.handler.options);
    }
  } catch (const ConfigError& e) {
    problems.push_back(out.config.flow.steps ? std::string(e.what()) : fmt::format("{}: handler: {}", path, e.what()));
  }
  if (!problems.empty()) {
    std::string all;
    for (const auto& p : problems) all += (all.empty() ? "" : "\n") + p;
    throw ConfigError(all);
  }
  return out;
}

}  // namespace

int run_cli(int argc, char** argv, const Registry& registry) { return cli::run(argc, argv, registry, {}); }

int cli::run(int argc, char** argv, const Registry& registry, std::vector<std::unique_ptr<Extension>> extensions) {
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
  flow::TestOptions test_options;
  auto* test = app.add_subcommand(
      "test", "Run a flow's test cases without Kafka or network: recorded legacy answers, fixed clock and UUIDs");
  test->add_option("files", test_options.files,
                   "The connector config and tests files (YAML with `tests:`; the connector may come from their "
                   "`config:`)")
      ->required();
  test->add_option("--case", test_options.only, "Run only the cases whose name contains this text");
  test->add_flag("--explain", test_options.explain, "Print each step's input and output (the playground)");
  for (auto& e : extensions) e->add_to(app);

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
  if (*test) {
    // A case's mismatch message may quote a header built from a secret: both outputs are redacted
    // (docs/security.md), so they are printed once the run is over.
    std::ostringstream out, err;
    int code = flow::run_tests(test_options, out, err);
    std::cout << core::redact(out.str());
    std::cerr << core::redact(err.str());
    return code;
  }
  for (auto& e : extensions) {
    if (auto code = e->run()) return *code;
  }
  if (*lint) {
    try {
      check(config_path, registry);
    } catch (const ConfigError& e) {
      std::cerr << core::redact(e.what()) << "\n";
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
    std::cerr << core::redact(e.what()) << "\n";
    return runtime::exit_config;
  }
  observability::setup_logging(checked.config.log.level, checked.config.log.format);
  try {
    runtime::Runtime rt(std::move(checked.config), std::move(checked.handler));
    rt.add_flow_metrics(std::move(checked.flow_steps));
    return rt.run();
  } catch (const ConfigError& e) {
    spdlog::critical("{}", e.what());
    return runtime::exit_config;
  }
}

}  // namespace fxconnect
