// Op cases: weighted_sum, sum, concat_channels, narrow, reshape, channel_shuffle, strided_zero,
// drop_path (mirrored by tests/reference/op_cases/structure.py), and GPU checks on large inputs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>

#include "engine/device.h"
#include "tests/ops/harness.h"

namespace bnas::testing {
namespace {
using V = std::vector<Tensor>;

Tensor wsum(const V& in) {  // the last input is the weight vector
  return ops::weighted_sum(V(in.begin(), in.end() - 1), in.back());
}
std::vector<InputSpec> wsum_inputs(int n, Shape s) {
  std::vector<InputSpec> v(static_cast<size_t>(n), normal(s));
  v.push_back(normal({n}));
  return v;
}

// weighted_sum: nvcc contracts acc += w_i * x_i into FMAs (the CPU rounds each product), and the
// weights' gradient is a float block tree of FMAs on the GPU against a double sum on the CPU;
// the inputs' gradients are one multiplication w_i * gy each (exact), within the same bound.
BNAS_OP_CASES(gpu_parity_all(1e-5, 1e-5, "FMAs in the weighted sum, float tree vs double sum for the weights", {
    {"weighted_sum_3", wsum_inputs(3, {2, 3, 4, 4}), wsum},
    {"weighted_sum_8", wsum_inputs(8, {2, 3, 3, 3}), wsum},
}));
// Bitwise: copies and index arithmetic (concat, narrow, reshape, shuffle, their gradients'
// scatters and zero fills), drop_path's one multiplication by the host's float 1 / (1 - p)
// under the same Philox mask on both sides, and sum's additions in the same order on both (an FMA
// of 1 * x_i + acc rounds once, like the CPU's add).
BNAS_OP_CASES(gpu_parity_all(0, 0, "copies, index arithmetic, one multiplication per element: exact", {
    {"sum_2", {normal({2, 3, 4, 4}), normal({2, 3, 4, 4})}, [](const V& in) { return ops::sum(in); }},
    {"sum_11", std::vector<InputSpec>(11, normal({2, 3, 3, 3})), [](const V& in) { return ops::sum(in); }},
    {"concat_channels_3",
     {normal({2, 2, 3, 3}), normal({2, 3, 3, 3}), normal({2, 1, 3, 3})},
     [](const V& in) { return ops::concat_channels(in); }},
    // Channel-slice views as inputs (read in place, samples further apart than their size).
    {"concat_channels_views", {normal({2, 5, 3, 3})},
     [](const V& in) {
       return ops::concat_channels({ops::narrow(in[0], 1, 3, 2), ops::narrow(in[0], 1, 0, 3)});
     }},
    {"narrow_dim1", {normal({2, 6, 3, 3})}, [](const V& in) { return ops::narrow(in[0], 1, 2, 3); }},
    {"narrow_dim0", {normal({4, 3, 3, 3})}, [](const V& in) { return ops::narrow(in[0], 0, 1, 2); }},
    // dim 0 of a channel-slice view (the copying path), then dim 1 of that.
    {"narrow_strided_view", {normal({3, 6, 3, 3})},
     [](const V& in) { return ops::narrow(ops::narrow(ops::narrow(in[0], 1, 1, 4), 0, 1, 2), 1, 1, 2); }},
    {"narrow_dim0_2d", {normal({5, 7})}, [](const V& in) { return ops::narrow(in[0], 0, 2, 3); }},
    {"reshape", {normal({2, 3, 4, 4})}, [](const V& in) { return ops::reshape(in[0], {6, 16}); }},
    {"reshape_view", {normal({2, 3, 4, 4})},
     [](const V& in) { return ops::reshape(ops::narrow(in[0], 1, 1, 2), {2, 32}); }},
    {"channel_shuffle_g2", {normal({2, 4, 3, 3})}, [](const V& in) { return ops::channel_shuffle(in[0], 2); }},
    {"channel_shuffle_g4", {normal({2, 8, 2, 2})}, [](const V& in) { return ops::channel_shuffle(in[0], 4); }},
    {"channel_shuffle_view", {normal({2, 6, 2, 2})},
     [](const V& in) { return ops::channel_shuffle(ops::narrow(in[0], 1, 2, 4), 2); }},
    {"strided_zero_s1", {normal({2, 3, 5, 5})}, [](const V& in) { return ops::strided_zero(in[0], 1); }},
    {"strided_zero_s2", {normal({2, 3, 5, 4})}, [](const V& in) { return ops::strided_zero(in[0], 2); }},
    // A fresh generator per call, so every call (gradcheck calls fn many times) draws the same
    // mask: samples 3 and 5 of 6 dropped at p = 0.4 (reproduced by tests/reference/philox.py).
    {"drop_path", {normal({6, 2, 3, 3})},
     [](const V& in) {
       Generator gen(7, RngStream::Test);
       return ops::drop_path(in[0], 0.4, gen);
     }},
}));
}  // namespace
}  // namespace bnas::testing

