#include "nas/cell.h"

#include <string>

#include "engine/check.h"
#include "engine/ops.h"

namespace bnas::nas {

namespace {

std::unique_ptr<Op> make_preprocess0(int cin, int c, bool reduction_prev, bool affine, const ParamOptions& o) {
  if (reduction_prev) return std::make_unique<FactorizedReduce>(cin, c, affine, o);
  return std::make_unique<ReLUConvBN>(cin, c, 1, 1, 0, affine, o);
}

}  // namespace

Tensor forward_relu_applied(Op& op, const Tensor& relu_x, bool training) {
  if (auto* rcb = dynamic_cast<ReLUConvBN*>(&op)) return rcb->forward_relu_applied(relu_x, training);
  if (auto* fr = dynamic_cast<FactorizedReduce*>(&op)) return fr->forward_relu_applied(relu_x, training);
  BNAS_FAIL("forward_relu_applied: the operation does not start with a ReLU");
}

std::vector<Tensor> node_softmax(const Tensor& beta) {
  BNAS_CHECK(beta.ndim() == 1 && beta.size(0) == kCellEdges, "edge normalisation needs ", kCellEdges,
             " betas, got ", beta.shape().str());
  std::vector<Tensor> out;
  for (int j = 0; j < kCellSteps; ++j)
    out.push_back(ops::softmax(ops::narrow(beta, 0, cell_edge_offset(j), j + 2)));
  return out;
}

// ---- search cell ------------------------------------------------------------------------------

SearchCell::SearchCell(int c_prev_prev, int c_prev, int c, bool reduction, bool reduction_prev, int k,
                       const ParamOptions& o)
    : reduction(reduction), node_channels(c), k(k) {
  preprocess0 = make_preprocess0(c_prev_prev, c, reduction_prev, false, o);
  preprocess1 = std::make_unique<ReLUConvBN>(c_prev, c, 1, 1, 0, false, o);
  register_module("preprocess0", preprocess0.get());
  register_module("preprocess1", preprocess1.get());
  for (int j = 0; j < kCellSteps; ++j)
    for (int i = 0; i < j + 2; ++i) {
      edges.push_back(std::make_unique<MixedOp>(c, reduction && i < 2 ? 2 : 1, k, o));
      register_module("_ops." + std::to_string(edges.size() - 1), edges.back().get());
    }
}

Tensor SearchCell::forward_relu_applied(const Tensor& relu_s0, const Tensor& relu_s1,
                                        const Tensor& alpha_softmax, const std::vector<Tensor>& node_betas,
                                        bool training, const std::vector<Tensor>& selected) {
  BNAS_CHECK(alpha_softmax.ndim() == 2 && alpha_softmax.size(0) == kCellEdges &&
                 alpha_softmax.size(1) == kNumPrimitives,
             "a search cell needs ", kCellEdges, " x ", kNumPrimitives, " op weights, got ",
             alpha_softmax.shape().str());
  BNAS_CHECK(node_betas.empty() || static_cast<int>(node_betas.size()) == kCellSteps,
             "a search cell needs one edge-weight vector per node or none");
  BNAS_CHECK(selected.empty() || static_cast<int>(selected.size()) == kCellEdges,
             "a search cell needs one channel selection per edge or none, got ", selected.size());
  std::vector<Tensor> states{nas::forward_relu_applied(*preprocess0, relu_s0, training),
                             nas::forward_relu_applied(*preprocess1, relu_s1, training)};
  for (int j = 0; j < kCellSteps; ++j) {
    std::vector<Tensor> inputs;  // the node's incoming edges, summed in one launch
    for (int i = 0; i < j + 2; ++i) {
      const int e = cell_edge_offset(j) + i;
      const Tensor op_weights = ops::reshape(ops::narrow(alpha_softmax, 0, e, 1), {kNumPrimitives});
      const Tensor edge_weight = node_betas.empty() ? Tensor() : ops::narrow(node_betas[j], 0, i, 1);
      const Tensor y = edges[e]->forward(states[i], op_weights, edge_weight, training,
                                         selected.empty() ? Tensor() : selected[e]);
      inputs.push_back(y);
    }
    states.push_back(ops::sum(inputs));
  }
  return ops::concat_channels({states.end() - kCellSteps, states.end()});
}

// ---- evaluation cell --------------------------------------------------------------------------

EvalCell::EvalCell(const std::vector<GenotypeEdge>& entries, const std::vector<int>& concat, int c_prev_prev,
                   int c_prev, int c, bool reduction, bool reduction_prev, const ParamOptions& o)
    : reduction(reduction), entries(entries), concat(concat) {
  BNAS_CHECK(!entries.empty() && entries.size() % 2 == 0, "an evaluation cell needs two (op, input) pairs per node, got ",
             entries.size(), " entries");
  const int steps = static_cast<int>(entries.size()) / 2;
  for (size_t e = 0; e < entries.size(); ++e)
    BNAS_CHECK(entries[e].input >= 0 && entries[e].input < static_cast<int>(e / 2) + 2, "genotype entry ", e,
               " reads input ", entries[e].input, ", which node ", e / 2, " cannot see");
  BNAS_CHECK(!concat.empty(), "an evaluation cell needs a non-empty concat");
  for (int n : concat)
    BNAS_CHECK(n >= 0 && n < steps + 2, "concat names state ", n, ", but the cell has ", steps + 2, " states");
  preprocess0 = make_preprocess0(c_prev_prev, c, reduction_prev, true, o);
  preprocess1 = std::make_unique<ReLUConvBN>(c_prev, c, 1, 1, 0, true, o);
  register_module("preprocess0", preprocess0.get());
  register_module("preprocess1", preprocess1.get());
  for (const GenotypeEdge& g : entries) {
    ops.push_back(make_operation(g.op, c, reduction && g.input < 2 ? 2 : 1, OpForm::kEval, o));
    register_module("_ops." + std::to_string(ops.size() - 1), ops.back().get());
  }
}

Tensor EvalCell::forward_relu_applied(const Tensor& relu_s0, const Tensor& relu_s1, bool training,
                                      double drop_prob, Generator& drop_gen) {
  std::vector<Tensor> states{nas::forward_relu_applied(*preprocess0, relu_s0, training),
                             nas::forward_relu_applied(*preprocess1, relu_s1, training)};
  const size_t steps = entries.size() / 2;
  for (size_t j = 0; j < steps; ++j) {
    Tensor h[2];
    for (int q = 0; q < 2; ++q) {
      Op& op = *ops[2 * j + q];
      h[q] = op.forward(states[entries[2 * j + q].input], training);
      if (training && drop_prob > 0 && !op.is_identity()) h[q] = ops::drop_path(h[q], drop_prob, drop_gen);
    }
    states.push_back(ops::add(h[0], h[1]));
  }
  std::vector<Tensor> out;
  for (int n : concat) out.push_back(states[n]);
  return out.size() == 1 ? out[0] : ops::concat_channels(out);
}

}  // namespace bnas::nas
