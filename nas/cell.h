// Cells (docs/METHOD.md §3): the search cell of the supernet (14 MixedOp edges, 4 nodes, edge
// normalisation) and the evaluation cell built from a genotype (2 ops per node, drop-path).
//
// Both have two inputs s0, s1: preprocess0 is a FactorizedReduce when the previous cell reduced
// the resolution, else a 1x1 ReLUConvBN; preprocess1 a 1x1 ReLUConvBN. In a reduction cell the
// edges leaving s0 and s1 have stride 2. Names follow the authors' Cell: preprocess0,
// preprocess1, _ops.<i>.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "engine/rng.h"
#include "nas/genotype.h"
#include "nas/mixed_op.h"
#include "nas/module.h"
#include "nas/operations.h"

namespace bnas::nas {

// The search cell. c_prev_prev / c_prev: input channels; c: node width (output 4c).
class SearchCell : public Module {
 public:
  SearchCell(int c_prev_prev, int c_prev, int c, bool reduction, bool reduction_prev, int k,
             const ParamOptions& o);

  // The cell's output from relu(s0), relu(s1) (both preprocessings start with a ReLU; a network
  // that feeds one state to several consumers computes, and keeps for backward, its ReLU once).
  // alpha_softmax: kCellEdges x 8 (softmax of alpha per row). node_betas: the softmax of beta
  // over each node's incoming edges, one tensor of 2, 3, 4, 5 elements per node, or empty (no
  // edge normalisation). selected: per edge, int32 [c / k] on the device, its selected channels
  // (random partial channels: rows of a RandomSubsets draw), or empty for the first c / k.
  Tensor forward_relu_applied(const Tensor& relu_s0, const Tensor& relu_s1, const Tensor& alpha_softmax,
                              const std::vector<Tensor>& node_betas, bool training,
                              const std::vector<Tensor>& selected);

  const bool reduction;
  const int node_channels, k;
  std::unique_ptr<Op> preprocess0, preprocess1;
  std::vector<std::unique_ptr<MixedOp>> edges;  // _ops.0 .. _ops.13
};

// The evaluation cell of one genotype cell (entries: 2 (op, input) pairs per node).
class EvalCell : public Module {
 public:
  EvalCell(const std::vector<GenotypeEdge>& entries, const std::vector<int>& concat, int c_prev_prev,
           int c_prev, int c, bool reduction, bool reduction_prev, const ParamOptions& o);

  // From relu(s0), relu(s1) as SearchCell's; drop-path (drawn from drop_gen) on every
  // non-identity op when training and drop_prob > 0.
  Tensor forward_relu_applied(const Tensor& relu_s0, const Tensor& relu_s1, bool training, double drop_prob,
                              Generator& drop_gen);

  int multiplier() const { return static_cast<int>(concat.size()); }

  const bool reduction;
  const std::vector<GenotypeEdge> entries;
  const std::vector<int> concat;
  std::unique_ptr<Op> preprocess0, preprocess1;
  std::vector<std::unique_ptr<Op>> ops;  // _ops.0 .. _ops.7
};

// op->forward(x) given relu(x), for the ops that start with a ReLU (ReLUConvBN, FactorizedReduce).
Tensor forward_relu_applied(Op& op, const Tensor& relu_x, bool training);

// The per-node softmax of a cell's beta ([kCellEdges]): slices [0:2], [2:5], [5:9], [9:14].
std::vector<Tensor> node_softmax(const Tensor& beta);

}  // namespace bnas::nas
