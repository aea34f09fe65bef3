// Op cases: the fused mixed edge (engine/mixed_edge.h). Inputs: x, weights [8], edge weight [1]
// (absent in the "noew" cases), then the branch outputs. The selection and the running
// statistics are constants built inside the case (fresh each call, so every evaluation of the
// gradient check sees the same state). Mirrored by tests/reference/op_cases/mixed_edge.py, which
// writes the unfused PyTorch composition (gather, pools + BatchNorm, weighted sum, bypass, concat,
// channel shuffle, edge weight).
#include "engine/mixed_edge.h"
#include "tests/ops/harness.h"

namespace bnas::testing {
namespace {
using V = std::vector<Tensor>;

struct EdgeCase {
  const char* name;
  int64_t C, H;
  int k, stride;
  bool training;
  std::vector<int32_t> sel;  // empty: the reference's first C/k channels
  bool edge_weight = true;
};

OpCase make_case(const EdgeCase& ec) {
  const int64_t N = 2, Cs = ec.C / ec.k, Ho = (ec.H - 1) / ec.stride + 1;
  std::vector<InputSpec> in{normal({N, ec.C, ec.H, ec.H}), positive({8}, true)};
  if (ec.edge_weight) in.push_back(positive({1}, true));
  const int nb = ec.stride == 1 ? 4 : 5;
  for (int i = 0; i < nb; ++i) in.push_back(normal({N, Cs, Ho, Ho}));
  auto fn = [ec, Cs, nb](const V& x) {
    const Device dev = x[0].device();
    const DType dt = x[0].dtype();
    const Tensor sel = ec.sel.empty() ? Tensor() : Tensor::from_ints(ec.sel, {Cs}, dev);
    std::vector<double> rm_max(Cs), rv_max(Cs), rm_avg(Cs), rv_avg(Cs);
    for (int64_t j = 0; j < Cs; ++j) {  // eval uses these; training starts from them
      rm_max[j] = 0.3 + 0.1 * j;
      rv_max[j] = 0.7 + 0.2 * j;
      rm_avg[j] = -0.1 + 0.05 * j;
      rv_avg[j] = 0.4 + 0.3 * j;
    }
    auto t = [&](const std::vector<double>& v) { return Tensor::from_vector(v, {Cs}, dt, dev); };
    const size_t b0 = ec.edge_weight ? 3 : 2;
    const V branches(x.begin() + static_cast<long>(b0), x.begin() + static_cast<long>(b0) + nb);
    ops::MixedEdgeArgs a;
    a.stride = ec.stride;
    a.k = ec.k;
    a.training = ec.training;
    return ops::mixed_edge(x[0], sel, branches, x[1], ec.edge_weight ? x[2] : Tensor(), t(rm_max), t(rv_max),
                           t(rm_avg), t(rv_avg), a);
  };
  // The pools' BN statistics and the weights' gradients are double sums in another order
  // (warp and block trees vs loops), rounded once; nvcc contracts the normalisation and the
  // weighted sum of the branches (w_i * b_i + acc) into FMAs, which the CPU rounds twice.
  // Measured up to 2.5e-7 (emulated device, fresh inputs): 1e-5 is the harness's usual bound.
  return gpu_parity(1e-5, 1e-5, "double sums in another order, FMAs in the normalisation and the weighted sum",
                    OpCase{ec.name, in, fn});
}

std::vector<OpCase> cases() {
  const std::vector<EdgeCase> ecs = {
      {"mixed_edge_k4_s1_train", 8, 6, 4, 1, true, {}},
      {"mixed_edge_k4_s1_train_random", 8, 6, 4, 1, true, {1, 6}},
      {"mixed_edge_k4_s2_train", 8, 6, 4, 2, true, {}},
      {"mixed_edge_k4_s2_train_random", 8, 6, 4, 2, true, {0, 5}},
      {"mixed_edge_k4_s1_eval_random", 8, 6, 4, 1, false, {2, 3}},
      {"mixed_edge_k4_s2_eval", 8, 6, 4, 2, false, {}},
      {"mixed_edge_k2_s1_train_random", 6, 5, 2, 1, true, {1, 2, 4}},
      {"mixed_edge_k1_s1_train_noew", 3, 5, 1, 1, true, {}, false},
      {"mixed_edge_k1_s2_train", 3, 5, 1, 2, true, {}},
      {"mixed_edge_k1_s2_eval_noew", 3, 5, 1, 2, false, {}, false},
  };
  std::vector<OpCase> out;
  for (const EdgeCase& ec : ecs) out.push_back(make_case(ec));
  // The four convolution branches stacked in one input (as ops::conv_branches returns them).
  out.push_back(gpu_parity(1e-5, 1e-5, "as the other mixed edge cases",
                           {"mixed_edge_k4_s2_train_stacked",
                            {normal({2, 8, 6, 6}), positive({8}, true), positive({1}, true), normal({4, 2, 2, 3, 3}),
                             normal({2, 2, 3, 3})},
                            [](const V& x) {
                              const Device dev = x[0].device();
                              const DType dt = x[0].dtype();
                              auto t = [&](double v) { return Tensor::full({2}, v, dt, dev); };
                              ops::MixedEdgeArgs a;
                              a.stride = 2;
                              a.k = 4;
                              return ops::mixed_edge(x[0], Tensor(), {x[3], x[4]}, x[1], x[2], t(0.3), t(0.7), t(-0.1),
                                                     t(0.4), a);
                            }}));
  return out;
}

BNAS_OP_CASES(cases());

}  // namespace
}  // namespace bnas::testing
