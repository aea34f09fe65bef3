// The fused partial-channel mixed edge of BNAS-v2-PC (PC-DARTS MixedOp times its edge weight),
// as one differentiable op. The parametric candidates (sep/dil convs, and FactorizedReduce for
// skip on stride-2 edges) are computed by the caller (ops::conv_branches for the convolutions,
// engine/conv_branches.h); this op does the rest in a few fused kernels
// (kernels/cuda/mixed_edge.cu): the parameter-free candidates, their BatchNorm, the weighted sum,
// the bypass, the channel shuffle and the edge weight, with no intermediate gather, concat or
// shuffle tensors.
#pragma once
#include <vector>

#include "engine/tensor.h"

namespace bnas::ops {

struct MixedEdgeArgs {
  int stride = 1;  // 1 or 2
  int k = 1;       // partial-channel proportion K (1: full channels, no bypass)
  bool training = true;
  double bn_momentum = 0.1, bn_eps = 1e-5;
};

// x: N x C x H x W edge input (may be a channel-slice view). selected: int32 [C/k] on x's device,
// the input channels of the C/k slots that go through the candidates, sorted ascending and
// distinct (a random subset, or undefined for the reference's first C/k channels); the other
// channels, in increasing order, bypass: copied (stride 1) or 2x2 / stride 2 max-pooled (stride 2,
// which needs even H and W when k > 1).
// branches: N x C/k x Ho x Wo outputs of sep_conv_3x3, sep_conv_5x5, dil_conv_3x3, dil_conv_5x5
// (primitives 4..7) and, when stride == 2, skip's FactorizedReduce output (primitive 3) as a fifth;
// with stride 1 skip is the identity of the selected slice. A tensor may also hold m consecutive
// branches stacked (m x N x C/k x Ho x Wo, as ops::conv_branches returns the four convolutions).
// weights: [8] = softmax(alpha row), read on the device. edge_weight: [1] or undefined (1).
// Candidates 1 and 2 (max / avg pool 3x3, stride s, pad 1, padding not counted) are each followed
// by BatchNorm without affine parameters: training uses the batch statistics and updates the
// running tensors ([C/k] each, may be undefined in training) in place; eval uses them. none (0)
// contributes zero (and gets a zero weight gradient).
// Returns N x C x Ho x Wo = edge_weight * channel_shuffle(concat[sum_i weights[i] op_i(x_sel),
// bypass(x_rest)], k). Differentiable w.r.t. x, every branch, weights and edge_weight.
Tensor mixed_edge(const Tensor& x, const Tensor& selected, const std::vector<Tensor>& branches,
                  const Tensor& weights, const Tensor& edge_weight, const Tensor& maxpool_running_mean,
                  const Tensor& maxpool_running_var, const Tensor& avgpool_running_mean,
                  const Tensor& avgpool_running_var, const MixedEdgeArgs& a = {});

}  // namespace bnas::ops
