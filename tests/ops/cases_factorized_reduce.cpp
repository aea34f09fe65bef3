// Op cases: the fused FactorizedReduce (engine/factorized_reduce.h). Inputs: x, w1, w2, then
// gamma and beta when affine, then the running mean and variance (constants: the gradient check
// restores them before every evaluation). The selection is a constant built inside the case.
// Mirrored by tests/reference/op_cases/factorized_reduce.py, which writes PyTorch's DARTS
// FactorizedReduce on x[:, selected] (ReLU, conv_1, conv_2 on x[:, :, 1:, 1:], cat, BatchNorm).
#include "engine/factorized_reduce.h"
#include "tests/ops/harness.h"

namespace bnas::testing {
namespace {
using V = std::vector<Tensor>;

struct FrCase {
  const char* name;
  int64_t C, Cs, Co, H, W;
  bool relu, affine, training;
  std::vector<int32_t> sel;  // empty: the first Cs channels
};

Tensor selection(const FrCase& fc, Device dev) {
  return fc.sel.empty() ? Tensor() : Tensor::from_ints(fc.sel, {fc.Cs}, dev);
}
ops::FactorizedReduceArgs args(const FrCase& fc, double momentum = 0.1) {
  ops::FactorizedReduceArgs a;
  a.relu = fc.relu;
  a.training = fc.training;
  a.bn_momentum = momentum;
  return a;
}

OpCase make_case(const FrCase& fc) {
  const int64_t N = 2;
  std::vector<InputSpec> in{normal({N, fc.C, fc.H, fc.W}), normal({fc.Co / 2, fc.Cs, 1, 1}),
                            normal({fc.Co / 2, fc.Cs, 1, 1})};
  if (fc.affine) in.insert(in.end(), {normal({fc.Co}), normal({fc.Co})});
  in.insert(in.end(), {constant({fc.Co}), positive({fc.Co})});
  auto fn = [fc](const V& x) {
    const size_t r = fc.affine ? 5 : 3;  // the running statistics
    const Tensor gamma = fc.affine ? x[3] : Tensor(), beta = fc.affine ? x[4] : Tensor();
    return ops::factorized_reduce(x[0], selection(fc, x[0].device()), fc.Cs, x[1], x[2], gamma, beta, x[r],
                                  x[r + 1], args(fc));
  };
  return OpCase{fc.name, in, fn};
}

// The running statistics after a training call (x and the weights constant, as they feed the
// statistics without a gradient), plus gamma, which keeps the case differentiable.
OpCase running_case(const char* name, bool variance) {
  const FrCase fc{name, 5, 3, 4, 4, 6, true, true, true, {0, 2, 3}};
  std::vector<InputSpec> in{constant({2, fc.C, fc.H, fc.W}), constant({2, 3, 1, 1}), constant({2, 3, 1, 1}),
                            normal({4}), constant({4}), positive({4})};
  auto fn = [fc, variance](const V& x) {
    ops::factorized_reduce(x[0], selection(fc, x[0].device()), fc.Cs, x[1], x[2], x[3], Tensor(), x[4], x[5],
                           args(fc, 0.3));
    return ops::add(variance ? x[5] : x[4], x[3]);
  };
  return OpCase{name, in, fn};
}

std::vector<OpCase> cases() {
  const std::vector<FrCase> fcs = {
      // name, C, Cs, Co, H, W, relu, affine, training, selection
      {"factorized_reduce_relu_affine_train", 4, 4, 6, 4, 4, true, true, true, {}},
      {"factorized_reduce_norelu_train_first", 5, 3, 4, 6, 4, false, false, true, {}},
      {"factorized_reduce_relu_train_selected", 8, 3, 6, 4, 4, true, false, true, {1, 4, 6}},
      {"factorized_reduce_relu_affine_eval_selected", 6, 2, 2, 4, 4, true, true, false, {0, 5}},
      {"factorized_reduce_norelu_affine_eval", 3, 3, 4, 4, 6, false, true, false, {}},
      {"factorized_reduce_norelu_affine_train_first", 7, 5, 10, 2, 4, false, true, true, {}},
  };
  std::vector<OpCase> out;
  for (const FrCase& fc : fcs) out.push_back(make_case(fc));
  out.push_back(running_case("factorized_reduce_running_mean", false));
  out.push_back(running_case("factorized_reduce_running_var", true));
  // The CPU sums the 1x1 convolutions in OpenBLAS GEMMs (its own order, its own FMAs) and the
  // weight gradients over the batch in float, the GPU in slot order with nvcc's contracted FMAs
  // and in double; the BN statistics are double sums in another order (block tree vs loop)
  // rounded once, and the BN backward a * (gy - k1 - (x - mean) k3) contracts into FMAs. Measured
  // up to 2.1e-7 (output) and 8.1e-7 (gradients) on the emulated device (40 runs of every case on
  // fresh inputs); bound 1e-5.
  return gpu_parity_all(1e-5, 1e-5, "GEMM vs slot-order FMA sums, float vs double weight sums, FMAs in the BN",
                        out);
}

BNAS_OP_CASES(cases());

}  // namespace
}  // namespace bnas::testing
