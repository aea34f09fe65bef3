// The search and evaluation networks on CUDA against the CPU (float32, same seed so the same
// weights): logits, the gradients of every weight, alpha and beta, and the BN running
// statistics, for the PC supernet (fixed and random channel selection), the full-channel
// supernet and an evaluation network; plus the activation memory per image kept for backward
// on the GPU at a real batch. Skips when no GPU is present.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "engine/autograd.h"
#include "engine/memory.h"
#include "engine/ops.h"
#include "nas/broad_network.h"
#include "nas/eval_network.h"
#include "nas/published_genotypes.h"

namespace bnas::nas {
namespace {

#define REQUIRE_GPU() \
  if (!cuda_available()) GTEST_SKIP() << "no GPU on this machine"

Tensor random_images(int64_t n, int64_t c, int64_t hw, uint64_t seed) {
  Generator g(seed, RngStream::Test);
  return Tensor::from_vector(g.normal(static_cast<uint64_t>(n * c * hw * hw)), {n, c, hw, hw});
}

// max |a - b| / max |b| (NaN anywhere fails).
double rel_err(const Tensor& a, const Tensor& b) {
  const std::vector<double> x = a.to_doubles(), y = b.to_doubles();
  if (x.size() != y.size()) return INFINITY;
  double num = 0, den = 1e-12;
  for (size_t i = 0; i < x.size(); ++i) {
    if (std::isnan(x[i]) || std::isnan(y[i])) return INFINITY;
    num = std::max(num, std::abs(x[i] - y[i]));
    den = std::max(den, std::abs(y[i]));
  }
  return num / den;
}

struct Result {
  Tensor logits;
  NamedTensors grads, buffers;
};

template <class Net>
Result run(Net& net, const NamedTensors& params, const NamedTensors& arch, const Tensor& x, const Tensor& labels) {
  Result r;
  r.logits = net.forward(x, true);
  const Tensor loss = ops::cross_entropy(r.logits, labels);
  std::vector<Tensor> leaves;
  for (const auto& [n, t] : params) leaves.push_back(t);
  for (const auto& [n, t] : arch) leaves.push_back(t);
  const std::vector<Tensor> g = grad(loss, leaves);
  for (size_t i = 0; i < params.size(); ++i) r.grads.emplace_back(params[i].first, g[i]);
  for (size_t i = 0; i < arch.size(); ++i) r.grads.emplace_back(arch[i].first, g[params.size() + i]);
  r.buffers = net.named_buffers();
  return r;
}

// A whole network's forward and backward: cuDNN's convolution algorithms sum in other orders
// (FFT and Winograd through transforms that round on their own), nvcc contracts the other
// kernels into FMAs, warp and block trees reorder their sums, and BN over 8 images amplifies
// float32 rounding from layer to layer. The emulated device (whose cuDNN stand-in runs the
// CPU's convolutions, so it sees all but the first) measured up to 8e-7 on the logits, 3.5e-6 on
// a gradient and 2.6e-5 on the running statistics (a running mean whose entries are all small
// beside the norm-wise scale); the bounds leave cuDNN 1.5 to 3 decades above those, and are far
// below what a wrong kernel does (errors of order 1).
void compare(const Result& gpu, const Result& cpu) {
  EXPECT_LT(rel_err(gpu.logits, cpu.logits), 1e-3) << "logits";
  ASSERT_EQ(gpu.grads.size(), cpu.grads.size());
  for (size_t i = 0; i < cpu.grads.size(); ++i)
    EXPECT_LT(rel_err(gpu.grads[i].second, cpu.grads[i].second), 2e-3) << cpu.grads[i].first;
  for (size_t i = 0; i < cpu.buffers.size(); ++i)
    EXPECT_LT(rel_err(gpu.buffers[i].second, cpu.buffers[i].second), 1e-3) << cpu.buffers[i].first;
}

void supernet_parity(SupernetConfig cfg) {
  cfg.C = 8;
  const Tensor x = random_images(8, 3, 32, 1);
  const Tensor labels = Tensor::from_ints({0, 1, 2, 3, 4, 5, 6, 7}, {8});
  BroadSupernet cpu(cfg);
  cfg.device = Device::cuda(0);
  BroadSupernet gpu(cfg);
  const Result rc = run(cpu, cpu.named_parameters(), cpu.arch_parameters(), x, labels);
  const Result rg = run(gpu, gpu.named_parameters(), gpu.arch_parameters(), x.to(Device::cuda(0)),
                        labels.to(Device::cuda(0)));
  compare(rg, rc);
}

TEST(NetworksGpu, PcSupernetMatchesCpu) {
  REQUIRE_GPU();
  supernet_parity(SupernetConfig::pc_cifar());
}

TEST(NetworksGpu, PcSupernetRandomSelectionMatchesCpu) {
  REQUIRE_GPU();
  SupernetConfig c = SupernetConfig::pc_cifar();
  c.selection = ChannelSelection::kRandom;
  supernet_parity(c);
}

TEST(NetworksGpu, FullChannelSupernetMatchesCpu) {
  REQUIRE_GPU();
  supernet_parity(SupernetConfig::full_cifar());
}

TEST(NetworksGpu, EvalNetworkMatchesCpu) {
  REQUIRE_GPU();
  EvalNetworkConfig c;
  c.C = 8;
  const Tensor x = random_images(8, 3, 32, 2);
  const Tensor labels = Tensor::from_ints({0, 1, 2, 3, 4, 5, 6, 7}, {8});
  EvalNetwork cpu(published_genotype("BNASv2_PC_cifar_v1"), c);
  c.device = Device::cuda(0);
  EvalNetwork gpu(published_genotype("BNASv2_PC_cifar_v1"), c);
  const Result rc = run(cpu, cpu.named_parameters(), {}, x, labels);
  const Result rg = run(gpu, gpu.named_parameters(), {}, x.to(Device::cuda(0)), labels.to(Device::cuda(0)));
  compare(rg, rc);
}

TEST(NetworksGpu, ActivationMemoryPerImage) {
  REQUIRE_GPU();
  for (SupernetConfig cfg : {SupernetConfig::pc_cifar(), SupernetConfig::full_cifar()}) {
    cfg.device = Device::cuda(0);
    BroadSupernet net(cfg);
    const int64_t n = 64;
    const Tensor x = random_images(n, 3, 32, 3).to(cfg.device);
    const Tensor labels = Tensor::from_ints(std::vector<int32_t>(n, 1), {n}, cfg.device);
    const size_t before = memory_stats(cfg.device).current;
    const Tensor loss = ops::cross_entropy(net.forward(x, true), labels);
    const double mib = static_cast<double>(memory_stats(cfg.device).current - before) / n / (1024.0 * 1024.0);
    std::printf("GPU activation memory per 32x32 image (float32, batch %d): %s supernet %.2f MiB\n", int(n),
                cfg.k == 1 ? "full-channel" : "PC", mib);
    EXPECT_GT(mib, 0.0);
  }
}

}  // namespace
}  // namespace bnas::nas
