// Subcommands a program adds to the connector command line (the `fxconnect` program adds the
// engine simulator; a user's connector program gets none, so it does not link the simulator).
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "fxconnect/registry.h"

namespace CLI {
class App;
}

namespace fxconnect::cli {

class Extension {
 public:
  virtual ~Extension() = default;
  // Declares its subcommands and options on `app`.
  virtual void add_to(CLI::App& app) = 0;
  // After parsing: the exit code when one of its subcommands was chosen, else nullopt.
  virtual std::optional<int> run() = 0;
};

// run_cli() with `extensions`.
int run(int argc, char** argv, const Registry& registry, std::vector<std::unique_ptr<Extension>> extensions);

}  // namespace fxconnect::cli
