// Structure CUDA kernels (float32); twins of kernels/cpu/structure.h with the same arguments
// plus a stream. Pointer arrays (xs, gxs, blocks) are HOST arrays: the launcher packs them into
// kernel parameters, 16 per launch, so nothing is copied to the device and nothing syncs.
#pragma once
#include <cstdint>
#include <cuda_runtime_api.h>

#include "kernels/structure_math.h"

namespace bnas::kernels::cuda {

// kernels/cpu/structure.h's weighted_sum_forward (w: device memory, or null for the plain sum).
void weighted_sum_forward(const float* const* xs, int n, const float* w, float* y, int64_t numel, cudaStream_t s);
void weighted_sum_backward_inputs(const float* w, const int* which, float* const* gxs, int count, const float* gy,
                                  int64_t numel, cudaStream_t s);
// Floats of device scratch that weighted_sum_backward_weights needs for n inputs of numel.
int64_t weighted_sum_scratch(int n, int64_t numel);
// gw[i] = sum_j gy[j] xs[i][j]: per-block partial sums into scratch, then one block per input
// sums them in a fixed tree order (deterministic, no atomics).
void weighted_sum_backward_weights(const float* const* xs, int n, const float* gy, float* gw, int64_t numel,
                                   float* scratch, cudaStream_t s);

void channel_gather(const ChannelBlock<const float>* blocks, int count, float* wide, int64_t wide_nstride,
                    int64_t N, int64_t inner, cudaStream_t s);
void channel_scatter(const float* wide, int64_t wide_nstride, const ChannelBlock<float>* blocks, int count,
                     int64_t N, int64_t inner, cudaStream_t s);
void channel_shuffle(const float* x, int64_t x_nstride, float* y, int64_t N, int64_t C, int64_t inner,
                     int64_t groups, cudaStream_t s);
void drop_path(const float* x, float* y, int64_t N, int64_t per_sample, uint64_t seed, uint64_t stream,
               uint64_t offset, double p, float scale, cudaStream_t s);

}  // namespace bnas::kernels::cuda
