#include <algorithm>

#include "kernels/cuda/block_sum.cuh"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/optim.cuh"
#include "kernels/cuda_check.h"

namespace bnas::kernels::cuda {
namespace {

struct NormBatch {
  NormChunk<float> c[kNormBatch];
};

int chunk_blocks(int64_t count) { return static_cast<int>(std::min<int64_t>(count, int64_t(1) << 20)); }

__global__ void advance_step_k(int32_t* step) { *step += 1; }

__global__ void sgd_k(const OptimChunk<float>* chunks, int64_t count, const float* lr, const int32_t* step,
                      SgdHyper<float> h) {
  const float rate = *lr;
  const bool first = *step <= 1;
  for (int64_t c = blockIdx.x; c < count; c += gridDim.x) {
    const OptimChunk<float> k = chunks[c];
    for (int64_t i = threadIdx.x; i < k.n; i += blockDim.x)
      sgd_update(k.param[i], k.grad[i], k.state0 ? k.state0 + i : nullptr, rate, h, first);
  }
}

__global__ void adam_prologue_k(int32_t* step, const float* lr, float* scalars, double beta1, double beta2) {
  *step += 1;
  adam_scalars(*step, *lr, beta1, beta2, scalars);
}

__global__ void adam_k(const OptimChunk<float>* chunks, int64_t count, const float* scalars, AdamHyper<float> h) {
  const float step_size = scalars[0], bc2_sqrt = scalars[1];
  for (int64_t c = blockIdx.x; c < count; c += gridDim.x) {
    const OptimChunk<float> k = chunks[c];
    for (int64_t i = threadIdx.x; i < k.n; i += blockDim.x)
      adam_update(k.param[i], k.grad[i], k.state0[i], k.state1[i], step_size, bc2_sqrt, h);
  }
}

__global__ void zero_grads_k(const OptimChunk<float>* chunks, int64_t count) {
  for (int64_t c = blockIdx.x; c < count; c += gridDim.x) {
    const OptimChunk<float> k = chunks[c];
    for (int64_t i = threadIdx.x; i < k.n; i += blockDim.x) k.grad[i] = 0.f;
  }
}

__global__ void unroll_k(const OptimChunk<float>* chunks, int64_t count, UnrollMove move, const float* scalar,
                         float alpha, SgdHyper<float> h) {
  const float sc = unroll_scalar(move, scalar, alpha);
  for (int64_t c = blockIdx.x; c < count; c += gridDim.x) {
    const OptimChunk<float> k = chunks[c];
    for (int64_t i = threadIdx.x; i < k.n; i += blockDim.x) unroll_element(move, k, i, sc, h);
  }
}

// Sum of squares of one chunk into *out, by one block.
__device__ void sum_squares_block(const NormChunk<float> k, double* out) {
  double s[1] = {0};
  for (int64_t i = threadIdx.x; i < k.n; i += blockDim.x) {
    const double v = k.x[i];
    s[0] += v * v;
  }
  block_sum<kThreads>(s);
  if (threadIdx.x == 0) *out = s[0];
}

// One block per chunk of the batch.
__global__ void sum_squares_k(NormBatch b, double* partials) { sum_squares_block(b.c[blockIdx.x], partials + blockIdx.x); }
__global__ void sum_squares_table_k(const NormChunk<float>* chunks, int64_t count, double* partials) {
  for (int64_t c = blockIdx.x; c < count; c += gridDim.x) sum_squares_block(chunks[c], partials + c);
}

__global__ void finish_norm_k(const double* partials, int64_t n, float* norm) {
  double s[1] = {0};
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) s[0] += partials[i];
  block_sum<kThreads>(s);
  if (threadIdx.x == 0) *norm = static_cast<float>(sqrt(s[0]));
}

__global__ void clip_scale_k(NormBatch b, const float* norm, float max_norm) {
  const float coef = clip_coef(*norm, max_norm);
  const NormChunk<float> k = b.c[blockIdx.x];
  for (int64_t i = threadIdx.x; i < k.n; i += blockDim.x) k.x[i] *= coef;
}
__global__ void clip_scale_table_k(const NormChunk<float>* chunks, int64_t count, const float* norm, float max_norm) {
  const float coef = clip_coef(*norm, max_norm);
  for (int64_t c = blockIdx.x; c < count; c += gridDim.x) {
    const NormChunk<float> k = chunks[c];
    for (int64_t i = threadIdx.x; i < k.n; i += blockDim.x) k.x[i] *= coef;
  }
}

// Calls launch(batch, first, size) for consecutive batches of at most kNormBatch chunks.
template <class F> void for_batches(const NormChunk<float>* host_chunks, int64_t count, F launch) {
  for (int64_t first = 0; first < count; first += kNormBatch) {
    NormBatch b{};
    const int size = static_cast<int>(std::min<int64_t>(kNormBatch, count - first));
    std::copy(host_chunks + first, host_chunks + first + size, b.c);
    launch(b, first, size);
  }
}

}  // namespace

