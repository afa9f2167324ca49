// `fxconnect engine run | lint | prepare`: the engine simulator on the command line.
#include "engine/command.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <boost/json/serialize.hpp>

#include "config/kafka_security.h"
#include "core/duration.h"
#include "core/secrets.h"
#include "engine/engine.h"
#include "kafka/client.h"
#include "observability/logging.h"
#include "systems/http/kafka_token.h"

namespace fxconnect::engine {
namespace {

class EngineCommand final : public cli::Extension {
 public:
  void add_to(CLI::App& app) override {
    engine_ = app.add_subcommand("engine", "Play the process engine: run process definitions against connectors");
    engine_->require_subcommand(1);
    const char* env_bootstrap = std::getenv("FXC_KAFKA_BOOTSTRAP");
    eopt_.bootstrap = env_bootstrap ? env_bootstrap : "127.0.0.1:9092";
    erun_ = engine_->add_subcommand("run", "Run instances of a process definition and report what they saw");
    erun_->add_option("process", process_path_, "Process definition (YAML); see docs/engine.md")->required();
    erun_->add_option("--instances,-n", eopt_.instances, "Instances to run")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    erun_->add_option("--data", data_path_,
                      "JSON lines: the process data of each instance (cycled); default: the definition's sample_data");
    auto* rate = erun_
                     ->add_option("--rate", eopt_.rate,
                                  "Open loop: instances started per second (latency counts from when each was due)")
                     ->check(CLI::PositiveNumber);
    erun_->add_option("--concurrency,-c", eopt_.concurrency, "Closed loop: instances running at once (default 100)")
        ->excludes(rate)
        ->check(CLI::PositiveNumber);
    erun_->add_option("--json", json_path_, "Write the summary as JSON to this file");
    erun_->add_option("--report", report_path_,
                      "Write an HTML report to this file: throughput and latency over time, the latency histogram, "
                      "outcomes (one self-contained page)");
    erun_->add_option("--progress-every", progress_every_,
                      "When stderr is not a terminal: a progress line this often (default 5s; on a terminal one "
                      "line is rewritten every 0.5 s)");
    erun_->add_option("--show", eopt_.show, "Print the process data of this many finished instances, before and after");
    erun_->add_option("--bootstrap", eopt_.bootstrap,
                      "Kafka bootstrap servers (default: the --kafka-config file's kafka.bootstrap, else "
                      "$FXC_KAFKA_BOOTSTRAP, else 127.0.0.1:9092)");
    erun_->add_option("--kafka-config,--config", kafka_config_,
                      "A YAML file with a `kafka:` section (a connector config will do): its bootstrap, security "
                      "(TLS, SASL) and properties are used for every client (docs/security.md)");
    erun_
        ->add_option("--profile", eopt_.profile,
                     "Engine identity headers: 4.x (Fx-AppId, Fx-RootAppId, Fx-BuildId) or 5.x "
                     "(Fx-Build-App-Version-Id, Fx-WorkspaceId, Fx-Organization-Id)")
        ->capture_default_str()
        ->check(CLI::IsMember({"4.x", "5.x"}));
    erun_->add_option("--partitions", eopt_.partitions, "Partitions of the topics the simulator creates when missing")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    erun_->add_option(
        "--otlp-endpoint", eopt_.otlp_endpoint,
        "Trace the send and receive nodes, exporting OTLP/HTTP to this collector (e.g. http://127.0.0.1:4318)");
    erun_
        ->add_option("--trace-format", eopt_.trace_format,
                     "Trace header the engine sends: w3c (traceparent, engine >= 4.1) or jaeger (uber-trace-id)")
        ->capture_default_str()
        ->check(CLI::IsMember({"w3c", "jaeger"}));
    elint_ = engine_->add_subcommand("lint", "Check a process definition; non-zero on any problem");
    elint_->add_option("process", process_path_, "Process definition (YAML)")->required();
    eprepare_ = engine_->add_subcommand("prepare", "Create the process's topics when missing (engine run does it too)");
    eprepare_->add_option("process", process_path_, "Process definition (YAML)")->required();
    eprepare_->add_option("--bootstrap", eopt_.bootstrap,
                          "Kafka bootstrap servers (default: the --kafka-config file's kafka.bootstrap, else "
                          "$FXC_KAFKA_BOOTSTRAP, else 127.0.0.1:9092)");
    eprepare_->add_option("--kafka-config,--config", kafka_config_,
                          "A YAML file with a `kafka:` section: its bootstrap, security and properties");
    eprepare_->add_option("--partitions", eopt_.partitions, "Partitions of each topic created")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
  }

