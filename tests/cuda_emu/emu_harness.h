// The case table behind tests/cuda_emu: each test_<file>_emu.cpp converts one kernels/cuda file
// (cuda_emu.py), runs its entry points in the emulator (cuda_emu.h) on host buffers, and compares
// with the kernels/cpu reference. A case is a name and a check; every file instantiates the one
// parameterised test CudaEmu.MatchesCpuReference with its own table (prefix emu_<file>).
// Outputs are poisoned with NaN before each call, so a kernel that skips an element fails.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <ostream>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

namespace bnas::testing {

struct EmuCase {
  std::string name;  // letters, digits and underscores (a gtest name)
  std::function<void()> check;
};
inline void PrintTo(const EmuCase& c, std::ostream* os) { *os << c.name; }
inline std::string emu_case_name(const ::testing::TestParamInfo<EmuCase>& i) { return i.param.name; }

class CudaEmu : public ::testing::TestWithParam<EmuCase> {};

// Tolerances, relative to the largest magnitude of the reference:
// sums accumulated in double in another order (chunked block trees against one loop), then
// rounded to float, may round to a neighbouring float: two ulps (2^-23 each) of the largest value;
constexpr double kDoubleSumTol = 2.5e-7;
// float sums of at most a few hundred terms in another order (warp butterflies, block trees,
// cuBLAS's k loop against the CPU's loops) differ by a few ulps (largest seen: 2.7e-7).
constexpr double kFloatSumTol = 1e-6;
// Everything else is the same host arithmetic in the same order on both sides: exact.

inline std::vector<float> randn(std::mt19937& rng, int64_t n) {
  std::normal_distribution<float> d;
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = d(rng);
  return v;
}
inline std::vector<float> nans(int64_t n) { return std::vector<float>(static_cast<size_t>(n), NAN); }

template <class T> bool is_nan(T v) {
  if constexpr (std::is_floating_point_v<T>) {
    return std::isnan(v);
  } else {
    return false;
  }
}

// Every element equal (== : -0 equals +0); NaN matches only NaN (the poison of an element that
// neither side writes, e.g. a gap of a strided output or an output not asked for).
template <class T> ::testing::AssertionResult same(const std::vector<T>& got, const std::vector<T>& want) {
  if (got.size() != want.size()) return ::testing::AssertionFailure() << "sizes " << got.size() << " != " << want.size();
  for (size_t i = 0; i < got.size(); ++i)
    if (!(got[i] == want[i]) && !(is_nan(got[i]) && is_nan(want[i])))
      return ::testing::AssertionFailure() << "element " << i << ": " << +got[i] << " != " << +want[i];
  return ::testing::AssertionSuccess();
}

// max |got - want| <= tol * max |want|; NaN matches only NaN, as in same().
template <class T>
::testing::AssertionResult close(const std::vector<T>& got, const std::vector<T>& want, double tol) {
  if (got.size() != want.size()) return ::testing::AssertionFailure() << "sizes " << got.size() << " != " << want.size();
  double scale = 1e-30, worst = 0;
  size_t at = 0;
  for (T v : want) scale = std::max(scale, std::abs(double(v)));
  for (size_t i = 0; i < got.size(); ++i) {
    const double e = std::isnan(double(got[i])) != std::isnan(double(want[i])) ? INFINITY
                     : std::isnan(double(want[i]))                          ? 0.0
                                                                              : std::abs(double(got[i]) - double(want[i]));
    if (e > worst) worst = e, at = i;
  }
  if (worst <= tol * scale) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "element " << at << ": " << got[at] << " vs " << want[at]
                                       << " (relative error " << worst / scale << " > " << tol << ")";
}

}  // namespace bnas::testing
