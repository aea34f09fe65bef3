// The three checks of tests/ops/harness.h, each a parameterised suite over every op case.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <random>

#include "engine/checkpoint.h"
#include "engine/device.h"
#include "tests/ops/harness.h"

namespace bnas::testing {
namespace {

const OpCase& case_at(size_t i) { return op_cases().at(i); }
std::string case_name(const ::testing::TestParamInfo<size_t>& info) { return case_at(info.param).name; }
uint64_t case_seed(const OpCase& c) { return std::hash<std::string>{}(c.name) & 0xffffffffu; }

// sum(out * r) in float64 on the host, without recording.
double weighted_total(const Tensor& out, const std::vector<double>& r) {
  const std::vector<double> o = out.to_doubles();
  double s = 0;
  for (size_t i = 0; i < o.size(); ++i) s += o[i] * r[i];
  return s;
}

std::vector<Tensor> differentiable(const OpCase& c, const std::vector<Tensor>& in) {
  std::vector<Tensor> out;
  for (size_t i = 0; i < in.size(); ++i)
    if (c.inputs[i].differentiable) out.push_back(in[i]);
  return out;
}

class GradCheck : public ::testing::TestWithParam<size_t> {};
class Golden : public ::testing::TestWithParam<size_t> {};
class GpuParity : public ::testing::TestWithParam<size_t> {};

TEST_P(GradCheck, Float64CentralDifferences) {
  const OpCase& c = case_at(GetParam());
  std::vector<Tensor> in = make_inputs(c, DType::F64, Device::cpu(), case_seed(c));
  const Tensor out = c.fn(in);
  ASSERT_EQ(out.dtype(), DType::F64);
  Generator gen(case_seed(c) + 1, RngStream::Test);
  const std::vector<double> r = gen.normal(static_cast<uint64_t>(out.numel()));
  const std::vector<Tensor> leaves = differentiable(c, in);
  ASSERT_FALSE(leaves.empty()) << c.name << " has no differentiable input";
  const std::vector<Tensor> analytic = grad(out, leaves, Tensor::from_vector(r, out.shape(), DType::F64));
  NoGradGuard no_grad;
  // Stateful ops (batch norm's running statistics) must see the same state on every call.
  std::vector<Tensor> pristine;
  for (const Tensor& t : in) pristine.push_back(t.clone());
  size_t k = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    if (!c.inputs[i].differentiable) continue;
    double* x = in[i].data<double>();
    std::vector<double> numeric(static_cast<size_t>(in[i].numel()));
    for (size_t j = 0; j < numeric.size(); ++j) {
      const double x0 = x[j];
      auto eval = [&](double v) {
        for (size_t m = 0; m < in.size(); ++m)
          if (m != i) in[m].copy_(pristine[m]);
        x[j] = v;
        return weighted_total(c.fn(in), r);
      };
      numeric[j] = (eval(x0 + c.fd_step) - eval(x0 - c.fd_step)) / (2 * c.fd_step);
      x[j] = x0;
    }
    const double err = relative_error(analytic[k].to_doubles(), numeric, 1e-6);
    EXPECT_LE(err, c.grad_tol) << c.name << ": input " << i << " gradient differs from finite differences";
    ++k;
  }
}

TEST_P(Golden, MatchesPyTorch) {
  const OpCase& c = case_at(GetParam());
  if (!c.golden) GTEST_SKIP() << c.name << " has no PyTorch fixture by design";
  const std::string path = std::string(BNAS_SOURCE_DIR) + "/tests/reference/fixtures/ops/" + c.name + ".safetensors";
  ASSERT_TRUE(std::ifstream(path).good()) << "missing fixture " << path
                                          << " (run tests/reference/make_op_fixtures.py)";
  const SafetensorsFile f = load_safetensors(path);
  std::vector<Tensor> in;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    Tensor t = f.tensors.at("input." + std::to_string(i)).clone();
    ASSERT_EQ(t.shape(), c.inputs[i].shape) << c.name << ": fixture input " << i << " has another shape";
    if (c.inputs[i].differentiable) t.set_requires_grad(true);
    in.push_back(t);
  }
  const Tensor out = c.fn(in);
  const Tensor& ref = f.tensors.at("output");
  ASSERT_EQ(out.shape(), ref.shape());
  EXPECT_LE(relative_error(out.to_doubles(), ref.to_doubles()), 1e-5) << c.name << ": output";
  const std::vector<Tensor> leaves = differentiable(c, in);
  if (leaves.empty()) return;
  const std::vector<Tensor> g = grad(out, leaves, f.tensors.at("grad_out"));
  size_t k = 0;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    if (!c.inputs[i].differentiable) continue;
    const Tensor& gref = f.tensors.at("grad." + std::to_string(i));
    EXPECT_LE(relative_error(g[k++].to_doubles(), gref.to_doubles()), 1e-5) << c.name << ": gradient of input " << i;
  }
}

