// The engine simulator's subcommands for the `fxconnect` program.
#pragma once

#include <memory>

#include "cli/extension.h"

namespace fxconnect::engine {

std::unique_ptr<cli::Extension> command();

}  // namespace fxconnect::engine
