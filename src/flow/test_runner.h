// `fxconnect test`: runs a flow's test cases without Kafka and without the network. Each case's
// request goes through the flow; calls to `systems:` are answered by the case's recorded responses
// in order (an unexpected call, or an expectation left unused, fails the case); the clock and the
// UUIDs are fixed. See README.md ("Declarative connectors") for the tests file.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace fxconnect::flow {

struct TestOptions {
  // Connector configs and tests files, in any order: a file with a top-level `tests:` is a tests
  // file; the connector is the one other file given, else the tests files' `config:`.
  std::vector<std::string> files;
  std::string only;      // run only the cases whose name contains this
  bool explain = false;  // print each step's input and output
};

// Prints one line per case (`ok    name` / `FAIL  name` and, under a failure, a diff by JSON
// path), and `N passed, N failed` last. Returns 0 when every case passed, 1 when one failed, 2 when
// the files could not be used (a config or tests file refused: the reason on `err`).
int run_tests(const TestOptions& options, std::ostream& out, std::ostream& err);

}  // namespace fxconnect::flow
