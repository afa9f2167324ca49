// PLACEHOLDER
#include "fxconnect/legacy.h"

namespace fxconnect {
std::string SqlResult::json() const { return "[]"; }
}  // namespace fxconnect