// ---- GPU checks at sizes the OpCases do not reach -------------------------------------------
// More than 16 inputs (several packed launches), multi-block two-pass reductions, and bitwise
// reproducibility of the atomic-free reductions.
namespace bnas::testing {
namespace {

std::vector<Tensor> random_leaves(const std::vector<Shape>& shapes, Device d, uint64_t seed) {
  Generator gen(seed, RngStream::Test);
  std::vector<Tensor> out;
  for (const Shape& s : shapes) {
    Tensor t = Tensor::from_vector(gen.normal(static_cast<uint64_t>(s.numel())), s, DType::F32, d);
    t.set_requires_grad(true);
    out.push_back(t);
  }
  return out;
}

// Runs fn on the CPU and on the GPU from the same inputs; compares outputs and every input's
// gradient within tol (0: bitwise; why: the reason for the bound), and checks that a second GPU
// backward is bitwise identical.
void expect_parity(const std::vector<Shape>& shapes, const std::function<Tensor(const V&)>& fn, double tol,
                   const char* why) {
  const Device gpu = Device::cuda(0);
  const V cpu_in = random_leaves(shapes, Device::cpu(), 5);
  V gpu_in;
  for (const Tensor& t : cpu_in) {
    Tensor g = t.detach().to(gpu);
    g.set_requires_grad(true);
    gpu_in.push_back(g);
  }
  const Tensor out_cpu = fn(cpu_in), out_gpu = fn(gpu_in);
  ASSERT_TRUE(out_gpu.is_cuda());
  const double out_err = relative_error(out_gpu.to_doubles(), out_cpu.to_doubles());
  EXPECT_LE(out_err, tol) << "output; bound: " << why;
  double grad_err = 0;
  Generator gen(6, RngStream::Test);
  const Tensor r = Tensor::from_vector(gen.normal(static_cast<uint64_t>(out_cpu.numel())), out_cpu.shape());
  const V g_cpu = grad(out_cpu, cpu_in, r);
  const V g_gpu = grad(out_gpu, gpu_in, r.to(gpu));
  const V g_gpu2 = grad(fn(gpu_in), gpu_in, r.to(gpu));
  for (size_t k = 0; k < g_cpu.size(); ++k) {
    const double e = relative_error(g_gpu[k].to_doubles(), g_cpu[k].to_doubles());
    grad_err = std::max(grad_err, e);
    EXPECT_LE(e, tol) << "gradient " << k << "; bound: " << why;
    EXPECT_EQ(g_gpu[k].to_doubles(), g_gpu2[k].to_doubles()) << "gradient " << k << " is not reproducible";
  }
  std::printf("GPU-CPU relative error: output %.2e, gradients %.2e (bound %.0e)\n", out_err, grad_err, tol);
}

TEST(OpsGpu, WeightedSumOfManyLargeTensors) {
  if (!cuda_available()) GTEST_SKIP() << "no GPU on this machine";
  std::vector<Shape> shapes(20, Shape{4, 16, 32, 32});
  shapes.push_back({20});
  // nvcc contracts the sum's w_i * x_i into FMAs (the CPU rounds each product), and the weights'
  // gradients (65536 terms each) are float block trees of FMAs against the CPU's double sums.
  expect_parity(shapes, [](const V& in) { return ops::weighted_sum(V(in.begin(), in.end() - 1), in.back()); },
                1e-5, "FMAs in the sum; float trees vs double sums for the weights' gradients");
}

TEST(OpsGpu, ConcatOfManyTensorsAndViews) {
  if (!cuda_available()) GTEST_SKIP() << "no GPU on this machine";
  std::vector<Shape> shapes;
  for (int i = 0; i < 18; ++i) shapes.push_back({3, 1 + i % 4, 7, 9});
  shapes.push_back({3, 12, 7, 9});
  expect_parity(
      shapes,
      [](const V& in) {
        V parts(in.begin(), in.end() - 1);
        parts.insert(parts.begin() + 5, ops::narrow(in.back(), 1, 2, 7));  // a channel-slice view
        return ops::channel_shuffle(ops::concat_channels(parts), 2);
      },
      0, "copies only, forward and backward (the view's gradient: zeros and a scatter): bitwise");
}

TEST(OpsGpu, NarrowAndDropPathOnLargeTensors) {
  if (!cuda_available()) GTEST_SKIP() << "no GPU on this machine";
  expect_parity(
      {{64, 48, 16, 16}},
      [](const V& in) {
        Generator gen(99, RngStream::DropPath);
        const Tensor v = ops::narrow(in[0], 1, 8, 32);                         // view
        return ops::drop_path(ops::narrow(v, 0, 3, 60), 0.3, gen);            // copying dim-0 narrow
      },
      0, "copies, the same Philox mask and one multiplication per element: bitwise");
}

}  // namespace
}  // namespace bnas::testing
