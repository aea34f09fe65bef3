// Helpers shared by the optimizer tests: fixture paths, random tensors, norm-wise errors.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <unistd.h>
#include <vector>

#include "engine/tensor.h"

namespace bnas::testing {

inline std::string optim_fixture(const std::string& name) {
  return std::string(BNAS_SOURCE_DIR) + "/tests/reference/fixtures/optim/" + name + ".safetensors";
}

inline std::string optim_temp_path(const std::string& name) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("bnas_optim_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return (dir / name).string();
}

// N(0, scale^2) values from a fixed seed.
inline std::vector<double> random_values(int64_t n, uint64_t seed, double scale = 1.0) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> d(0.0, scale);
  std::vector<double> v(static_cast<size_t>(n));
  for (double& x : v) x = d(rng);
  return v;
}

inline Tensor random_tensor(const Shape& s, uint64_t seed, DType dt = DType::F32, Device dev = Device::cpu(),
                            double scale = 1.0) {
  return Tensor::from_vector(random_values(s.numel(), seed, scale), s, dt, dev);
}

// max |a - b| / max(max |b|, floor): the norm-wise relative error of the op harness.
inline double rel_error(const std::vector<double>& a, const std::vector<double>& b, double floor = 1e-12) {
  if (a.size() != b.size()) return INFINITY;
  double num = 0, den = floor;
  for (size_t i = 0; i < a.size(); ++i) {
    num = std::max(num, std::abs(a[i] - b[i]));
    den = std::max(den, std::abs(b[i]));
    if (std::isnan(a[i]) != std::isnan(b[i])) return INFINITY;
  }
  return num / den;
}
inline double rel_error(const Tensor& a, const Tensor& b) { return rel_error(a.to_doubles(), b.to_doubles()); }

}  // namespace bnas::testing
