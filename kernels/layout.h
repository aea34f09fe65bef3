// Strided layouts for the copy kernels: up to 5 dims, strides in elements.
#pragma once
#include <cstdint>

#include "kernels/dtype.h"

namespace bnas::kernels {

struct Layout {
  int ndim = 0;
  int64_t size[5] = {0, 0, 0, 0, 0};
  int64_t stride[5] = {0, 0, 0, 0, 0};
  int64_t numel() const {
    int64_t n = 1;
    for (int i = 0; i < ndim; ++i) n *= size[i];
    return n;
  }
};

namespace cpu {
// dst[idx] = cast(src[idx]) for every index of the (shared) shape; casts between F32 and F64,
// same-type copies for I32 and U8, and U8/I32 -> float.
void copy_strided(const void* src, DType src_t, const Layout& src_l, void* dst, DType dst_t, const Layout& dst_l);
void fill(void* dst, DType t, int64_t n, double value);
}  // namespace cpu

}  // namespace bnas::kernels
