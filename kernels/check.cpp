#include "kernels/check.h"

namespace bnas::detail {
void fail(const char* file, int line, const char* call, const std::string& message) {
  std::string where = concat(file, ":", line);
  if (call && *call) where += concat(": ", call);
  throw Error(message.empty() ? concat("internal check failed at ", where) : message, where);
}
}  // namespace bnas::detail