TEST_P(GpuParity, CudaMatchesCpu) {
  if (!cuda_available()) GTEST_SKIP() << "no GPU on this machine";
  const OpCase& c = case_at(GetParam());
  ASSERT_FALSE(c.parity_why.empty() || c.parity_tol < 0 || c.parity_grad_tol < 0)
      << c.name << " states no GPU tolerance: register it with gpu_parity(output_tol, grad_tol, why, case)";
  const uint64_t seed = std::random_device{}();  // fresh inputs every run
  const Device gpu = Device::cuda(0);
  std::vector<Tensor> cpu_in = make_inputs(c, DType::F32, Device::cpu(), seed);
  std::vector<Tensor> gpu_in;
  for (size_t i = 0; i < cpu_in.size(); ++i) {
    Tensor t = cpu_in[i].detach().to(gpu);
    if (c.inputs[i].differentiable) t.set_requires_grad(true);
    gpu_in.push_back(t);
  }
  {  // Poison the pool: the op's outputs reuse this NaN-filled memory, so unwritten results show.
    Tensor poison = Tensor::full({16 << 20}, NAN, DType::F32, gpu);
  }
  const Tensor out_cpu = c.fn(cpu_in);
  const Tensor out_gpu = c.fn(gpu_in);
  ASSERT_TRUE(out_gpu.is_cuda());
  const double out_err = relative_error(out_gpu.to_doubles(), out_cpu.to_doubles());
  EXPECT_LE(out_err, c.parity_tol) << c.name << " (seed " << seed << "): output; bound: " << c.parity_why;
  double grad_err = 0;
  const std::vector<Tensor> leaves_cpu = differentiable(c, cpu_in), leaves_gpu = differentiable(c, gpu_in);
  if (!leaves_cpu.empty()) {
    Generator gen(seed + 1, RngStream::Test);
    const Tensor r = Tensor::from_vector(gen.normal(static_cast<uint64_t>(out_cpu.numel())), out_cpu.shape());
    const std::vector<Tensor> g_cpu = grad(out_cpu, leaves_cpu, r);
    const std::vector<Tensor> g_gpu = grad(out_gpu, leaves_gpu, r.to(gpu));
    for (size_t k = 0; k < g_cpu.size(); ++k) {
      const double e = relative_error(g_gpu[k].to_doubles(), g_cpu[k].to_doubles());
      grad_err = std::max(grad_err, e);
      EXPECT_LE(e, c.parity_grad_tol) << c.name << " (seed " << seed << "): gradient " << k
                                      << "; bound: " << c.parity_why;
    }
  }
  std::printf("%s: GPU-CPU relative error: output %.2e (bound %.0e), gradients %.2e (bound %.0e)\n",
              c.name.c_str(), out_err, c.parity_tol, grad_err, c.parity_grad_tol);
}

INSTANTIATE_TEST_SUITE_P(Ops, GradCheck, ::testing::Range<size_t>(0, op_cases().size()), case_name);
INSTANTIATE_TEST_SUITE_P(Ops, Golden, ::testing::Range<size_t>(0, op_cases().size()), case_name);
INSTANTIATE_TEST_SUITE_P(Ops, GpuParity, ::testing::Range<size_t>(0, op_cases().size()), case_name);

}  // namespace
}  // namespace bnas::testing
