// The candidate operations of the BNAS-v2 search space and their building blocks
// (docs/METHOD.md §2), as Op modules on the engine's differentiable ops.
//
// Two forms (OpForm):
//  - kSearch: every BN without affine parameters, and both pooling ops followed by an extra
//    non-affine BN (PC-DARTS/BNASv2PC MixedOp: nn.Sequential(pool, BatchNorm2d(C, affine=False)));
//  - kEval: every BN affine, pooling bare.
// Tensor names are the PyTorch module paths of the authors' operations.py (see nas/module.h):
//   ReLUConvBN        op.1 = conv, op.2 = BN
//   SepConv           op.1 dw, op.2 1x1, op.3 BN, op.5 dw, op.6 1x1, op.7 BN (op.0/op.4 are ReLU)
//   DilConv           op.1 dw (dilated), op.2 1x1, op.3 BN
//   FactorizedReduce  conv_1, conv_2, bn
//   search-form pool  1 = BN (0 is the pool)
// Convolutions have no bias; BN uses eps 1e-5 and momentum 0.1.
#pragma once

#include <memory>

#include "engine/ops.h"
#include "nas/genotype.h"
#include "nas/module.h"

namespace bnas::nas {

enum class OpForm { kSearch, kEval };

// ---- leaves -----------------------------------------------------------------------------------

// nn.Conv2d(cin, cout, k, stride, padding, dilation, groups, bias=False).
class Conv2d : public Op {
 public:
  Conv2d(int cin, int cout, int kernel, const ops::Conv2dArgs& args, const ParamOptions& o);
  Tensor forward(const Tensor& x, bool training) override;
  Tensor weight;  // cout x cin/groups x k x k
  const ops::Conv2dArgs args;
};

// nn.BatchNorm2d(c, affine): weight/bias only when affine; running_mean 0, running_var 1.
class BatchNorm2d : public Op {
 public:
  BatchNorm2d(int channels, bool affine, const ParamOptions& o);
  Tensor forward(const Tensor& x, bool training) override;
  Tensor weight, bias, running_mean, running_var;
  const bool affine;
};

// ---- the blocks of operations.py -------------------------------------------------------------

// ReLU, conv k x k (stride, padding), BN.
class ReLUConvBN : public Op {
 public:
  ReLUConvBN(int cin, int cout, int kernel, int stride, int padding, bool affine, const ParamOptions& o);
  Tensor forward(const Tensor& x, bool training) override;
  Tensor forward_relu_applied(const Tensor& relu_x, bool training);  // see FactorizedReduce
  std::unique_ptr<Conv2d> conv;
  std::unique_ptr<BatchNorm2d> bn;
};

// ReLU, depthwise k x k (stride, padding, dilation), 1x1 to cout, BN.
class DilConv : public Op {
 public:
  DilConv(int cin, int cout, int kernel, int stride, int padding, int dilation, bool affine,
          const ParamOptions& o);
  Tensor forward(const Tensor& x, bool training) override;
  std::unique_ptr<Conv2d> depthwise, pointwise;
  std::unique_ptr<BatchNorm2d> bn;
};

// Two stacked DilConv-like halves without dilation: the first strided and cin -> cin, the
// second stride 1 and cin -> cout.
class SepConv : public Op {
 public:
  SepConv(int cin, int cout, int kernel, int stride, int padding, bool affine, const ParamOptions& o);
  Tensor forward(const Tensor& x, bool training) override;
  std::unique_ptr<Conv2d> depthwise1, pointwise1, depthwise2, pointwise2;
  std::unique_ptr<BatchNorm2d> bn1, bn2;
};

// ReLU, then two 1x1 stride-2 convs to cout/2 channels each, the second on the input shifted by
// one pixel (x[:, :, 1:, 1:]), concatenated, BN. Needs even cout, and even H and W (as in
// PyTorch, where odd sizes make the two halves differ). Runs as one fused op
// (ops::factorized_reduce, engine/factorized_reduce.h).
class FactorizedReduce : public Op {
 public:
  FactorizedReduce(int cin, int cout, bool affine, const ParamOptions& o);
  Tensor forward(const Tensor& x, bool training) override;
  // forward() of an input that has already been through the ReLU (relu_x = relu(x)): a cell
  // computes a state's ReLU once for all the operations that read it.
  Tensor forward_relu_applied(const Tensor& relu_x, bool training);
  // forward() of x[:, selected] read in place (a partial-channel edge's skip): selected is int32
  // [cin] on x's device (sorted, distinct), or undefined for the first cin channels of x.
  Tensor forward_selected(const Tensor& x, const Tensor& selected, bool training);
  std::unique_ptr<Conv2d> conv_1, conv_2;
  std::unique_ptr<BatchNorm2d> bn;

 private:
  // whole: x must have exactly cin channels (forward, forward_relu_applied).
  Tensor run(const Tensor& x, const Tensor& selected, bool relu, bool training, bool whole = true);
};

class Identity : public Op {
 public:
  Tensor forward(const Tensor& x, bool training) override { return x; }
  bool is_identity() const override { return true; }
};

// The "none" op: zeros with the strided spatial size.
class Zero : public Op {
 public:
  explicit Zero(int stride) : stride(stride) {}
  Tensor forward(const Tensor& x, bool training) override;
  const int stride;
};

// 3x3 max or average pool (stride s, padding 1; average excludes padding), optionally followed
// by a non-affine BN (the search form), registered as "1".
class Pool3x3 : public Op {
 public:
  enum class Kind { kMax, kAvg };
  Pool3x3(Kind kind, int stride, int bn_channels, const ParamOptions& o);  // bn_channels 0: no BN
  Tensor forward(const Tensor& x, bool training) override;
  const Kind kind;
  const int stride;
  std::unique_ptr<BatchNorm2d> bn;
};

// OPS[primitive](C, stride, affine) of operations.py, in the given form. C is the op's channel
// count (C/K on a partial-channel edge); stride 1 or 2.
std::unique_ptr<Op> make_operation(Primitive p, int channels, int stride, OpForm form,
                                   const ParamOptions& o);

}  // namespace bnas::nas
