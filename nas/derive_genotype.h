// Derivation of a genotype from a search's architecture parameters (docs/METHOD.md §5).
#pragma once

#include <vector>

#include "nas/genotype.h"

namespace bnas::nas {

// alpha: kCellEdges x kNumPrimitives values, row-major, one row per edge in the cell's edge
// order (node by node, inputs s0, s1, n0, ...). beta: kCellEdges values (edge normalization), or
// nullptr / empty for no EN. For node j: W = softmax(alpha row) for each incoming edge; with EN
// each row is multiplied by softmax over node j's betas. The 2 edges with the largest non-none
// weight are kept (strongest first, ties to the lower input, as Python's stable sort does), each
// with its arg-max op excluding none (ties to the lower index). Non-finite alpha or beta is an
// error (a diverged search), never a silent choice.
std::vector<GenotypeEdge> derive_cell(const double* alpha, const double* beta);
std::vector<GenotypeEdge> derive_cell(const std::vector<double>& alpha,
                                      const std::vector<double>& beta = {});
// Concats are 2..5. Empty betas mean no edge normalization.
Genotype derive_genotype(const std::vector<double>& alpha_normal,
                         const std::vector<double>& alpha_reduce,
                         const std::vector<double>& beta_normal = {},
                         const std::vector<double>& beta_reduce = {});
// The kCellEdges x kNumPrimitives matrix W the derivation ranks: softmax(alpha) per row, times
// the node-normalised beta of the row's edge when beta is given. For logs and plots.
std::vector<double> derivation_weights(const double* alpha, const double* beta);

}  // namespace bnas::nas
