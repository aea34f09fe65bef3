// Philox4x32-10 counter-based random numbers (Salmon et al., SC'11), shared by both backends.
// A value is a pure function of (seed, counter): element i of a stream that starts at block
// `offset` is lane i % 4 of block offset + i / 4. CPU loops and CUDA kernels therefore draw the
// same bits for the same seed, whatever the thread layout.
#pragma once
#include <cmath>
#include <cstdint>

#include "kernels/hd.h"

namespace bnas::rng {

struct Bits4 {
  uint32_t x, y, z, w;
};

BNAS_HD uint32_t mulhilo32(uint32_t a, uint32_t b, uint32_t* hi) {
  const uint64_t p = static_cast<uint64_t>(a) * b;
  *hi = static_cast<uint32_t>(p >> 32);
  return static_cast<uint32_t>(p);
}

// Block `block` of the stream keyed by `seed`; `stream` separates independent streams that
// share a seed (e.g. weight init and data order).
BNAS_HD Bits4 philox4x32_10(uint64_t seed, uint64_t stream, uint64_t block) {
  uint32_t c0 = static_cast<uint32_t>(block), c1 = static_cast<uint32_t>(block >> 32);
  uint32_t c2 = static_cast<uint32_t>(stream), c3 = static_cast<uint32_t>(stream >> 32);
  uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
  for (int r = 0; r < 10; ++r) {
    uint32_t hi0, hi1;
    const uint32_t lo0 = mulhilo32(0xD2511F53u, c0, &hi0);
    const uint32_t lo1 = mulhilo32(0xCD9E8D57u, c2, &hi1);
    const uint32_t n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
    c0 = n0;
    c1 = lo1;
    c2 = n2;
    c3 = lo0;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return {c0, c1, c2, c3};
}

// The i-th 32-bit value of the stream.
BNAS_HD uint32_t bits_at(uint64_t seed, uint64_t stream, uint64_t offset, uint64_t i) {
  const Bits4 b = philox4x32_10(seed, stream, offset + i / 4);
  switch (i % 4) {
    case 0: return b.x;
    case 1: return b.y;
    case 2: return b.z;
    default: return b.w;
  }
}

// Uniform in [0, 1) with 24 random bits: exact in float, identical on both backends.
BNAS_HD float uniform_at(uint64_t seed, uint64_t stream, uint64_t offset, uint64_t i) {
  return static_cast<float>(bits_at(seed, stream, offset, i) >> 8) * (1.0f / 16777216.0f);
}

// Standard normal by Box-Muller from values 2i and 2i+1 (double math, so host and device agree
// to the last float bit in practice; the uniform bits are identical by construction).
BNAS_HD double normal_at(uint64_t seed, uint64_t stream, uint64_t offset, uint64_t i) {
  const double u1 = (static_cast<double>(bits_at(seed, stream, offset, 2 * i)) + 1.0) * (1.0 / 4294967296.0);
  const double u2 = static_cast<double>(bits_at(seed, stream, offset, 2 * i + 1)) * (1.0 / 4294967296.0);
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

// Uniform integer in [0, n) (n > 0), by 64-bit multiply-shift (bias below 2^-32 * n).
BNAS_HD uint32_t below_at(uint64_t seed, uint64_t stream, uint64_t offset, uint64_t i, uint32_t n) {
  return static_cast<uint32_t>((static_cast<uint64_t>(bits_at(seed, stream, offset, i)) * n) >> 32);
}

}  // namespace bnas::rng
