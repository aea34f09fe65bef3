// Derivation of a genotype from alpha and beta (derive_genotype.h).
#include "nas/derive_genotype.h"

#include <algorithm>
#include <cmath>

#include "engine/check.h"

namespace bnas::nas {

namespace {

void softmax_row(const double* x, int n, double* out) {
  double m = x[0];
  for (int i = 1; i < n; ++i) m = std::max(m, x[i]);
  double sum = 0;
  for (int i = 0; i < n; ++i) sum += (out[i] = std::exp(x[i] - m));
  for (int i = 0; i < n; ++i) out[i] /= sum;
}

}  // namespace

std::vector<double> derivation_weights(const double* alpha, const double* beta) {
  BNAS_CHECK(alpha != nullptr, "Genotype derivation needs alpha.");
  for (int i = 0; i < kCellEdges * kNumPrimitives; ++i)
    BNAS_CHECK(std::isfinite(alpha[i]), "Cannot derive a genotype: alpha[", i / kNumPrimitives, "][",
               i % kNumPrimitives, "] is ", alpha[i], " (the search diverged).");
  if (beta)
    for (int i = 0; i < kCellEdges; ++i)
      BNAS_CHECK(std::isfinite(beta[i]), "Cannot derive a genotype: beta[", i, "] is ", beta[i],
                 " (the search diverged).");
  std::vector<double> w(static_cast<size_t>(kCellEdges * kNumPrimitives));
  for (int e = 0; e < kCellEdges; ++e)
    softmax_row(alpha + e * kNumPrimitives, kNumPrimitives, w.data() + e * kNumPrimitives);
  if (beta) {
    double b[kCellSteps + 1];
    for (int node = 0; node < kCellSteps; ++node) {
      const int start = cell_edge_offset(node), n = node + 2;
      softmax_row(beta + start, n, b);
      for (int i = 0; i < n; ++i)
        for (int k = 0; k < kNumPrimitives; ++k) w[static_cast<size_t>((start + i) * kNumPrimitives + k)] *= b[i];
    }
  }
  return w;
}

std::vector<GenotypeEdge> derive_cell(const double* alpha, const double* beta) {
  const std::vector<double> w = derivation_weights(alpha, beta);
  const int none = static_cast<int>(Primitive::kNone);
  auto row = [&](int edge) { return w.data() + edge * kNumPrimitives; };
  // Arg-max excluding none; strict '>' keeps the lowest index on ties, like the reference loop.
  auto best_op = [&](int edge) {
    int best = -1;
    for (int k = 0; k < kNumPrimitives; ++k)
      if (k != none && (best < 0 || row(edge)[k] > row(edge)[best])) best = k;
    return best;
  };
  std::vector<GenotypeEdge> gene;
  for (int node = 0; node < kCellSteps; ++node) {
    const int start = cell_edge_offset(node), n = node + 2;
    std::vector<int> inputs(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) inputs[static_cast<size_t>(i)] = i;
    // sorted(range(n), key=-max non-none weight)[:2]: stable, so ties keep the lower input first.
    std::stable_sort(inputs.begin(), inputs.end(), [&](int a, int b) {
      return row(start + a)[best_op(start + a)] > row(start + b)[best_op(start + b)];
    });
    for (int t = 0; t < 2; ++t) {
      const int in = inputs[static_cast<size_t>(t)];
      gene.push_back({static_cast<Primitive>(best_op(start + in)), in});
    }
  }
  return gene;
}

std::vector<GenotypeEdge> derive_cell(const std::vector<double>& alpha, const std::vector<double>& beta) {
  BNAS_CHECK(alpha.size() == static_cast<size_t>(kCellEdges * kNumPrimitives),
             "Genotype derivation needs ", kCellEdges, " x ", kNumPrimitives, " = ",
             kCellEdges * kNumPrimitives, " alpha values, but got ", alpha.size(), ".");
  BNAS_CHECK(beta.empty() || beta.size() == static_cast<size_t>(kCellEdges),
             "Genotype derivation needs ", kCellEdges, " beta values (one per edge) or none, but got ",
             beta.size(), ".");
  return derive_cell(alpha.data(), beta.empty() ? nullptr : beta.data());
}

Genotype derive_genotype(const std::vector<double>& alpha_normal, const std::vector<double>& alpha_reduce,
                         const std::vector<double>& beta_normal, const std::vector<double>& beta_reduce) {
  Genotype g;
  g.normal = derive_cell(alpha_normal, beta_normal);
  g.normal_concat = default_concat();
  g.reduce = derive_cell(alpha_reduce, beta_reduce);
  g.reduce_concat = default_concat();
  return g;
}

}  // namespace bnas::nas
