// jq over libjq 1.6. Every jv handed to a jv_* or jq_* function is consumed by it (jv_copy keeps
// a reference when the value is still needed); the comments at each call say which value is used
// up where.
#include "flow/jq.h"

#include <climits>
#include <string>
#include <utility>
#include <vector>

extern "C" {
#include <jq.h>
#include <jv.h>
}

#include "core/json_exact.h"

namespace fxconnect::flow {

namespace {

Error make_error(ErrorCode code, std::string message) {
  Error error;
  error.code = code;
  error.message = std::move(message);
  return error;
}
Error compile_error(std::string message) { return make_error(ErrorCode::internal, std::move(message)); }
Error eval_error(std::string message) { return make_error(ErrorCode::handler_failed, std::move(message)); }

// jq's messages on one line: runs of whitespace (the newline before the quoted program line, the
// trailing spaces) become one space.
std::string one_line(std::string_view text) {
  std::string out;
  bool space = false;
  for (char c : text) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

// The text of a message jv (consumed): a string as is, anything else as JSON.
std::string message_text(jv message) {
  if (jv_get_kind(message) == JV_KIND_STRING) {
    std::string text(jv_string_value(message), static_cast<std::size_t>(jv_string_length_bytes(jv_copy(message))));
    jv_free(message);
    return text;
  }
  jv dumped = jv_dump_string(message, 0);  // consumes message
  std::string text = jv_string_value(dumped);
  jv_free(dumped);
  return text;
}

bool ident_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool ident_char(char c) { return ident_start(c) || (c >= '0' && c <= '9'); }

// What the program must not use, found by a small scan of the jq text (strings, their
// interpolations and comments understood): `import`/`include` (modules come from disk; libjq
// would look next to the process's working directory) and `stderr` (writes straight to the
// process's stderr, bypassing the logs). A name followed by a single ':' is an object key and
// allowed (`{import: 1}`). Returns the error message, or "" when the program is acceptable.
std::string forbidden_use(std::string_view program) {
  enum class Mode { code, string };
  struct Frame {
    Mode mode;
    int depth;  // open parentheses of an interpolation (code frames inside a string)
  };
  std::vector<Frame> stack{{Mode::code, 0}};
  const std::size_t n = program.size();
  std::size_t i = 0;
  while (i < n) {
    const char c = program[i];
    Frame& top = stack.back();
    if (top.mode == Mode::string) {
      if (c == '\\' && i + 1 < n && program[i + 1] == '(') {
        stack.push_back({Mode::code, 1});
        i += 2;
      } else if (c == '\\') {
        i += 2;
      } else {
        if (c == '"') stack.pop_back();
        ++i;
      }
      continue;
    }
    if (c == '#') {
      while (i < n && program[i] != '\n') ++i;
      continue;
    }
    if (c == '"') {
      stack.push_back({Mode::string, 0});
      ++i;
      continue;
    }
    if (c == '(' && stack.size() > 1) ++top.depth;
    if (c == ')' && stack.size() > 1 && --top.depth == 0) {
      stack.pop_back();
      ++i;
      continue;
    }
    if (c >= '0' && c <= '9') {  // a number: 1e5 is no name
      while (i < n &&
             (ident_char(program[i]) || program[i] == '.' ||
              ((program[i] == '+' || program[i] == '-') && (program[i - 1] == 'e' || program[i - 1] == 'E')))) {
        ++i;
      }
      continue;
    }
    if (!ident_start(c)) {
      ++i;
      continue;
    }
    const char before = i == 0 ? ' ' : program[i - 1];
    const std::size_t start = i;
    while (i < n && (ident_char(program[i]) || (program[i] == ':' && i + 1 < n && program[i + 1] == ':'))) {
      i += program[i] == ':' ? 2 : 1;
    }
    if (before == '.' || before == '$' || before == '@') continue;  // a field, a variable, a format
    std::size_t after = i;
    while (after < n && (program[after] == ' ' || program[after] == '\t' || program[after] == '\n')) ++after;
    if (after < n && program[after] == ':') continue;  // an object key
    const std::string_view name = program.substr(start, i - start);
    if (name == "import" || name == "include") {
      return "jq modules are not available (`" + std::string(name) + "`): flows do not load jq code from disk";
    }
    if (name == "stderr") return "jq's `stderr` is not available: it writes to the process's stderr";
  }
  return "";
}

}  // namespace

struct JqProgram::State {
  jq_state* jq = nullptr;
  std::vector<std::string> messages;  // what jq reported through the error callback
  bool input_asked = false;           // the program called `input` during this run

