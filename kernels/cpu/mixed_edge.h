// The fused partial-channel mixed edge on the CPU (T = float or double): the reference of
// kernels/cuda/mixed_edge.cu, same passes, same shared math (kernels/mixed_edge_math.h).
//
// Layouts (d: mixed_edge::Dims). x: N planes of C x H x W, sample n at x + n * d.x_batch_stride.
// sel: [Cs] input channels of the selected slots, or null (channels 0..Cs-1). br[i]: branch i,
// N x Cs x Ho x Wo contiguous, i < d.num_branches (0..3: primitives 4..7; 4: skip's
// FactorizedReduce on stride-2 edges). w: [8] candidate weights. ew: [1] edge weight or null (1).
// y: N x C x Ho x Wo (already shuffled). stats: [4 * Cs] saved batch (training) or running (eval)
// statistics, mixed_edge_math.h layout. rest: [C - Cs] bypass channels, written by the forward
// when sel is non-null and k > 1 (then needed by the backward), else unused (may be null).
#pragma once
#include <cstdint>

#include "kernels/mixed_edge_math.h"

namespace bnas::kernels::cpu {

// running_*: [Cs] or null. Training normalises with batch statistics and, when the running
// tensors are given, updates them (unbiased variance, momentum); eval reads them (required).
template <class T>
void mixed_edge_forward(const mixed_edge::Dims& d, const T* x, const int32_t* sel, const T* const* br,
                        const T* w, const T* ew, T* running_mean_max, T* running_var_max,
                        T* running_mean_avg, T* running_var_avg, bool training, double momentum,
                        double eps, T* y, T* stats, int32_t* rest);

// gy: N x C x Ho x Wo. Every output may be null (not requested): gx N x C x H x W contiguous,
// gbr[i] like br[i] (gbr itself may be null), gw [8], gew [1].
template <class T>
void mixed_edge_backward(const mixed_edge::Dims& d, const T* x, const int32_t* sel, const int32_t* rest,
                         const T* const* br, const T* w, const T* ew, const T* stats, bool training,
                         const T* gy, T* gx, T* const* gbr, T* gw, T* gew);

}  // namespace bnas::kernels::cpu
