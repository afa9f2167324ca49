// The `fxconnect` command line, for programs that bring their own handlers.
//
//   int main(int argc, char** argv) {
//     fxconnect::Registry registry;
//     fxconnect::register_builtin_handlers(registry);
//     registry.add("onboarding", "...", make_onboarding_handler);
//     return fxconnect::run_cli(argc, argv, registry);
//   }
#pragma once

#include "fxconnect/registry.h"

namespace fxconnect {

// Parses argv (`run <config>`, `lint <config>`, `handlers`, ...) and runs the subcommand.
// Returns the process exit code.
int run_cli(int argc, char** argv, const Registry& registry);

}  // namespace fxconnect
