// What a call to a legacy system carries from the request it serves (no libcurl in here: the
// runtime includes it).
#pragma once

#include <chrono>
#include <memory>

#include "observability/trace_context.h"
#include "observability/tracer.h"

namespace fxconnect::systems {

struct CallContext {
  std::chrono::steady_clock::time_point deadline;       // of the request: no attempt outlives it
  std::shared_ptr<const observability::Tracer> tracer;  // null: not traced
  observability::TraceContext parent;                   // the handler's span: attempts are its children
};

}  // namespace fxconnect::systems
