// backward() lets ops add a parameter's gradient straight into its grad() buffer
// (Node::accumulate_into): what lands there must be exactly what grad() returns, added once per
// backward, for the ops that do it (the fused convolution branches on both backends, conv2d on
// CUDA through cuDNN's beta = 1) and for those that do not (batch_norm's affine parameters).
#include <gtest/gtest.h>

#include "engine/autograd.h"
#include "engine/conv_branches.h"
#include "engine/device.h"
#include "engine/ops.h"
#include "engine/rng.h"

namespace bnas {
namespace {

Tensor param(Generator& g, const Shape& s, DType dt, Device d) {
  Tensor t = Tensor::from_vector(g.normal(static_cast<uint64_t>(s.numel())), s, dt, d);
  t.set_requires_grad(true);
  return t;
}

// Every op under test: conv_branches on 8 channels (2 selected), then conv2d of two of its
// branches and an affine batch_norm. leaves: x, the 12 branch weights, the conv2d weight, the BN
// weight and bias.
Tensor forward(const std::vector<Tensor>& leaves) {
  const std::vector<Tensor> w(leaves.begin() + 1, leaves.begin() + 13);
  const Tensor b = ops::conv_branches(leaves[0], Tensor(), 2, w, {}, {});  // 4 x 2 x 2 x 6 x 6
  ops::Conv2dArgs a;
  a.padding = 1;
  const Tensor y = ops::conv2d(ops::reshape(ops::narrow(ops::reshape(b, {8, 2, 6, 6}), 0, 0, 2), {2, 2, 6, 6}),
                               leaves[13], a);
  return ops::batch_norm(y, leaves[14], leaves[15], Tensor(), Tensor(), {});
}

void check(DType dt, Device d) {
  Generator g(5, RngStream::Test);
  std::vector<Tensor> leaves{param(g, {2, 8, 6, 6}, dt, d)};
  for (int s = 0; s < ops::kConvBranchStages; ++s) {
    const int64_t k = s % 2 == 0 ? 3 : 5;
    leaves.push_back(param(g, {2, 1, k, k}, dt, d));
    leaves.push_back(param(g, {2, 2, 1, 1}, dt, d));
  }
  leaves.push_back(param(g, {3, 2, 3, 3}, dt, d));
  leaves.push_back(param(g, {3}, dt, d));
  leaves.push_back(param(g, {3}, dt, d));
  const Tensor seed = Tensor::from_vector(g.normal(2 * 3 * 6 * 6), {2, 3, 6, 6}, dt, d);

  const std::vector<Tensor> expected = grad(forward(leaves), leaves, seed);
  for (Tensor& l : leaves) l.set_grad(Tensor::zeros(l.shape(), dt, d));
  backward(forward(leaves), leaves, seed);
  backward(forward(leaves), leaves, seed);
  for (size_t i = 0; i < leaves.size(); ++i) {
    const std::vector<double> got = leaves[i].grad().to_doubles(), want = expected[i].to_doubles();
    ASSERT_EQ(got.size(), want.size());
    // Two backward passes add the same values (from the same kernels) to zero: 2 g exactly.
    for (size_t j = 0; j < got.size(); ++j) ASSERT_EQ(got[j], 2 * want[j]) << "leaf " << i << " element " << j;
  }
}

TEST(AccumulateInto, BackwardAddsWhatGradReturnsOnTheCpu) {
  check(DType::F64, Device::cpu());
  check(DType::F32, Device::cpu());
}

TEST(AccumulateIntoGpu, BackwardAddsWhatGradReturnsOnCuda) {
  if (!cuda_available()) GTEST_SKIP() << "no GPU on this machine";
  check(DType::F32, Device::cuda(0));
}

}  // namespace
}  // namespace bnas
