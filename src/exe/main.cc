// The `fxconnect` program: the CLI with the built-in handlers.
#include "fxconnect/app.h"

int main(int argc, char** argv) {
  fxconnect::Registry registry;
  fxconnect::register_builtin_handlers(registry);
  return fxconnect::run_cli(argc, argv, std::move(registry));
}
