#include "engine/rng.h"

#include <utility>

#include "kernels/philox.h"

namespace bnas {

std::vector<float> Generator::uniform(uint64_t n) {
  const RandomRange r = take(n);
  std::vector<float> out(n);
  for (uint64_t i = 0; i < n; ++i) out[i] = rng::uniform_at(r.seed, r.stream, r.offset, i);
  return out;
}

std::vector<double> Generator::normal(uint64_t n, double mean, double std) {
  const RandomRange r = take(2 * n);
  std::vector<double> out(n);
  for (uint64_t i = 0; i < n; ++i) out[i] = mean + std * rng::normal_at(r.seed, r.stream, r.offset, i);
  return out;
}

std::vector<uint32_t> Generator::permutation(uint32_t n) {
  std::vector<uint32_t> p(n);
  for (uint32_t i = 0; i < n; ++i) p[i] = i;
  const RandomRange r = take(n);
  for (uint32_t i = n; i > 1; --i) {
    const uint32_t j = rng::below_at(r.seed, r.stream, r.offset, n - i, i);
    std::swap(p[i - 1], p[j]);
  }
  return p;
}

uint32_t Generator::below(uint32_t n) {
  const RandomRange r = take(1);
  return rng::below_at(r.seed, r.stream, r.offset, 0, n);
}

}  // namespace bnas
