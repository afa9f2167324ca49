// jq expressions (Debian's libjq 1.6) for a flow's conditions (`fail_when: - if:`), computed
// fields (`map: x: { jq: ... }`) and error message templates. libjq 1.6 is not safe across
// threads: a JqProgram is used on one thread only (the runtime's loop; see flow.cc).
// jq's numbers are doubles: exact copies never go through jq (use `from:`).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include <boost/json/value.hpp>

#include "fxconnect/error.h"

namespace fxconnect::flow {

class JqProgram {
 public:
  // Compiles `expression`; the error (internal code) carries jq's own message(s), one line.
  static Result<JqProgram> compile(std::string_view expression);
  // Compiles a text template with jq string interpolation: `rejected: \(.account.body.reason)`
  // is the jq string "rejected: \(.account.body.reason)" (a '"' in the text is escaped).
  static Result<JqProgram> compile_text(std::string_view text);

  JqProgram(JqProgram&&) noexcept;
  JqProgram& operator=(JqProgram&&) noexcept;
  ~JqProgram();

  // Runs the program on `input_json` (JSON text) and returns its first output, parsed with
  // core::parse_exact. Errors (code handler_failed): input larger than `max_input_bytes`
  // ("jq input is N bytes; the limit is M"), a jq runtime error (jq's message), no output
  // ("jq expression produced no value").
  Result<boost::json::value> first(std::string_view input_json, std::size_t max_input_bytes) const;
  // first() and jq's truthiness: false and null are false, anything else true.
  Result<bool> test(std::string_view input_json, std::size_t max_input_bytes) const;
  const std::string& expression() const { return expression_; }

 private:
  JqProgram() = default;
  struct State;
  std::unique_ptr<State> state_;
  std::string expression_;
};

}  // namespace fxconnect::flow
