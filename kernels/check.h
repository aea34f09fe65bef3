// Errors. Every failure is a bnas::Error carrying file:line, the failing call or condition, and
// one plain sentence for the user; the CLI prints what() on one line and exits non-zero. Defined
// in the lowest layer (bnas_kernels_cpu, with kernels/check.cpp), whose kernels throw them too;
// the layers above include them through engine/check.h.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace bnas {

class Error : public std::runtime_error {
 public:
  Error(const std::string& message, const std::string& where)
      : std::runtime_error(message), where_(where) {}
  // "file:line: call", for developers; what() is the sentence for the user.
  const std::string& where() const { return where_; }

 private:
  std::string where_;
};

namespace detail {
template <class... Args>
std::string concat(const Args&... args) {
  std::ostringstream s;
  (s << ... << args);
  return s.str();
}
[[noreturn]] void fail(const char* file, int line, const char* call, const std::string& message);
}  // namespace detail
}  // namespace bnas

// BNAS_CHECK(cond, "sentence parts", ...): throws bnas::Error when cond is false.
#define BNAS_CHECK(cond, ...)                                                              \
  do {                                                                                     \
    if (!(cond)) ::bnas::detail::fail(__FILE__, __LINE__, #cond,                           \
                                      ::bnas::detail::concat(__VA_ARGS__));                \
  } while (0)
#define BNAS_FAIL(...) \
  ::bnas::detail::fail(__FILE__, __LINE__, "", ::bnas::detail::concat(__VA_ARGS__))
