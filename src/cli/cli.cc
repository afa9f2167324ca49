#include "fxconnect/app.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include <curl/curl.h>
#include <librdkafka/rdkafka.h>
#include <boost/json/serialize.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "cli/extension.h"
#include "config/asyncapi.h"
#include "config/config.h"
#include "config/spec.h"
#include "core/duration.h"
#include "core/secrets.h"
#include "flow/flow.h"
#include "flow/test_runner.h"
#include "kafka/client.h"
#include "observability/logging.h"
#include "runtime/kafka_settings.h"
#include "runtime/redrive.h"
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

// `--version`: this program's version and those of the C libraries it runs with (the shared ones
// loaded now, which may be newer than those it was built against).
std::string version_text() {
  const curl_version_info_data* curl = curl_version_info(CURLVERSION_NOW);
  return fmt::format("fxconnect {}\nlibrdkafka {}\nlibcurl {}", FXC_VERSION, rd_kafka_version_str(),
                     curl && curl->version ? curl->version : "unknown");
}

}  // namespace

int run_cli(int argc, char** argv, const Registry& registry) { return cli::run(argc, argv, registry, {}); }

int cli::run(int argc, char** argv, const Registry& registry, std::vector<std::unique_ptr<Extension>> extensions) {
  CLI::App app{"fxconnect: connectors between a process engine and legacy systems, over Kafka"};
  app.set_version_flag("--version", version_text());
  app.require_subcommand(1);

  std::string config_path;
  auto* run = app.add_subcommand("run", "Run a connector until SIGTERM/SIGINT");
  run->add_option("config", config_path, "Connector config (YAML); see docs/config.md")->required();
  auto* lint = app.add_subcommand("lint", "Check a connector config without connecting; non-zero on any problem");
  lint->add_option("config", config_path, "Connector config (YAML)")->required();
  auto* handlers = app.add_subcommand("handlers", "List the handlers this program offers");
  auto* reference = app.add_subcommand("config-reference", "Print the config reference (docs/config.md)");
  auto* schema = app.add_subcommand(
      "config-schema", "Print the config's JSON Schema, draft 2020-12 (docs/config.schema.json), for editors");
  flow::TestOptions test_options;
  auto* test = app.add_subcommand(
      "test", "Run a flow's test cases without Kafka or network: recorded legacy answers, fixed clock and UUIDs");
  test->add_option("files", test_options.files,
                   "The connector config and tests files (YAML with `tests:`; the connector may come from their "
                   "`config:`)")
      ->required();
  test->add_option("--case", test_options.only, "Run only the cases whose name contains this text");
  test->add_flag("--explain", test_options.explain, "Print each step's input and output (the playground)");
  std::string asyncapi_config, asyncapi_output;
  auto* docs = app.add_subcommand("docs", "Documents made from a connector config");
  docs->require_subcommand(1);
  auto* asyncapi = docs->add_subcommand(
      "asyncapi", "Write the connector's AsyncAPI 3.0 document (JSON): topics, headers, message schemas, DLQ");
  asyncapi->add_option("config", asyncapi_config, "The connector config (YAML)")->required();
  asyncapi->add_option("--output,-o", asyncapi_output, "Write it to this file instead of stdout");
  runtime::RedriveOptions redrive_options;
  std::string redrive_config, redrive_since, redrive_rate = "100/s", redrive_code, redrive_group;
  auto* dlq = app.add_subcommand("dlq", "Dead letters (errors.dlq_topic)");
  dlq->require_subcommand(1);
  auto* redrive = dlq->add_subcommand(
      "redrive",
      "Send dead letters back to their source topic (original key, headers without fxconnect-*, bytes), at a "
      "bounded rate, committing progress so that a next run does not send them again");
  redrive->add_option("--config", redrive_config, "The connector config: its kafka section and errors.dlq_topic")
      ->required();
  redrive->add_option("--error-code", redrive_code,
                      "Only dead letters with this fxconnect-error-code (e.g. legacy_unavailable); each code keeps "
                      "its own progress");
  redrive->add_option("--since", redrive_since,
                      "Only dead letters written since: an RFC 3339 time (2026-11-30T08:00:00Z) or a duration back "
                      "from now (2h); older ones are passed over");
  redrive->add_flag("--dry-run", redrive_options.dry_run, "Print what would be sent; send and commit nothing");
  redrive->add_option("--rate", redrive_rate, "At most this many records per unit of time: 100/s, 10/ms, 600/m")
      ->capture_default_str();
  redrive->add_option("--group", redrive_group,
                      "The consumer group keeping the progress (default <kafka.group_id>.dlq-redrive[.<error code>])");
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
  if (*schema) {
    std::cout << config::json_schema();
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
  if (*asyncapi) {
    try {
      auto document = config::asyncapi_document(config::load(asyncapi_config));
      if (asyncapi_output.empty()) {
        std::cout << document;
      } else {
        std::ofstream f(asyncapi_output);
        f << document;
        if (!f.flush()) {
          std::cerr << fmt::format("{}: cannot write the file\n", asyncapi_output);
          return 1;
        }
        std::cout << fmt::format("{}: AsyncAPI 3.0 document of {}\n", asyncapi_output, asyncapi_config);
      }
    } catch (const ConfigError& e) {
      std::cerr << core::redact(e.what()) << "\n";
      return runtime::exit_config;
    }
    return 0;
  }
  if (*redrive) {
    auto rate = core::parse_rate(redrive_rate);
    if (!rate) {
      std::cerr << fmt::format("--rate '{}': expected calls per unit of time, e.g. 100/s, 10/ms or 600/m\n",
                               redrive_rate);
      return runtime::exit_config;
    }
    redrive_options.rate_per_second = *rate;
    if (!redrive_code.empty()) redrive_options.error_code = redrive_code;
    if (!redrive_group.empty()) redrive_options.group = redrive_group;
    if (!redrive_since.empty()) {
      redrive_options.since = runtime::parse_since(redrive_since, std::chrono::system_clock::now());
      if (!redrive_options.since) {
        std::cerr << fmt::format(
            "--since '{}': expected an RFC 3339 time (2026-11-30T08:00:00Z, or with +01:00) or a duration ({})\n",
            redrive_since, core::duration_syntax);
        return runtime::exit_config;
      }
    }
    config::ConnectorConfig connector;
    try {
      connector = config::load(redrive_config);
    } catch (const ConfigError& e) {
      std::cerr << core::redact(e.what()) << "\n";
      return runtime::exit_config;
    }
    observability::setup_logging(connector.log.level, connector.log.format);
    try {
      runtime::redrive(connector, redrive_options, std::cout);
    } catch (const ConfigError& e) {
      std::cerr << "dlq redrive: " << core::redact(e.what()) << "\n";
      return runtime::exit_config;
    } catch (const std::runtime_error& e) {
      std::cerr << "dlq redrive: " << core::redact(e.what()) << "\n";
      return runtime::exit_fatal;
    }
    return 0;
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
