// The `fxconnect` program: the connector command line with the built-in handlers, plus the
// engine simulator (`fxconnect engine ...`), which user connector programs do not carry.
#include "cli/extension.h"
#include "engine/command.h"
#include "fxconnect/registry.h"

int main(int argc, char** argv) {
  fxconnect::Registry registry;
  fxconnect::register_builtin_handlers(registry);
  std::vector<std::unique_ptr<fxconnect::cli::Extension>> extensions;
  extensions.push_back(fxconnect::engine::command());
  return fxconnect::cli::run(argc, argv, registry, std::move(extensions));
}
