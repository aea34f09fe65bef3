#include "tests/ops/harness.h"

#include <algorithm>
#include <cmath>

#include "engine/rng.h"

namespace bnas::testing {

std::vector<OpCase>& op_cases() {
  static std::vector<OpCase> cases;
  return cases;
}

RegisterOpCases::RegisterOpCases(std::vector<OpCase> cases) {
  for (auto& c : cases) op_cases().push_back(std::move(c));
}

std::vector<Tensor> make_inputs(const OpCase& c, DType dtype, Device device, uint64_t seed) {
  Generator gen(seed, RngStream::Test);
  std::vector<Tensor> out;
  for (const InputSpec& s : c.inputs) {
    const int64_t n = s.shape.numel();
    if (s.kind == InputSpec::Kind::Labels) {
      std::vector<int32_t> v(static_cast<size_t>(n));
      for (auto& x : v) x = static_cast<int32_t>(gen.below(static_cast<uint32_t>(s.classes)));
      out.push_back(Tensor::from_ints(v, s.shape, device));
      continue;
    }
    std::vector<double> v;
    if (s.kind == InputSpec::Kind::Positive) {
      for (float u : gen.uniform(static_cast<uint64_t>(n))) v.push_back(0.5 + u);
    } else {
      v = gen.normal(static_cast<uint64_t>(n));
    }
    Tensor t = Tensor::from_vector(v, s.shape, dtype, device);
    if (s.differentiable) t.set_requires_grad(true);
    out.push_back(t);
  }
  return out;
}

double relative_error(const std::vector<double>& a, const std::vector<double>& b, double floor) {
  if (a.size() != b.size()) return INFINITY;
  double diff = 0, scale = floor;
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = std::fabs(a[i] - b[i]);
    diff = std::isnan(d) ? INFINITY : std::max(diff, d);
    scale = std::max(scale, std::fabs(b[i]));
  }
  return diff / scale;
}

}  // namespace bnas::testing
