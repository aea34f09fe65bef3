// Structure CPU kernels (T = float or double): weighted sum of n tensors, channel copies for
// concat/narrow, channel shuffle, drop-path. Arrays are contiguous unless a ChannelBlock or an
// nstride says otherwise (samples of a channel-slice view lie nstride elements apart).
#pragma once
#include <cstdint>

#include "kernels/structure_math.h"

namespace bnas::kernels::cpu {

// y = sum_i w[i] * xs[i] (n inputs of numel elements; summed in the order i = 0..n-1); a null w
// gives the plain sum (every weight 1, so products are exact).
template <class T> void weighted_sum_forward(const T* const* xs, int n, const T* w, T* y, int64_t numel);
// gxs[k] = w[which[k]] * gy for k < count.
template <class T>
void weighted_sum_backward_inputs(const T* w, const int* which, T* const* gxs, int count, const T* gy, int64_t numel);
// gw[i] = sum_j gy[j] * xs[i][j], summed in fixed chunks (deterministic for any thread count).
template <class T> void weighted_sum_backward_weights(const T* const* xs, int n, const T* gy, T* gw, int64_t numel);

// Copies each block's N x channels x inner samples into channels [c0, c0 + channels) of the wide
// tensor `wide` (N samples of wide_nstride elements; concat forward, narrow backward) ...
template <class T>
void channel_gather(const ChannelBlock<const T>* blocks, int count, T* wide, int64_t wide_nstride, int64_t N,
                    int64_t inner);
// ... and back: each block receives channels [c0, c0 + channels) of `wide` (concat backward,
// narrow forward).
template <class T>
void channel_scatter(const T* wide, int64_t wide_nstride, const ChannelBlock<T>* blocks, int count, int64_t N,
                     int64_t inner);

// y[n, k * groups + g] = x[n, g * (C / groups) + k] (y contiguous N x C x inner; x samples
// x_nstride apart). The inverse permutation is the same call with groups' = C / groups.
template <class T>
void channel_shuffle(const T* x, int64_t x_nstride, T* y, int64_t N, int64_t C, int64_t inner, int64_t groups);

// y[n, :] = x[n, :] * (keep(n) ? scale : 0) with keep from kernels::drop_path_keep (forward and
// backward alike).
template <class T>
void drop_path(const T* x, T* y, int64_t N, int64_t per_sample, uint64_t seed, uint64_t stream, uint64_t offset,
               double p, T scale);

}  // namespace bnas::kernels::cpu
