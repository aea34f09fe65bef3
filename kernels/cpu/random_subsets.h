// Random subsets on the CPU: the reference of kernels/cuda/random_subsets.cu, same passes, same
// shared math (kernels/random_subsets_math.h), so both draw the same subsets for the same seed,
// stream and counter.
//
// sizes: [rows] row sizes n_r, each a multiple of k and at most random_subsets::kMaxRowSize
// (rows at most kMaxRows). out: [sum_r n_r / k], row r's subset (n_r / k distinct elements of
// [0, n_r), increasing) after those of rows 0..r-1. counter: [1], the draw number: read, then
// advanced by one (modulo 2^32). scratch: [sum_r n_r + rows] (the keys, then each row's last
// subset element), overwritten.
#pragma once
#include <cstdint>

namespace bnas::kernels::cpu {

void draw_subsets(const int32_t* sizes, int rows, int k, uint64_t seed, uint64_t stream, uint32_t* counter,
                  uint32_t* scratch, int32_t* out);

}  // namespace bnas::kernels::cpu