  std::optional<int> run() override {
    if (!*engine_) return std::nullopt;
    {
      observability::setup_logging("info", "text");
      try {
        auto definition = load_definition(process_path_);
        if (*elint_) {
          std::cout << process_path_ << ": ok\n";
          return 0;
        }
        apply_kafka_config();
        if (*eprepare_) {
          auto topics = definition.send_topics();
          for (const auto& t : definition.receive_topics()) topics.push_back(t);
          auto problems = kafka::create_topics(eopt_.bootstrap, topics, eopt_.partitions, std::chrono::seconds(30), {},
                                               eopt_.kafka_properties, eopt_.oauth_token);
          for (const auto& p : problems) std::cerr << core::redact(p) << "\n";
          if (problems.empty()) std::cout << "topics ready: " << fmt::format("{}", fmt::join(topics, " ")) << "\n";
          return problems.empty() ? 0 : 1;
        }
        if (!data_path_.empty()) eopt_.data = load_jsonl(data_path_);
        if (eopt_.rate <= 0 && eopt_.concurrency == 0) eopt_.concurrency = 100;
        eopt_.progress =
            ::isatty(STDERR_FILENO) != 0 ? EngineOptions::Progress::terminal : EngineOptions::Progress::lines;
        if (!progress_every_.empty()) {
          auto every = core::parse_duration(progress_every_);
          if (!every || every->count() == 0) {
            std::cerr << fmt::format("--progress-every '{}': expected {}\n", progress_every_, core::duration_syntax);
            return 2;
          }
          eopt_.progress_every = *every;
        }
        eopt_.timeline = !report_path_.empty();
        auto result = run_engine(definition, eopt_);
        std::cout << result.summary.to_table();
        for (const auto& shown : result.shown) {
          std::cout << "\ninstance " << shown.process_instance_uuid << " (" << shown.status << ")"
                    << (shown.trace_id.empty() ? "" : " trace " + shown.trace_id)
                    << "\n  before: " << boost::json::serialize(shown.before)
                    << "\n  after:  " << boost::json::serialize(shown.after) << "\n";
        }
        if (!json_path_.empty()) {
          std::ofstream out(json_path_);
          out << boost::json::serialize(result.summary.to_json()) << "\n";
          if (!out) {
            std::cerr << json_path_ << ": cannot write the summary\n";
            return 1;
          }
        }
        if (!report_path_.empty()) {
          std::ofstream out(report_path_);
          out << html_report(result.summary, result.timeline);
          if (!out.flush()) {
            std::cerr << report_path_ << ": cannot write the report\n";
            return 1;
          }
          std::cerr << "engine: report written to " << report_path_ << "\n";
        }
        return result.summary.exit_code();
      } catch (const ConfigError& e) {
        std::cerr << core::redact(e.what()) << "\n";
        return 2;  // as a refused connector config
      }
    }
  }

 private:
  // `--kafka-config`: the file's kafka.bootstrap unless --bootstrap was given, its security and
  // properties for every client.
  void apply_kafka_config() {
    if (kafka_config_.empty()) return;
    auto section = config::load_kafka_section(kafka_config_);
    bool explicit_bootstrap = (erun_->count("--bootstrap") + eprepare_->count("--bootstrap")) > 0;
    if (!explicit_bootstrap && !section.bootstrap.empty()) eopt_.bootstrap = section.bootstrap;
    eopt_.kafka_properties = config::kafka_security_properties(section.security, kafka_config_);
    eopt_.kafka_properties.insert(eopt_.kafka_properties.end(), section.properties.begin(), section.properties.end());
    if (section.security.mechanism == "OAUTHBEARER" && section.security.protocol.rfind("sasl_", 0) == 0) {
      eopt_.oauth_token = systems::kafka_token_source(section.security);
    }
    for (const auto& warning : config::kafka_security_warnings(section.security)) spdlog::warn("engine: {}", warning);
  }

  std::string kafka_config_;
  CLI::App* engine_ = nullptr;
  CLI::App* erun_ = nullptr;
  CLI::App* elint_ = nullptr;
  CLI::App* eprepare_ = nullptr;
  std::string process_path_, data_path_, json_path_, progress_every_, report_path_;
  EngineOptions eopt_;
};

}  // namespace

std::unique_ptr<cli::Extension> command() { return std::make_unique<EngineCommand>(); }

}  // namespace fxconnect::engine
