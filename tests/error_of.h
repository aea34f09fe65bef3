// What a call throws as a bnas::Error: its message, or "" when it throws nothing, for tests that
// check the sentence a user would read.
#pragma once
#include <functional>
#include <string>

#include "engine/check.h"

namespace bnas::testing {

inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace bnas::testing
