// MixedOp: one edge of a search cell (docs/METHOD.md §3), full channels (k = 1: BNAS-D,
// BNAS-v2-CLR) or partial channels (k > 1: BNAS-v2-PC), on the fused op ops::mixed_edge.
//
// The convolution candidates (sep and dil convs) run as one fused op, ops::conv_branches, on the
// C/k selected input channels (the first C/k, or a random subset), reading them in place; skip's
// FactorizedReduce on stride-2 edges, one fused op too (ops::factorized_reduce), reads them in
// place as well; the fused mixed edge does the rest (pools and their BatchNorms, weighted sum, bypass, channel shuffle, edge weight).
// Module names are the authors': `_ops.<primitive>` in column order; a pool's non-affine BN is
// `_ops.1.1` / `_ops.2.1` (nn.Sequential(pool, BatchNorm2d)). The fused ops read the modules'
// weights and read and update their running tensors.
#pragma once

#include <memory>
#include <vector>

#include "nas/module.h"
#include "nas/operations.h"

namespace bnas::nas {

// Which C/k input channels of a partial-channel edge go through the candidates.
enum class ChannelSelection {
  kFixed,   // the first C/k (the authors' code; the channel shuffle mixes the rest in)
  kRandom,  // a fresh sorted random subset per edge and forward, drawn on the device (PC-DARTS' sampling)
};

class MixedOp : public Module {
 public:
  // channels: the edge's input (and output) channel count C; k divides C.
  MixedOp(int channels, int stride, int k, const ParamOptions& o);

  // x: N x C x H x W. weights: [8] = softmax of the edge's alpha row. edge_weight: [1] (the
  // edge-normalisation weight) or undefined. selected: int32 [C/k] on x's device, sorted distinct
  // channels (a row of RandomSubsets::draw, read on the device), or undefined for the first C/k.
  // Returns N x C x H/s x W/s.
  Tensor forward(const Tensor& x, const Tensor& weights, const Tensor& edge_weight, bool training,
                 const Tensor& selected = Tensor());

  const int channels, stride, k;
  std::vector<std::unique_ptr<Op>> ops;  // _ops.0 .. _ops.7, in primitive order

 private:
  Pool3x3* max_pool_ = nullptr;
  Pool3x3* avg_pool_ = nullptr;
  SepConv *sep3_ = nullptr, *sep5_ = nullptr;
  DilConv *dil3_ = nullptr, *dil5_ = nullptr;
  FactorizedReduce* reduce_ = nullptr;  // skip_connect on a stride-2 edge
  // The weights and BN running statistics of ops::conv_branches' six stages (the same tensors as
  // the candidate modules', in the op's order).
  std::vector<Tensor> conv_weights_, conv_running_;
};

}  // namespace bnas::nas
