// DARTS' FactorizedReduce (nas::FactorizedReduce: ReLU, two 1x1 stride-2 convolutions on the
// even and on the odd pixels, concatenated, BatchNorm) as one differentiable op, on the channels
// an edge selects: 3 launches forward and 3 backward on CUDA (kernels/cuda/factorized_reduce.cu)
// instead of about 9 and 13 through cuDNN, the crop, the concatenation and the BatchNorm.
#pragma once
#include <cstdint>

#include "engine/tensor.h"

namespace bnas::ops {

struct FactorizedReduceArgs {
  bool relu = true;  // false: x has been through the ReLU already (a cell's shared relu(state))
  bool training = true;
  double bn_momentum = 0.1, bn_eps = 1e-5;
};

// x: N x C x H x W with H and W even (may be a channel-slice view). selected: int32 [Cs] on x's
// device, the input channels (sorted, distinct), or undefined for the first Cs channels (Cs == C:
// all of them). w1, w2: [Co/2, Cs, 1, 1], conv_1 and conv_2. gamma, beta: [Co] BatchNorm weight
// and bias, or undefined (not affine). running_mean, running_var: [Co], updated in place in
// training (PyTorch: unbiased variance, momentum), read in eval; may be undefined in training.
// Returns N x Co x H/2 x W/2: BN(cat(conv_1(a)[even pixels], conv_2(a)[odd pixels])) with
// a = relu(x[:, selected]) (x[:, selected] when !args.relu), i.e. PyTorch's
// bn(cat(conv_1(a), conv_2(a[:, :, 1:, 1:]))). Differentiable w.r.t. x (zero outside the
// selected channels), w1, w2, gamma and beta.
Tensor factorized_reduce(const Tensor& x, const Tensor& selected, int64_t Cs, const Tensor& w1, const Tensor& w2,
                         const Tensor& gamma, const Tensor& beta, const Tensor& running_mean,
                         const Tensor& running_var, const FactorizedReduceArgs& a = {});

}  // namespace bnas::ops
