// Strided copy with casts and fill, the CPU reference for kernels/cuda/copy.cu.
#include <cstring>

#include "kernels/check.h"
#include "kernels/layout.h"

namespace bnas::kernels::cpu {
namespace {
template <class S, class D>
void copy_typed(const S* src, const Layout& sl, D* dst, const Layout& dl) {
  const int64_t n = sl.numel();
  const int nd = sl.ndim;
  for (int64_t i = 0; i < n; ++i) {
    int64_t rem = i, so = 0, dof = 0;
    for (int d = nd - 1; d >= 0; --d) {
      const int64_t idx = rem % sl.size[d];
      rem /= sl.size[d];
      so += idx * sl.stride[d];
      dof += idx * dl.stride[d];
    }
    dst[dof] = static_cast<D>(src[so]);
  }
}
template <class S>
void copy_to(const S* src, const Layout& sl, void* dst, DType dt, const Layout& dl) {
  switch (dt) {
    case DType::F32: return copy_typed(src, sl, static_cast<float*>(dst), dl);
    case DType::F64: return copy_typed(src, sl, static_cast<double*>(dst), dl);
    case DType::I32: return copy_typed(src, sl, static_cast<int32_t*>(dst), dl);
    case DType::U8: return copy_typed(src, sl, static_cast<uint8_t*>(dst), dl);
  }
}
bool dense(const Layout& l) {
  int64_t expect = 1;
  for (int d = l.ndim - 1; d >= 0; --d) {
    if (l.size[d] != 1 && l.stride[d] != expect) return false;
    expect *= l.size[d];
  }
  return true;
}
}  // namespace

void copy_strided(const void* src, DType st, const Layout& sl, void* dst, DType dt, const Layout& dl) {
  if (st == dt && dense(sl) && dense(dl)) {
    std::memcpy(dst, src, static_cast<size_t>(sl.numel()) * dtype_size(st));
    return;
  }
  switch (st) {
    case DType::F32: return copy_to(static_cast<const float*>(src), sl, dst, dt, dl);
    case DType::F64: return copy_to(static_cast<const double*>(src), sl, dst, dt, dl);
    case DType::I32: return copy_to(static_cast<const int32_t*>(src), sl, dst, dt, dl);
    case DType::U8: return copy_to(static_cast<const uint8_t*>(src), sl, dst, dt, dl);
  }
}

void fill(void* dst, DType t, int64_t n, double v) {
  switch (t) {
    case DType::F32: { auto* p = static_cast<float*>(dst); for (int64_t i = 0; i < n; ++i) p[i] = static_cast<float>(v); break; }
    case DType::F64: { auto* p = static_cast<double*>(dst); for (int64_t i = 0; i < n; ++i) p[i] = v; break; }
    case DType::I32: { auto* p = static_cast<int32_t*>(dst); for (int64_t i = 0; i < n; ++i) p[i] = static_cast<int32_t>(v); break; }
    case DType::U8: { auto* p = static_cast<uint8_t*>(dst); for (int64_t i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(v); break; }
  }
}

}  // namespace bnas::kernels::cpu
