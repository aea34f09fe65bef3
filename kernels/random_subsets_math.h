// Per-element math of the random subsets drawn on the device (kernels/cpu/random_subsets.h,
// kernels/cuda/random_subsets.cu; engine/random_subsets.h uses them for random partial-channel
// selection).
//
// Draw d gives row r (n elements, subset size m) one 32-bit Philox key per element c < n: value
// (r << 16) + c of the (seed, stream) stream starting at block d << 32 (kernels/philox.h). The
// subset is the m elements whose (key, element) pairs come first, smallest key first, ties (at
// most a 2^-32 chance per pair of elements) broken by the smaller element: the keys are
// independent and identically distributed, so every m-subset is equally likely (up to those
// ties). It is written in increasing element order. Element c < 2^16 and row r < 2^16 keep a
// draw's values below 2^32 (2^30 blocks), so draws never share a Philox block.
#pragma once
#include <cstdint>

#include "kernels/hd.h"
#include "kernels/philox.h"

namespace bnas::kernels::random_subsets {

constexpr int kMaxRowSize = 1 << 16;  // n <= 2^16 elements per row
constexpr int kMaxRows = 1 << 16;

// The key of element c of row r in draw d.
BNAS_HD uint32_t key(uint64_t seed, uint64_t stream, uint32_t draw, int row, int c) {
  return rng::bits_at(seed, stream, static_cast<uint64_t>(draw) << 32,
                      (static_cast<uint64_t>(row) << 16) + static_cast<uint64_t>(c));
}

// Whether (ka, a) comes before (kb, b).
BNAS_HD bool before(uint32_t ka, int a, uint32_t kb, int b) { return ka < kb || (ka == kb && a < b); }

// keys: the n keys of one row. How many of its pairs come before element c's.
BNAS_HD int rank(const uint32_t* keys, int n, int c) {
  int r = 0;
  for (int j = 0; j < n; ++j) r += before(keys[j], j, keys[c], c);
  return r;
}

// With `last` the row's subset element of rank m - 1: whether element c is in the subset ...
BNAS_HD bool in_subset(const uint32_t* keys, int last, int c) { return !before(keys[last], last, keys[c], c); }

// ... and where it goes in the increasing output: how many subset elements are smaller than c.
BNAS_HD int position(const uint32_t* keys, int last, int c) {
  int p = 0;
  for (int j = 0; j < c; ++j) p += in_subset(keys, last, j);
  return p;
}

}  // namespace bnas::kernels::random_subsets
