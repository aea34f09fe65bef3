// The fused convolution branches of a search edge (sep_conv_3x3, sep_conv_5x5, dil_conv_3x3,
// dil_conv_5x5 in search form: BatchNorm without affine parameters) on the channels the edge
// selects, as one differentiable op: 5 launches forward and 7 backward on CUDA for all four
// branches (kernels/cuda/conv_branches.cu), instead of about 30 and 60 through cuDNN and the
// unfused ops. Its output feeds ops::mixed_edge as one stacked tensor.
#pragma once
#include <vector>

#include "engine/tensor.h"

namespace bnas::ops {

struct ConvBranchesArgs {
  int stride = 1;  // 1 or 2
  bool training = true;
  double bn_momentum = 0.1, bn_eps = 1e-5;
};

// The six stages (kernels/conv_branches_math.h): 0 and 4 are sep_conv_3x3's halves, 1 and 5
// sep_conv_5x5's, 2 dil_conv_3x3, 3 dil_conv_5x5.
constexpr int kConvBranchStages = 6;

// x: N x C x H x W edge input (may be a channel-slice view). selected: int32 [Cs] on x's device,
// the input channels of the Cs slots (sorted, distinct), or undefined for the first Cs channels.
// weights: 12 tensors, for stage s = 0..5 its depthwise weight (Cs x 1 x k x k) at 2 s and its 1x1
// weight (Cs x Cs x 1 x 1) at 2 s + 1. running: 12 tensors ([Cs]: stage s's BN running mean at 2 s,
// variance at 2 s + 1; updated in place in training, read in eval) or empty (training only).
// Returns 4 x N x Cs x Ho x Wo (Ho = (H - 1) / stride + 1): the outputs of the four branches of
// relu(x[:, selected]). Differentiable w.r.t. x and every weight.
Tensor conv_branches(const Tensor& x, const Tensor& selected, int64_t Cs, const std::vector<Tensor>& weights,
                     const std::vector<Tensor>& running, const ConvBranchesArgs& a = {});

}  // namespace bnas::ops