void advance_step(int32_t* step, cudaStream_t s) {
  advance_step_k<<<1, 1, 0, s>>>(step);
  CUDA_CHECK_LAUNCH(s);
}

void sgd_step(const OptimChunk<float>* chunks, int64_t count, const float* lr, const int32_t* step,
              SgdHyper<float> h, cudaStream_t s) {
  if (count == 0) return;
  sgd_k<<<chunk_blocks(count), kThreads, 0, s>>>(chunks, count, lr, step, h);
  CUDA_CHECK_LAUNCH(s);
}

void adam_prologue(int32_t* step, const float* lr, float* scalars, double beta1, double beta2, cudaStream_t s) {
  adam_prologue_k<<<1, 1, 0, s>>>(step, lr, scalars, beta1, beta2);
  CUDA_CHECK_LAUNCH(s);
}

void adam_step(const OptimChunk<float>* chunks, int64_t count, const float* scalars, AdamHyper<float> h,
               cudaStream_t s) {
  if (count == 0) return;
  adam_k<<<chunk_blocks(count), kThreads, 0, s>>>(chunks, count, scalars, h);
  CUDA_CHECK_LAUNCH(s);
}

void zero_grads(const OptimChunk<float>* chunks, int64_t count, cudaStream_t s) {
  if (count == 0) return;
  zero_grads_k<<<chunk_blocks(count), kThreads, 0, s>>>(chunks, count);
  CUDA_CHECK_LAUNCH(s);
}

void unroll(const OptimChunk<float>* chunks, int64_t count, UnrollMove move, const float* scalar, float alpha,
            SgdHyper<float> h, cudaStream_t s) {
  if (count == 0) return;
  unroll_k<<<chunk_blocks(count), kThreads, 0, s>>>(chunks, count, move, scalar, alpha, h);
  CUDA_CHECK_LAUNCH(s);
}

void sum_squares(const NormChunk<float>* host_chunks, int64_t count, double* partials, cudaStream_t s) {
  for_batches(host_chunks, count, [&](const NormBatch& b, int64_t first, int size) {
    sum_squares_k<<<size, kThreads, 0, s>>>(b, partials + first);
    CUDA_CHECK_LAUNCH(s);
  });
}

void sum_squares_table(const NormChunk<float>* chunks, int64_t count, double* partials, cudaStream_t s) {
  if (count == 0) return;
  sum_squares_table_k<<<chunk_blocks(count), kThreads, 0, s>>>(chunks, count, partials);
  CUDA_CHECK_LAUNCH(s);
}

void clip_scale_table(const NormChunk<float>* chunks, int64_t count, const float* norm, float max_norm,
                      cudaStream_t s) {
  if (count == 0) return;
  clip_scale_table_k<<<chunk_blocks(count), kThreads, 0, s>>>(chunks, count, norm, max_norm);
  CUDA_CHECK_LAUNCH(s);
}

void finish_norm(const double* partials, int64_t n, float* norm, cudaStream_t s) {
  finish_norm_k<<<1, kThreads, 0, s>>>(partials, n, norm);
  CUDA_CHECK_LAUNCH(s);
}

void clip_scale(const NormChunk<float>* host_chunks, int64_t count, const float* norm, float max_norm,
                cudaStream_t s) {
  for_batches(host_chunks, count, [&](const NormBatch& b, int64_t, int size) {
    clip_scale_k<<<size, kThreads, 0, s>>>(b, norm, max_norm);
    CUDA_CHECK_LAUNCH(s);
  });
}

}  // namespace bnas::kernels::cuda
