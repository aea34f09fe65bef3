// Random subsets on the CPU (see random_subsets.h): the CUDA kernel's three passes over the rows
// (keys; each row's last subset element; the subset in increasing order), one after another.
#include "kernels/cpu/random_subsets.h"

#include "kernels/random_subsets_math.h"

namespace bnas::kernels::cpu {

void draw_subsets(const int32_t* sizes, int rows, int k, uint64_t seed, uint64_t stream, uint32_t* counter,
                  uint32_t* scratch, int32_t* out) {
  namespace rs = random_subsets;
  const uint32_t draw = counter[0];
  int64_t total = 0;
  for (int r = 0; r < rows; ++r) total += sizes[r];
  uint32_t* last = scratch + total;
  int64_t off = 0;
  for (int r = 0; r < rows; off += sizes[r++])
    for (int c = 0; c < sizes[r]; ++c) scratch[off + c] = rs::key(seed, stream, draw, r, c);
  off = 0;
  for (int r = 0; r < rows; off += sizes[r++])
    for (int c = 0; c < sizes[r]; ++c)
      if (rs::rank(scratch + off, sizes[r], c) == sizes[r] / k - 1) last[r] = static_cast<uint32_t>(c);
  off = 0;
  for (int r = 0; r < rows; off += sizes[r++]) {
    const int t = static_cast<int>(last[r]);
    for (int c = 0; c < sizes[r]; ++c)
      if (rs::in_subset(scratch + off, t, c)) out[off / k + rs::position(scratch + off, t, c)] = c;
  }
  counter[0] = draw + 1u;
}

}  // namespace bnas::kernels::cpu
