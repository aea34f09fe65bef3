// Optimizer and gradient-norm CUDA kernels (float32); twins of kernels/cpu/optim.h.
//
// Updates take the optimizer's chunk table in DEVICE memory (uploaded once, at construction)
// and update a whole parameter group in one launch (one block per chunk). Norms and clipping
// come in two forms: over a device table (the optimizer's gradients: one launch each), and over
// a HOST array of chunks passed to the kernels by value, kNormBatch chunks per launch, which
// needs no upload and no sync, so it works on fresh tensors inside a captured step too.
// Norms reduce deterministically (no atomics): one double partial per chunk from a fixed block
// tree, then one block sums the partials in a fixed order.
#pragma once
#include <cstdint>
#include <cuda_runtime_api.h>

#include "kernels/optim_math.h"

namespace bnas::kernels::cuda {

// Norm chunks per launch passed as a kernel argument (16 bytes each; kernel arguments are
// limited to 4 KiB).
constexpr int kNormBatch = 240;

void advance_step(int32_t* step, cudaStream_t s);
void sgd_step(const OptimChunk<float>* chunks, int64_t count, const float* lr, const int32_t* step,
              SgdHyper<float> h, cudaStream_t s);
void adam_prologue(int32_t* step, const float* lr, float* scalars, double beta1, double beta2, cudaStream_t s);
void adam_step(const OptimChunk<float>* chunks, int64_t count, const float* scalars, AdamHyper<float> h,
               cudaStream_t s);
void zero_grads(const OptimChunk<float>* chunks, int64_t count, cudaStream_t s);
// One move of DARTS's unrolled step over a device table (kernels/cpu/optim.h's unroll).
void unroll(const OptimChunk<float>* chunks, int64_t count, UnrollMove move, const float* scalar, float alpha,
            SgdHyper<float> h, cudaStream_t s);

// Over a device table of `count` chunks: partials (device, `count` doubles) and scaling.
void sum_squares_table(const NormChunk<float>* chunks, int64_t count, double* partials, cudaStream_t s);
void clip_scale_table(const NormChunk<float>* chunks, int64_t count, const float* norm, float max_norm,
                      cudaStream_t s);
// Over a host array of chunks: partials (device, `count` doubles) and scaling.
void sum_squares(const NormChunk<float>* host_chunks, int64_t count, double* partials, cudaStream_t s);
void finish_norm(const double* partials, int64_t n, float* norm, cudaStream_t s);
void clip_scale(const NormChunk<float>* host_chunks, int64_t count, const float* norm, float max_norm,
                cudaStream_t s);

}  // namespace bnas::kernels::cuda
