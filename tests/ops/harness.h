// ONE harness checks every op (after ggml's test-backend-ops). An op case names the op, the
// shapes of its inputs and a function that applies the op; the harness then runs three checks
// on every case:
//   GradCheck  - float64 on the CPU: autograd's gradient of L = sum(out * R) (R random) against
//                central finite differences for every element of every differentiable input;
//   Golden     - float32 on the CPU against the fixture that tests/reference/make_op_fixtures.py
//                wrote with PyTorch (inputs, R, output and input gradients), within 1e-5
//                relative error (max |ours - ref| / max |ref|);
//   GpuParity  - float32 on CUDA against the CPU on fresh random inputs, with the device pool
//                poisoned with NaN before the call (skips when no GPU is present), within the
//                bounds the case states with gpu_parity() (below).
// Adding an op adds one OpCase in a cases_*.cpp file (and the same name in the fixture script).
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/tensor.h"

namespace bnas::testing {

struct InputSpec {
  enum class Kind { Normal, Positive, Labels };
  Shape shape;
  Kind kind = Kind::Normal;  // Normal: N(0,1); Positive: U(0.5, 1.5); Labels: int32 in [0, classes)
  int classes = 0;
  bool differentiable = true;  // checked by GradCheck and Golden (never for Labels)
};

inline InputSpec normal(Shape s) { return {s}; }
inline InputSpec positive(Shape s, bool differentiable = false) {
  return {s, InputSpec::Kind::Positive, 0, differentiable};
}
inline InputSpec constant(Shape s) { return {s, InputSpec::Kind::Normal, 0, false}; }
inline InputSpec labels(int64_t n, int classes) { return {Shape{n}, InputSpec::Kind::Labels, classes, false}; }

struct OpCase {
  std::string name;  // unique; also the fixture's file stem
  std::vector<InputSpec> inputs;
  // Applies the op to inputs that all live on one device (and share a float dtype).
  std::function<Tensor(const std::vector<Tensor>&)> fn;
  double fd_step = 1e-6;      // central-difference step in float64
  double grad_tol = 1e-6;     // relative tolerance of GradCheck
  bool golden = true;         // false only for ops whose fixture cannot be made by PyTorch
  // GpuParity's bounds on the norm-wise relative error (relative_error) of the output and of
  // every input gradient, and why they are what they are; set with gpu_parity(). 0 demands
  // bitwise equality, right only where the arithmetic is exact by construction (copies,
  // selections, one IEEE multiply or add per element, the same sums in the same order on both
  // sides). Elsewhere the GPU rounds differently even when an emulator happens not to: nvcc
  // contracts a * x + b into one FMA, block and warp trees, cuBLAS and cuDNN sum in other orders.
  // A case without a reason fails GpuParity.
  double parity_tol = -1;
  double parity_grad_tol = -1;
  std::string parity_why = "";
};

// The case (gpu_parity_all: every case of a list) with its GpuParity bounds and their reason.
inline OpCase gpu_parity(double output_tol, double grad_tol, std::string why, OpCase c) {
  c.parity_tol = output_tol;
  c.parity_grad_tol = grad_tol;
  c.parity_why = std::move(why);
  return c;
}
inline std::vector<OpCase> gpu_parity_all(double output_tol, double grad_tol, const std::string& why,
                                          std::vector<OpCase> cases) {
  for (OpCase& c : cases) c = gpu_parity(output_tol, grad_tol, why, std::move(c));
  return cases;
}

std::vector<OpCase>& op_cases();
struct RegisterOpCases {
  explicit RegisterOpCases(std::vector<OpCase> cases);
};

// Random inputs for a case on `device` in `dtype`, drawn from seed.
std::vector<Tensor> make_inputs(const OpCase& c, DType dtype, Device device, uint64_t seed);
// max |a - b| / max(max |b|, floor): the norm-wise relative error used by every check.
double relative_error(const std::vector<double>& a, const std::vector<double>& b, double floor = 1e-12);

}  // namespace bnas::testing

#define BNAS_CONCAT_INNER(a, b) a##b
#define BNAS_CONCAT(a, b) BNAS_CONCAT_INNER(a, b)
// BNAS_OP_CASES({ OpCase{...}, ... }); registers cases at static-initialisation time.
#define BNAS_OP_CASES(...) \
  static ::bnas::testing::RegisterOpCases BNAS_CONCAT(bnas_op_cases_, __LINE__)(__VA_ARGS__)
