// GPU parity of the optimizers and of gradient clipping: the same steps on CUDA and on the CPU
// from the same parameters and gradients, over a group of several chunks (and a norm over more
// than one launch's batch of chunks); plus a step captured in a CUDA graph and replayed while
// the learning rate changes. Skips when no GPU is present.
#include <gtest/gtest.h>

#include <memory>

#include "engine/device.h"
#include "engine/optim.h"
#include "optim_test_util.h"

#if BNAS_WITH_CUDA
#include <cuda_runtime_api.h>

#include "engine/cuda_check.h"
#include "engine/cuda_context.h"
#endif

namespace bnas {
namespace {
using testing::random_tensor;
using testing::rel_error;

#define BNAS_REQUIRE_GPU() \
  if (!cuda_available()) GTEST_SKIP() << "no CUDA GPU is available"

std::vector<Shape> shapes() { return {Shape{5, 8193}, Shape{7}, Shape{16, 8, 3, 3}, Shape{1}}; }

struct Twin {
  std::vector<Tensor> cpu, gpu;
};
Twin make_twin(uint64_t seed) {
  Twin t;
  for (const Shape& s : shapes()) {
    t.cpu.push_back(random_tensor(s, seed++));
    t.gpu.push_back(t.cpu.back().to(Device::cuda()));
  }
  return t;
}
void give_grads(Optimizer& cpu, Optimizer& gpu, uint64_t seed) {
  for (size_t i = 0; i < cpu.grads().size(); ++i) {
    const Tensor g = random_tensor(cpu.grads()[i].shape(), seed + i);
    Tensor a = cpu.grads()[i], b = gpu.grads()[i];
    a.copy_(g);
    b.copy_(g);
  }
}
void expect_close(const NamedTensors& a, const NamedTensors& b, double tol) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t k = 0; k < a.size(); ++k) {
    if (a[k].second.dtype() == DType::I32)
      EXPECT_EQ(a[k].second.to_ints(), b[k].second.to_ints()) << a[k].first;
    else
      EXPECT_LE(rel_error(b[k].second, a[k].second), tol) << a[k].first;
  }
}

// The bounds (norm-wise relative errors; measured on the emulated device, whose kernels are
// contracted as nvcc's are):
//  - the global norm: sums of squares in double (block trees on the GPU, in order on the CPU),
//    square root rounded once to float: at most 1 ulp apart (6e-8; 0 measured), bound 1e-6; the
//    clipped gradients are g * max_norm / (norm + 1e-6), so they inherit that ulp;
//  - the parameters and the optimizer state: nvcc contracts every update (g + wd * p,
//    buf * momentum + d, p + (-lr) * d, Adam's moment updates) into FMAs, which the CPU rounds
//    twice, and three steps compound it. Parameters: up to 1.0e-7 measured, bound 1e-6 (the
//    update is small beside |p|); state (momentum, Adam's moments, built from the updates
//    alone): up to 1.9e-7 measured, bound 1e-5.
template <class Opt, class Options> void run_parity(const Options& o, double max_norm) {
  Twin t = make_twin(17);
  Opt cpu(t.cpu, o), gpu(t.gpu, o);
  for (int s = 0; s < 3; ++s) {
    give_grads(cpu, gpu, 1000 + 10 * s);
    if (max_norm > 0) {
      const Tensor nc = cpu.clip_grad_norm(max_norm), ng = gpu.clip_grad_norm(max_norm);
      EXPECT_TRUE(ng.is_cuda());
      EXPECT_LE(rel_error(ng, nc), 1e-6) << "norm at step " << s;
      for (size_t i = 0; i < t.cpu.size(); ++i) EXPECT_LE(rel_error(gpu.grads()[i], cpu.grads()[i]), 1e-6);
    }
    cpu.step();
    gpu.step();
    for (size_t i = 0; i < t.cpu.size(); ++i)
      EXPECT_LE(rel_error(t.gpu[i], t.cpu[i]), 1e-6) << "parameter " << i << " after step " << s;
  }
  expect_close(cpu.state(), gpu.state(), 1e-5);  // step counts (int32): exact
}

TEST(OptimGpu, SgdWithMomentumWeightDecayAndClippingMatchesTheCpu) {
  BNAS_REQUIRE_GPU();
  SgdOptions o;
  o.lr = 0.1;
  o.momentum = 0.9;
  o.weight_decay = 1e-2;
  run_parity<SGD>(o, 1.0);
  o.momentum = 0;
  run_parity<SGD>(o, 0);
}

