// Strided copy with casts, and fill: one thread per element, index decomposed over <= 5 dims.
#include "kernels/cuda/copy.cuh"
#include "kernels/cuda_check.h"

namespace bnas::kernels::cuda {
namespace {
template <class S, class D>
__global__ void copy_kernel(const S* src, Layout sl, D* dst, Layout dl, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    int64_t rem = i, so = 0, dof = 0;
    for (int d = sl.ndim - 1; d >= 0; --d) {
      const int64_t idx = rem % sl.size[d];
      rem /= sl.size[d];
      so += idx * sl.stride[d];
      dof += idx * dl.stride[d];
    }
    dst[dof] = static_cast<D>(src[so]);
  }
}
template <class T>
__global__ void fill_kernel(T* dst, int64_t n, T v) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) dst[i] = v;
}
int copy_blocks(int64_t n) { return static_cast<int>(std::min<int64_t>((n + 255) / 256, 65535)); }

template <class S>
void copy_to(const S* src, const Layout& sl, void* dst, DType dt, const Layout& dl, int64_t n, cudaStream_t s) {
  switch (dt) {
    case DType::F32: copy_kernel<<<copy_blocks(n), 256, 0, s>>>(src, sl, static_cast<float*>(dst), dl, n); break;
    case DType::F64: copy_kernel<<<copy_blocks(n), 256, 0, s>>>(src, sl, static_cast<double*>(dst), dl, n); break;
    case DType::I32: copy_kernel<<<copy_blocks(n), 256, 0, s>>>(src, sl, static_cast<int32_t*>(dst), dl, n); break;
    case DType::U8: copy_kernel<<<copy_blocks(n), 256, 0, s>>>(src, sl, static_cast<uint8_t*>(dst), dl, n); break;
  }
}
}  // namespace

void copy_strided(const void* src, DType st, const Layout& sl, void* dst, DType dt, const Layout& dl, cudaStream_t s) {
  const int64_t n = sl.numel();
  if (n == 0) return;
  switch (st) {
    case DType::F32: copy_to(static_cast<const float*>(src), sl, dst, dt, dl, n, s); break;
    case DType::F64: copy_to(static_cast<const double*>(src), sl, dst, dt, dl, n, s); break;
    case DType::I32: copy_to(static_cast<const int32_t*>(src), sl, dst, dt, dl, n, s); break;
    case DType::U8: copy_to(static_cast<const uint8_t*>(src), sl, dst, dt, dl, n, s); break;
  }
  CUDA_CHECK_LAUNCH(s);
}

void fill(void* dst, DType t, int64_t n, double v, cudaStream_t s) {
  if (n == 0) return;
  switch (t) {
    case DType::F32: fill_kernel<<<copy_blocks(n), 256, 0, s>>>(static_cast<float*>(dst), n, static_cast<float>(v)); break;
    case DType::F64: fill_kernel<<<copy_blocks(n), 256, 0, s>>>(static_cast<double*>(dst), n, v); break;
    case DType::I32: fill_kernel<<<copy_blocks(n), 256, 0, s>>>(static_cast<int32_t*>(dst), n, static_cast<int32_t>(v)); break;
    case DType::U8: fill_kernel<<<copy_blocks(n), 256, 0, s>>>(static_cast<uint8_t*>(dst), n, static_cast<uint8_t>(v)); break;
  }
  CUDA_CHECK_LAUNCH(s);
}

}  // namespace bnas::kernels::cuda
