// Op cases: the fused convolution branches (engine/conv_branches.h). Inputs: x, then the 12
// weights (depthwise and 1x1 of stages 0..5). The selection and the running statistics are
// constants built inside the case (fresh each call, so every evaluation of the gradient check sees
// the same state). Mirrored by tests/reference/op_cases/conv_branches.py, which writes the unfused
// PyTorch composition (gather, ReLU, depthwise and 1x1 convolutions, BatchNorm, stacked).
#include "engine/conv_branches.h"
#include "tests/ops/harness.h"

namespace bnas::testing {
namespace {
using V = std::vector<Tensor>;

struct BranchCase {
  const char* name;
  int64_t C, Cs, H;
  int stride;
  bool training;
  std::vector<int32_t> sel;  // empty: the first Cs channels
};

OpCase make_case(const BranchCase& bc) {
  const int64_t N = 2;
  std::vector<InputSpec> in{normal({N, bc.C, bc.H, bc.H})};
  for (int s = 0; s < ops::kConvBranchStages; ++s) {
    const int64_t k = s % 2 == 0 ? 3 : 5;  // stages 0, 2, 4: 3x3; 1, 3, 5: 5x5
    in.push_back(normal({bc.Cs, 1, k, k}));
    in.push_back(normal({bc.Cs, bc.Cs, 1, 1}));
  }
  auto fn = [bc](const V& x) {
    const Device dev = x[0].device();
    const DType dt = x[0].dtype();
    const Tensor sel = bc.sel.empty() ? Tensor() : Tensor::from_ints(bc.sel, {bc.Cs}, dev);
    std::vector<Tensor> running;
    for (int s = 0; s < ops::kConvBranchStages; ++s) {  // eval uses these; training starts from them
      std::vector<double> mean(static_cast<size_t>(bc.Cs)), var(static_cast<size_t>(bc.Cs));
      for (int64_t j = 0; j < bc.Cs; ++j) {
        mean[static_cast<size_t>(j)] = 0.1 * s - 0.2 + 0.05 * j;
        var[static_cast<size_t>(j)] = 0.5 + 0.1 * s + 0.2 * j;
      }
      running.push_back(Tensor::from_vector(mean, {bc.Cs}, dt, dev));
      running.push_back(Tensor::from_vector(var, {bc.Cs}, dt, dev));
    }
    ops::ConvBranchesArgs a;
    a.stride = bc.stride;
    a.training = bc.training;
    return ops::conv_branches(x[0], sel, bc.Cs, V(x.begin() + 1, x.end()), running, a);
  };
  // The BN statistics and the weight gradients are double sums in another order (block trees vs
  // loops), rounded once; nvcc contracts the depthwise and 1x1 multiply-adds and the BN backward
  // into FMAs, which the CPU rounds twice; the input gradient sums four transposed convolutions.
  return gpu_parity(1e-5, 1e-5, "double sums in another order, FMAs in the convolutions and the BN backward",
                    OpCase{bc.name, in, fn});
}

std::vector<OpCase> cases() {
  const std::vector<BranchCase> bcs = {
      {"conv_branches_k4_s1_train", 8, 2, 6, 1, true, {}},
      {"conv_branches_k4_s2_train_random", 8, 2, 6, 2, true, {1, 6}},
      {"conv_branches_k2_s2_train_odd", 6, 3, 5, 2, true, {0, 2, 5}},
      {"conv_branches_k1_s1_eval", 3, 3, 5, 1, false, {}},
      {"conv_branches_k4_s2_eval_random", 8, 2, 6, 2, false, {3, 4}},
  };
  std::vector<OpCase> out;
  for (const BranchCase& bc : bcs) out.push_back(make_case(bc));
  return out;
}

BNAS_OP_CASES(cases());

}  // namespace
}  // namespace bnas::testing
