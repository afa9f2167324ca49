#include "config/asyncapi.h"

#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>
#include <boost/json.hpp>

#include "core/json_pretty.h"
#include "fxconnect/error.h"

namespace fxconnect::config {
namespace {

namespace json = boost::json;

json::object str(std::string description) {
  return json::object{{"type", "string"}, {"description", std::move(description)}};
}

json::array error_codes() {
  json::array codes;
  for (auto code : {ErrorCode::invalid_request, ErrorCode::handler_failed, ErrorCode::legacy_unavailable,
                    ErrorCode::legacy_timeout, ErrorCode::legacy_failed, ErrorCode::deadline_exceeded,
                    ErrorCode::reply_too_large, ErrorCode::reply_failed, ErrorCode::internal})
    codes.emplace_back(to_string(code));
  return codes;
}

// The headers the engine sets on a request (CONTRACT.md), which a reply carries back unchanged.
json::object engine_headers(bool dead_letter) {
  json::object props{
      {"processInstanceUuid", str("Correlation key of the waiting process instance; the reply's key.")},
      {"processInstanceId", str("Correlation key of the waiting process instance.")},
      {"fxContext", str("Which (sub)process waits: main, main:4, main:4:12.")},
      {"Fx-AppId", str("Application handling the message (engine 4.x).")},
      {"Fx-RootAppId", str("Application that started the chain (engine 4.x).")},
      {"Fx-BuildId", str("Build identity (engine 4.x).")},
      {"Fx-Build-App-Version-Id", str("Build identity (engine 5.x).")},
      {"Fx-WorkspaceId", str("Workspace identity (engine 5.x).")},
      {"Fx-Organization-Id", str("Tenant (engine 5.9+).")},
      {"traceparent", str("W3C trace context (engine 4.1+); on a reply, the connector's producer span.")},
      {"tracestate", str("W3C trace state.")},
      {"uber-trace-id", str("Jaeger trace context (engines before 4.1).")},
  };
  json::array required{"processInstanceUuid", "fxContext"};
  if (dead_letter) {
    props["fxconnect-error-code"] = json::object{
        {"type", "string"}, {"description", "The error's machine-readable code."}, {"enum", error_codes()}};
    props["fxconnect-error-message"] = str("What went wrong, for people.");
    props["fxconnect-error-retriable"] = json::object{{"type", "string"},
                                                      {"enum", json::array{"true", "false"}},
                                                      {"description", "Whether sending it again may work."}};
    props["fxconnect-error-field"] = str("The request field at fault, when one is.");
    props["fxconnect-source-topic"] = str("The topic the request was consumed from (where `dlq redrive` sends it).");
    props["fxconnect-source-partition"] = str("Its partition.");
    props["fxconnect-source-offset"] = str("Its offset.");
    required.emplace_back("fxconnect-error-code");
    required.emplace_back("fxconnect-source-topic");
  }
  return json::object{{"type", "object"},
                      {"description", dead_letter ? "Every header of the request, in order, then fxconnect's."
                                                  : "Headers the engine sets; any others the process modeller "
                                                    "configured come too. A reply carries every one back unchanged, "
                                                    "in order (trace context set to the connector's span)."},
                      {"properties", std::move(props)},
                      {"required", std::move(required)},
                      {"additionalProperties", json::object{{"type", "string"}}}};
}

json::object error_reply_payload() {
  json::object detail_props{
      {"code", json::object{{"type", "string"}, {"enum", error_codes()}}},
      {"message", str("The same text as errorMessage.")},
      {"retriable", json::object{{"type", "boolean"}, {"description", "Whether sending it again may work."}}},
      {"field", str("The request field at fault (invalid_request).")},
      {"step", str("The flow step that failed (declarative connectors).")},
  };
  json::object detail{{"type", "object"},
                      {"required", json::array{"code", "message", "retriable"}},
                      {"properties", std::move(detail_props)}};
  json::object props{{"errorMessage", str("What went wrong, for people (cut after 4 KiB of text).")},
                     {"error", std::move(detail)}};
  return json::object{{"type", "object"},
                      {"description", "A failed request's reply: the process takes its error path on errorMessage."},
                      {"required", json::array{"errorMessage", "error"}},
                      {"properties", std::move(props)}};
}

// The request's JSON Schema from the flow's first `validate:` step, as the file has it; null when
// the connector has none (a C++ handler, or a flow without validate).
json::value request_schema(const ConnectorConfig& config, std::string& from) {
  if (!config.flow.steps || !config.flow.steps->IsSequence()) return nullptr;
  for (const auto& step : *config.flow.steps) {
    if (!step.IsMap() || !step["validate"] || !step["validate"]["schema"]) continue;
    std::string name = step["validate"]["schema"].Scalar();
    std::string path = !name.empty() && name[0] == '/' ? name : config.flow.base_dir + "/" + name;
    std::ifstream f(path);
    if (!f) throw ConfigError(fmt::format("{}: flow validate schema '{}': cannot read the file", config.source, path));
    std::stringstream text;
    text << f.rdbuf();
    boost::system::error_code ec;
    auto schema = json::parse(text.str(), ec);
    if (ec || !schema.is_object()) {
      throw ConfigError(fmt::format("{}: flow validate schema '{}': not a JSON object ({})", config.source, path,
                                    ec ? ec.message() : "another JSON value"));
    }
    from = name;
    return schema;
  }
  return nullptr;
}

json::object ref(const std::string& to) { return json::object{{"$ref", to}}; }

}  // namespace

std::string asyncapi_document(const ConnectorConfig& config) {
  const std::string name = config.kafka.group_id;
  std::string schema_file;
  json::value request = request_schema(config, schema_file);
  json::object request_payload;
  if (request.is_object()) {
    // The flow's schema as written (draft-07, what the flow's validator reads), in AsyncAPI's
    // multi-format schema object.
    request_payload =
        json::object{{"schemaFormat", "application/schema+json;version=draft-07"}, {"schema", std::move(request)}};
  } else {
    request_payload = json::object{{"type", "object"},
                                   {"description",
                                    "A JSON object rendered by the engine from the process data; its fields are the "
                                    "handler's business (no flow `validate:` step describes them)."}};
  }
  json::object servers{
      {"kafka", json::object{{"host", config.kafka.bootstrap.substr(0, config.kafka.bootstrap.find(','))},
                             {"protocol", "kafka"},
                             {"description",
                              fmt::format("The connector's cluster (kafka.bootstrap: {}).", config.kafka.bootstrap)}}}};

  json::object key_binding{
      {"kafka", json::object{{"key", json::object{{"type", "string"}, {"description", "The process instance UUID."}}},
                             {"bindingVersion", "0.5.0"}}}};
  json::object messages{
      {"request", json::object{{"name", "request"},
                               {"title", "Engine request"},
                               {"summary", "What the engine's message send node publishes."},
                               {"contentType", "application/json"},
                               {"headers", engine_headers(false)},
                               {"payload", std::move(request_payload)},
                               {"bindings", key_binding}}},
      {"reply", json::object{{"name", "reply"},
                             {"title", "Reply"},
                             {"summary", "The handler's answer; the engine stores it under the receive node's key."},
                             {"contentType", "application/json"},
                             {"headers", engine_headers(false)},
                             {"payload", json::object{{"type", "object"}}},
                             {"bindings", key_binding}}},
      {"errorReply", json::object{{"name", "errorReply"},
                                  {"title", "Error reply"},
                                  {"summary", "A failed request's answer, so the process never waits forever."},
                                  {"contentType", "application/json"},
                                  {"headers", engine_headers(false)},
                                  {"payload", error_reply_payload()},
                                  {"bindings", key_binding}}},
  };

  json::object input_channel{
      {"title", "Requests"},
      {"messages", json::object{{"request", ref("#/components/messages/request")}}},
  };
  if (!config.input.topic.empty()) {
    input_channel["address"] = config.input.topic;
    input_channel["description"] = "The topic the engine's message send node writes to (input.topic).";
  } else {
    input_channel["address"] = nullptr;
    input_channel["description"] = fmt::format(
        "Every topic whose whole name matches the regular expression `{}` (input.pattern).", config.input.pattern);
    input_channel["x-fxconnect-topic-pattern"] = config.input.pattern;
  }
  json::object channels{
      {"requests", std::move(input_channel)},
      {"replies",
       json::object{{"address", config.reply.topic},
                    {"title", "Replies"},
                    {"description", fmt::format("Where the engine reads replies (reply.topic; it matches the engine's "
                                                "pattern `{}`). Key: processInstanceUuid.",
                                                config.reply.engine_pattern)},
                    {"messages", json::object{{"reply", ref("#/components/messages/reply")},
                                              {"errorReply", ref("#/components/messages/errorReply")}}}}},
  };
  json::object operations{
      {"receiveRequest", json::object{{"action", "receive"},
                                      {"channel", ref("#/channels/requests")},
                                      {"summary", "Consume a request; every one gets a reply or an error reply."},
                                      {"messages", json::array{ref("#/channels/requests/messages/request")}}}},
      {"sendReply", json::object{{"action", "send"},
                                 {"channel", ref("#/channels/replies")},
                                 {"summary", "Answer the request, carrying back every header it came with."},
                                 {"messages", json::array{ref("#/channels/replies/messages/reply"),
                                                          ref("#/channels/replies/messages/errorReply")}}}},
  };
  if (!config.errors.dlq_topic.empty()) {
    messages["deadLetter"] =
        json::object{{"name", "deadLetter"},
                     {"title", "Dead letter"},
                     {"summary",
                      "A failed request as it came (key, headers, bytes) plus fxconnect-* headers; "
                      "`fxconnect dlq redrive` sends it back to its source topic."},
                     {"headers", engine_headers(true)},
                     {"payload", json::object{{"description", "The request's bytes, unchanged."}}},
                     {"bindings", key_binding}};
    channels["deadLetters"] =
        json::object{{"address", config.errors.dlq_topic},
                     {"title", "Dead letters"},
                     {"description", "Failed requests (errors.dlq_topic), written beside their error reply."},
                     {"messages", json::object{{"deadLetter", ref("#/components/messages/deadLetter")}}}};
    operations["sendDeadLetter"] =
        json::object{{"action", "send"},
                     {"channel", ref("#/channels/deadLetters")},
                     {"summary", "Keep a failed request for inspection and redrive."},
                     {"messages", json::array{ref("#/channels/deadLetters/messages/deadLetter")}}};
  }

  std::string description = fmt::format(
      "A connector between a process engine and a legacy system (fxconnect), made from {} by `fxconnect docs "
      "asyncapi`. It consumes the engine's requests and answers each on the reply topic with every request "
      "header carried back.",
      config.source);
  if (!schema_file.empty()) description += fmt::format(" The request's schema is the flow's `{}`.", schema_file);
  json::object doc{
      {"asyncapi", "3.0.0"},
      {"info", json::object{{"title", name + " connector"}, {"version", "1.0.0"}, {"description", description}}},
      {"defaultContentType", "application/json"},
      {"servers", std::move(servers)},
      {"channels", std::move(channels)},
      {"operations", std::move(operations)},
      {"components", json::object{{"messages", std::move(messages)}}},
  };
  return core::pretty_json(doc);
}

}  // namespace fxconnect::config
