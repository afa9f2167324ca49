// The connector config's keys, declared as data: loader, `lint` and docs/config.md all read this.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace fxconnect::config {

enum class Kind {
  section,  // a mapping of further keys declared here
  string,
  integer,
  boolean,      // true | false
  duration,     // `250ms`, `30s`, `2m`, `1h`
  enumeration,  // one of `choices` (separated by `|`)
  regex,        // ECMAScript regular expression, matched against whole topic names
  map,          // free-form `name: value` pairs (librdkafka properties, handler options)
  named,        // a mapping of names the user chooses to sections, each shaped by the fields
                // under `<path>.*` (e.g. `systems.corebanking.timeout` is `systems.*.timeout`)
  list,         // a sequence of strings (`[a, b]` or a block list)
  percent,      // `50%`, 0..100
  rate,         // calls per time: `200/s`, `10/ms`, `600/m`
  yaml,         // YAML kept as written and checked by its own compiler (`flow:`, `lists:`: src/flow/);
                // the fields under it (`flow[].map.*.from`...) only document its shape
};

struct Field {
  std::string_view path;  // dotted, e.g. "processing.max_in_flight"
  Kind kind;
  std::string_view default_value;  // as written in YAML; "" with required=false means "unset"
  bool required;
  std::string_view description;   // one line: what it does and why you would change it
  std::string_view choices = {};  // enumeration values, "a|b|c"
  long long min = 0;              // integer bounds (inclusive)
  long long max = 0;
};

// Every key of a connector config, sections first in document order.
std::span<const Field> connector_fields();

// The field at `path`, or nullptr.
const Field* find_field(std::string_view path);

// The config reference in Markdown (docs/config.md is this text; a test keeps them equal).
std::string markdown_reference();

// The config as a JSON Schema, draft 2020-12 (docs/config.schema.json is this text; a test keeps
// them equal): the same fields, descriptions and defaults, for editors (schema.cc says what it
// leaves to `lint`).
std::string json_schema();

}  // namespace fxconnect::config