TEST(OptimGpu, AdamMatchesTheCpu) {
  BNAS_REQUIRE_GPU();
  AdamOptions o;
  o.lr = 1e-2;
  o.weight_decay = 1e-2;
  run_parity<Adam>(o, 0);
  o.beta1 = 0.5;
  o.lr = 3e-4;
  run_parity<Adam>(o, 2.0);
}

TEST(OptimGpu, GlobalNormOverManyBatchesMatchesTheCpuAndIsDeterministic) {
  BNAS_REQUIRE_GPU();
  // 70 chunks in the first tensor: more than one launch's batch of norm chunks.
  std::vector<Tensor> cpu{random_tensor({70 * 16384 - 3}, 5), random_tensor({33}, 6), Tensor::zeros({0})};
  std::vector<Tensor> gpu;
  for (const Tensor& c : cpu) gpu.push_back(c.to(Device::cuda()));
  const Tensor nc = global_norm(cpu), ng = global_norm(gpu);
  // Double sums of squares in another order, square root rounded once to float: at most 1 ulp.
  EXPECT_LE(rel_error(ng, nc), 1e-6);
  const double first = ng.item();  // the GPU's fixed reduction order: bitwise run to run
  for (int r = 0; r < 3; ++r) EXPECT_EQ(global_norm(gpu).item(), first);
}

TEST(OptimGpu, ZeroGradAndSetLrWork) {
  BNAS_REQUIRE_GPU();
  Twin t = make_twin(3);
  SgdOptions o;
  o.lr = 0.5;
  SGD cpu(t.cpu, o), gpu(t.gpu, o);
  give_grads(cpu, gpu, 7);
  gpu.zero_grad();
  for (const Tensor& g : gpu.grads())
    for (double x : g.to_doubles()) ASSERT_EQ(x, 0.0);
  give_grads(cpu, gpu, 8);
  cpu.set_lr(0.125);
  gpu.set_lr(0.125);
  cpu.step();
  gpu.step();
  // Plain SGD, p + (-lr) * g with lr = 2^-3: the product is exact, so the GPU's FMA and the CPU's
  // multiply-then-add both round once, the same way: bitwise (another lr would need ~1 ulp).
  for (size_t i = 0; i < t.cpu.size(); ++i) EXPECT_EQ(t.gpu[i].to_doubles(), t.cpu[i].to_doubles()) << i;
}

#if BNAS_WITH_CUDA
// A step captured once in a CUDA graph and replayed reads the learning rate and step count from
// device memory: replays with a changed rate match eager steps.
TEST(OptimGpu, AStepCapturedInACudaGraphReplaysWithNewLearningRates) {
  BNAS_REQUIRE_GPU();
  Twin t = make_twin(23);
  std::vector<Tensor> eager_params;
  for (const Tensor& p : t.gpu) eager_params.push_back(p.clone());
  AdamOptions o;
  o.lr = 1e-2;
  Adam graphed(t.gpu, o), eager(eager_params, o);
  for (size_t i = 0; i < t.gpu.size(); ++i) {
    const Tensor g = random_tensor(t.gpu[i].shape(), 500 + i, DType::F32, Device::cuda());
    Tensor a = graphed.grads()[i], b = eager.grads()[i];
    a.copy_(g);
    b.copy_(g);
  }
  synchronize(Device::cuda());
  cudaStream_t s = cuda_stream(Device::cuda());
  cudaGraph_t graph;
  cudaGraphExec_t exec;
  CUDA_CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
  graphed.step();
  CUDA_CHECK(cudaStreamEndCapture(s, &graph));
  CUDA_CHECK(cudaGraphInstantiate(&exec, graph, 0));
  for (double lr : {1e-2, 5e-3, 2e-2}) {
    graphed.set_lr(lr);
    eager.set_lr(lr);
    CUDA_CHECK(cudaGraphLaunch(exec, s));
    eager.step();
  }
  synchronize(Device::cuda());
  CUDA_CHECK(cudaGraphExecDestroy(exec));
  CUDA_CHECK(cudaGraphDestroy(graph));
  EXPECT_EQ(graphed.step_count().to_ints(), std::vector<int32_t>{3});
  // The same kernels on the same device from the same values: bitwise.
  for (size_t i = 0; i < t.gpu.size(); ++i) EXPECT_EQ(t.gpu[i].to_doubles(), eager_params[i].to_doubles());
}
#endif

}  // namespace
}  // namespace bnas
