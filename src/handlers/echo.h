// Built-in handler `echo`: replies with the request body. For tests, demos and benchmarks.
#pragma once

#include "fxconnect/registry.h"

namespace fxconnect::handlers {

// Options: `delay` (duration, default 0ms): wait this long before replying, on a timer (no
// thread is held), so a connector can stand in for a slow legacy system.
void register_echo(Registry& registry);

}  // namespace fxconnect::handlers
