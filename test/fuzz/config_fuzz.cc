// The connector config loader (src/config/config.h: parse(), with ${VAR} / ${VAR:-default} /
// $${ interpolation from the process environment). The input is a config file's text. A few
// variables are set so that interpolation reaches set, empty and unset variables. Checked: the
// only exception is ConfigError (a message per problem, with its place); a config that loads has
// what the loader promises (exactly one of input.topic and input.pattern; a handler or a flow; a
// reply topic matching the engine's pattern); interpolate() of the text agrees with itself.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "config/config.h"
#include "fuzz_check.h"
#include "fxconnect/handler.h"

namespace {

using namespace fxconnect;

const config::EnvLookup& env() {
  static const config::EnvLookup e = config::process_env();
  return e;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fxconnect::fuzz::quiet_logging();
  ::setenv("FXC_KAFKA_BOOTSTRAP", "127.0.0.1:19092,127.0.0.1:19093", 1);
  ::setenv("FXC_POSTGRES_DSN", "host=127.0.0.1 port=5432 dbname=bank user=fx", 1);
  ::setenv("FXC_GROUP", "fuzz-group", 1);
  ::setenv("FXC_EMPTY", "", 1);
  ::setenv("FXC_DOLLAR", "${FXC_GROUP}", 1);  // a value is never interpolated again
  ::unsetenv("FXC_UNSET");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);

  // Interpolation of the text as one scalar: deterministic, and text without '$' is unchanged.
  auto once = config::interpolate(text, env());
  auto twice = config::interpolate(text, env());
  FUZZ_CHECK(once.text == twice.text && once.error == twice.error);
  if (text.find('$') == std::string_view::npos) FUZZ_CHECK(once.error.empty() && once.text == text);

  try {
    auto c = config::parse(text, "fuzz.yaml", env());
    FUZZ_CHECK(c.input.topic.empty() != c.input.pattern.empty());
    FUZZ_CHECK(!c.kafka.bootstrap.empty() && !c.kafka.group_id.empty());
    FUZZ_CHECK(!c.reply.topic.empty());
    FUZZ_CHECK(config::topic_matches(c.reply.engine_pattern, c.reply.topic));
    FUZZ_CHECK(c.handler.name.empty() == (c.flow.steps != nullptr));
  } catch (const ConfigError& e) {
    FUZZ_CHECK(std::string_view(e.what()).size() > 0);
  }
  return 0;
}
