// The engine simulator's process definitions and templates (src/engine/definition.h,
// src/core/template.h). The input is a process definition file. When it parses, the process runs
// as the simulator runs it, against an echo connector: each send node's message and headers are
// rendered from the process data, its receive node stores the rendered message under its key,
// each gateway looks its paths up. The input is also used whole as a text template, a data path
// and an ISO 8601 duration. Checked: the only exception is ConfigError; a template that renders
// has every placeholder's path in the data; a path that is valid is found or not, never crashes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include <boost/json.hpp>

#include "core/template.h"
#include "engine/definition.h"
#include "fuzz_check.h"
#include "fxconnect/handler.h"

namespace {

using namespace fxconnect;
namespace json = boost::json;

const json::value& fixed_data() {
  static const json::value data = json::parse(
      R"({"customer": {"id": "C-1", "name": "Ana \"A\" Pop", "age": 30, "vip": true, "address": {"city": "Cluj"}},
          "items": [{"id": 7}, {"id": 8.5}], "none": null, "big": 18446744073709551615, "neg": -1e300})");
  return data;
}

// Every placeholder of a template that rendered names something: an instance variable or a path
// in the data.
void paths_resolve(const std::vector<std::string>& paths, const json::value& data) {
  for (const auto& p : paths) {
    FUZZ_CHECK(core::valid_path(p));
    if (p[0] != '@') FUZZ_CHECK(core::lookup(data, p) != nullptr);
  }
}

void run(const engine::ProcessDefinition& d) {
  (void)d.receive_topics();
  (void)d.send_topics();
  json::value data = d.sample_data;
  core::InstanceVars vars{"7f1c3a52-0000-4000-8000-000000000001", 1, 0};
  for (const auto& node : d.nodes) {
    if (const auto* send = std::get_if<engine::SendNode>(&node)) {
      auto message = core::render(send->message, data, vars);
      if (message) {
        paths_resolve(core::template_paths(send->message), data);
        (void)json::serialize(message.value());
      } else {
        FUZZ_CHECK(!message.error().message.empty());
      }
      for (const auto& [name, value] : send->headers) {
        auto text = core::render_text(value, data, vars);
        if (text) paths_resolve(core::text_template_paths(value), data);
      }
      // The echo connector answers with the message; the next receive node stores it.
      if (message && data.is_object()) data.as_object()["__last"] = message.value();
    } else if (const auto* receive = std::get_if<engine::ReceiveNode>(&node)) {
      FUZZ_CHECK(receive->timeout.count() > 0);
      if (const auto* last = data.as_object().if_contains("__last")) {
        json::value reply = *last;  // a copy first: inserting the key may move what `last` points to
        data.as_object()[receive->key] = std::move(reply);
      }
    } else if (const auto* gateway = std::get_if<engine::GatewayNode>(&node)) {
      for (const auto& branch : gateway->branches) (void)core::lookup(data, branch.present);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(bytes), size);

  try {
    run(engine::parse_definition(text, "fuzz.yaml"));
  } catch (const ConfigError& e) {
    FUZZ_CHECK(std::string_view(e.what()).size() > 0);
  }

  // The whole input as a text template, a path and a duration.
  core::InstanceVars vars{"uuid-1", 42, 3};
  auto problems = core::check_text_template(text);
  auto rendered = core::render_text(text, fixed_data(), vars);
  if (rendered) {
    FUZZ_CHECK(problems.empty());
    paths_resolve(core::text_template_paths(text), fixed_data());
  }
  auto as_json = core::render(json::value(text), fixed_data(), vars);
  if (rendered) FUZZ_CHECK(as_json.ok());  // a whole placeholder renders as its value, even an object
  if (!problems.empty()) FUZZ_CHECK(!as_json.ok() && !rendered.ok());
  if (core::valid_path(text)) (void)core::lookup(fixed_data(), text);
  if (auto d = engine::parse_iso_duration(text)) FUZZ_CHECK(d->count() >= 0);
  return 0;
}