  State() = default;
  State(const State&) = delete;
  State& operator=(const State&) = delete;
  ~State() {
    if (jq != nullptr) jq_teardown(&jq);
  }

  // libjq 1.6's jq_reset (run by every jq_start and by jq_teardown) frees the halt's exit code and
  // message but leaves the state pointing at them, so the reset after the next one frees them
  // again. After a halt: one reset frees them (once), jq_halt points the state at values that own
  // nothing, and a second reset clears the halted flag; the next real run starts clean.
  void clear_halt() {
    jq_start(jq, jv_null(), 0);
    jq_halt(jq, jv_invalid(), jv_invalid());
    jq_start(jq, jv_null(), 0);
  }

  static void on_error(void* data, jv message) {  // owns `message`
    static_cast<State*>(data)->messages.push_back(one_line(message_text(message)));
  }
  static void on_debug(void* /*data*/, jv message) { jv_free(message); }
  // `input`/`inputs`: there is no further input. A plain jv_invalid() is what jq's own command
  // line returns at the end of its input: `inputs` is then empty, and `input` fails with libjq
  // 1.6's message "break" (first() says what it means).
  static jv on_input(jq_state* /*jq*/, void* data) {
    static_cast<State*>(data)->input_asked = true;
    return jv_invalid();
  }
};

JqProgram::JqProgram(JqProgram&&) noexcept = default;
JqProgram& JqProgram::operator=(JqProgram&&) noexcept = default;
JqProgram::~JqProgram() = default;

Result<JqProgram> JqProgram::compile(std::string_view expression) {
  JqProgram program;
  program.expression_ = std::string(expression);
  if (std::string forbidden = forbidden_use(expression); !forbidden.empty()) return compile_error(forbidden);

  auto state = std::make_unique<State>();
  state->jq = jq_init();
  if (state->jq == nullptr) return compile_error("jq could not be initialised (out of memory)");
  jq_set_error_cb(state->jq, &State::on_error, state.get());
  jq_set_debug_cb(state->jq, &State::on_debug, nullptr);
  jq_set_input_cb(state->jq, &State::on_input, state.get());
  // No module search path. Without this attribute libjq 1.6 aborts on an import (it concatenates
  // an invalid value); with it, nothing is found. Imports are refused above in any case.
  jq_set_attr(state->jq, jv_string("JQ_LIBRARY_PATH"), jv_array());  // both consumed

  if (jq_compile(state->jq, program.expression_.c_str()) == 0) {
    std::string message;
    for (const std::string& m : state->messages) {
      if (m.empty()) continue;
      if (!message.empty()) message += "; ";
      message += m;
    }
    if (message.empty()) message = "jq expression does not compile";
    return compile_error(std::move(message));
  }
  state->messages.clear();
  program.state_ = std::move(state);
  return program;
}

Result<JqProgram> JqProgram::compile_text(std::string_view text) {
  // Outside `\( ... )` a '"' is escaped; inside, jq code is copied as written (its strings, their
  // own interpolations and parentheses tracked so the group's end is found).
  enum class Mode { text, code, string };
  struct Frame {
    Mode mode;
    int depth;
  };
  std::vector<Frame> stack{{Mode::text, 0}};
  std::string literal = "\"";
  const std::size_t n = text.size();
  for (std::size_t i = 0; i < n; ++i) {
    const char c = text[i];
    Frame& top = stack.back();
    switch (top.mode) {
      case Mode::text:
      case Mode::string:
        if (c == '\\' && i + 1 < n) {
          literal.push_back(c);
          literal.push_back(text[i + 1]);
          if (text[i + 1] == '(') stack.push_back({Mode::code, 1});
          ++i;
        } else if (c == '\\') {
          literal += "\\\\";  // a lone backslash at the end would escape the closing quote
        } else if (c == '"' && top.mode == Mode::text) {
          literal += "\\\"";
        } else {
          if (c == '"') stack.pop_back();
          literal.push_back(c);
        }
        break;
      case Mode::code:
        literal.push_back(c);
        if (c == '"') {
          stack.push_back({Mode::string, 0});
        } else if (c == '(') {
          ++top.depth;
        } else if (c == ')' && --top.depth == 0) {
          stack.pop_back();
        }
        break;
    }
  }
  if (stack.size() != 1) {
    return compile_error("text template has an unclosed \\( ... ) group: " + std::string(text));
  }
  literal.push_back('"');
  return compile(literal);
}

Result<boost::json::value> JqProgram::first(std::string_view input_json, std::size_t max_input_bytes) const {
  if (input_json.size() > max_input_bytes) {
    return eval_error("jq input is " + std::to_string(input_json.size()) + " bytes; the limit is " +
                      std::to_string(max_input_bytes));
  }
  if (input_json.size() > static_cast<std::size_t>(INT_MAX)) {
    return eval_error("jq input is " + std::to_string(input_json.size()) + " bytes; libjq takes at most " +
                      std::to_string(INT_MAX));
  }
  State& state = *state_;
  state.messages.clear();
  state.input_asked = false;

  jv input = jv_parse_sized(input_json.data(), static_cast<int>(input_json.size()));
  if (!jv_is_valid(input)) {
    // jq_start must never see an invalid value (libjq asserts).
    std::string reason = jv_invalid_has_msg(jv_copy(input)) ? message_text(jv_invalid_get_msg(input))
                                                            : (jv_free(input), std::string("no JSON value"));
    return eval_error("jq input is not JSON: " + reason);
  }
  jq_start(state.jq, input, 0);  // consumes input
  jv output = jq_next(state.jq);
  if (!jv_is_valid(output)) {
    if (jv_invalid_has_msg(jv_copy(output))) {
      std::string message = one_line(message_text(jv_invalid_get_msg(output)));  // get_msg consumes output
      if (message == "break" && state.input_asked) message = "No more inputs (jq's `input` has nothing more to read)";
      return eval_error(message);
    }
    jv_free(output);
    if (jq_halted(state.jq) != 0) {
      std::string message = "jq program halted";
      jv halt_message = jq_get_error_message(state.jq);  // a copy
      if (jv_is_valid(halt_message) && jv_get_kind(halt_message) != JV_KIND_NULL) {
        message += ": " + one_line(message_text(halt_message));
      } else {
        jv_free(halt_message);
      }
      state.clear_halt();
      return eval_error(message);
    }
    return eval_error("jq expression produced no value");
  }
  jv dumped = jv_dump_string(output, 0);  // consumes output
  std::string text(jv_string_value(dumped), static_cast<std::size_t>(jv_string_length_bytes(jv_copy(dumped))));
  jv_free(dumped);
  auto value = core::parse_exact(text);
  if (!value.ok()) return eval_error("jq output is not usable JSON: " + value.error().message);
  return std::move(value).value();
}

Result<bool> JqProgram::test(std::string_view input_json, std::size_t max_input_bytes) const {
  auto value = first(input_json, max_input_bytes);
  if (!value.ok()) return value.error();
  const boost::json::value& v = value.value();
  return !(v.is_null() || (v.is_bool() && !v.get_bool()));
}

}  // namespace fxconnect::flow
